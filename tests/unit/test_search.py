from __future__ import annotations

import pytest

from docsearch.errors import EmptyQuery
from docsearch.search import clean_query, fuse, group_by_document, min_max

# sentence id -> document id
DOCUMENT_OF = {1: 10, 2: 10, 3: 20, 4: 30, 5: 30}


def test_min_max_hand_worked() -> None:
    assert min_max({1: 2.0, 2: 4.0, 3: 3.0}) == {1: 0.0, 2: 1.0, 3: 0.5}
    assert min_max({1: 5.0}) == {1: 1.0}
    assert min_max({}) == {}


def test_group_by_document_keeps_best_sentence_and_drops_unknown_ids() -> None:
    ranked = [(2, 0.9), (99, 0.8), (1, 0.7), (3, 0.5)]
    grouped = group_by_document(ranked, DOCUMENT_OF, k=5)
    assert grouped == [(2, 0.9), (3, 0.5)]


def test_fuse_hand_worked() -> None:
    dense = [(3, 0.9), (1, 0.5), (4, 0.1)]  # docs 20, 10, 30 -> normalised 1, 0.5, 0
    lexical = [(5, 12.0), (2, 4.0)]  # docs 30, 10 -> normalised 1, 0
    fused = dict(fuse(dense, lexical, DOCUMENT_OF, dense_weight=0.3))
    # doc 30: 0.3*0 + 0.7*1 = 0.7 (shown by its lexical sentence 5)
    # doc 20: 0.3*1 = 0.3 (dense only); doc 10: 0.3*0.5 + 0.7*0 = 0.15 (dense part larger: 1)
    assert fused == pytest.approx({5: 0.7, 3: 0.3, 1: 0.15})
    assert [i for i, _ in fuse(dense, lexical, DOCUMENT_OF, dense_weight=0.3)] == [5, 3, 1]


def test_fuse_with_one_side_empty_is_that_side() -> None:
    dense = [(3, 0.9), (1, 0.5)]
    assert [i for i, _ in fuse(dense, [], DOCUMENT_OF, dense_weight=0.3)] == [3, 1]
    assert [i for i, _ in fuse([], dense, DOCUMENT_OF, dense_weight=0.3)] == [3, 1]


@pytest.mark.parametrize("query", ["", "  \t", "\x00\x07"])
def test_clean_query_rejects_empty(query: str) -> None:
    with pytest.raises(EmptyQuery):
        clean_query(query)


def test_clean_query_caps_length_and_drops_control_characters() -> None:
    assert clean_query("tides\x00 and\x1b moon") == "tides  and  moon"
    assert len(clean_query("x" * 50_000)) == 10_000
