from __future__ import annotations

import pytest

from docsearch.errors import EmptyQuery
from docsearch.fusion import (
    LOOKUP_DENSE_WEIGHT,
    dense_weight_for,
    fuse,
    group_by_document,
    is_lookup,
    query_dense_weight,
    with_passages,
)
from docsearch.search import clean_query

# sentence id -> document id
DOCUMENT_OF = {1: 10, 2: 10, 3: 20, 4: 30, 5: 30}


def test_group_by_document_keeps_best_sentence_and_drops_unknown_ids() -> None:
    ranked = [(2, 0.9), (99, 0.8), (1, 0.7), (3, 0.5)]
    grouped = group_by_document(ranked, DOCUMENT_OF, k=5)
    assert grouped == [(2, 0.9), (3, 0.5)]


def test_fuse_hand_worked() -> None:
    dense = [(3, 0.9), (1, 0.5), (4, 0.1)]  # cosines of docs 20, 10, 30
    lexical = [(5, 1.2), (2, 0.4)]  # docs 30, 10: BM25 over the query's ceiling
    fused = dict(fuse(dense, lexical, DOCUMENT_OF, dense_weight=0.3))
    # doc 30: 0.3*0.1 + 0.7*1.2 = 0.87 (lexical part larger: shown by sentence 5)
    # doc 20: 0.3*0.9 + 0 = 0.27 (dense only); doc 10: 0.3*0.5 + 0.7*0.4 = 0.43 (lexical: 2)
    assert fused == pytest.approx({5: 0.87, 3: 0.27, 2: 0.43})
    assert [i for i, _ in fuse(dense, lexical, DOCUMENT_OF, dense_weight=0.3)] == [5, 2, 3]


def test_fuse_keeps_a_weak_keyword_match_weak() -> None:
    # The only lexical match is weak (0.1 of the query's ceiling); min-max made it 1.0.
    dense = [(3, 0.8), (4, 0.2)]  # doc 20 paraphrases the query, doc 30 does not
    lexical = [(5, 0.1)]  # doc 30 shares one common word with it
    assert [i for i, _ in fuse(dense, lexical, DOCUMENT_OF, dense_weight=0.5)][0] == 3


def test_dense_weight_rises_as_the_keyword_match_weakens() -> None:
    strong, weak, none = 0.2, 0.4, 0.6
    weight = lambda best: dense_weight_for(  # noqa: E731
        [(1, best), (2, best / 2)], strong, weak, none, strong_from=0.5
    )
    assert weight(1.3) == weight(0.5) == strong  # at WEAK_MATCH (0.5) and above
    assert weight(0.4999) == pytest.approx(weak, abs=1e-3)  # just under it
    assert weight(0.25) == pytest.approx(0.5)  # halfway down, halfway up
    assert weight(0.0) == pytest.approx(none)
    assert dense_weight_for([], strong, weak, none) == pytest.approx(none)  # no match at all
    assert weight(0.1) > weight(0.3) > weight(0.45)


def test_dense_weight_falls_on_a_ramp_from_a_weak_to_a_strong_match() -> None:
    strong, weak, none = 0.02, 0.4, 0.6
    weight = lambda best: dense_weight_for(  # noqa: E731
        [(1, best)], strong, weak, none, strong_from=0.75
    )
    assert weight(0.75) == weight(2.0) == strong  # at the strong edge and above
    assert weight(0.5) == pytest.approx(weak)  # at WEAK_MATCH: no jump from just under it
    assert weight(0.4999) == pytest.approx(weak, abs=1e-3)
    assert weight(0.625) == pytest.approx((strong + weak) / 2)  # halfway along the ramp
    assert weight(0.55) > weight(0.65) > weight(0.74) > strong


def test_a_one_word_query_with_a_keyword_match_is_a_lookup() -> None:
    strong = [(1, 1.2)]
    assert is_lookup("sqlite3_busy_timeout", strong) and is_lookup("  tides ", [(1, 0.5)])
    assert query_dense_weight("sqlite3_busy_timeout", strong) == LOOKUP_DENSE_WEIGHT
    # More words, or a keyword match too weak to trust: the usual weight by match strength.
    assert not is_lookup("busy timeout", strong)
    assert query_dense_weight("busy timeout", strong) == dense_weight_for(strong)
    assert not is_lookup("tides", [(1, 0.3)]) and not is_lookup("tides", [])
    assert query_dense_weight("tides", []) == dense_weight_for([])


def test_with_passages_scores_a_document_by_its_best_sentence_and_passage() -> None:
    # (sentence id, document, cosine): documents 1 and 2 have sentences, 1 and 3 passages.
    sentences = [(10, 1, 0.9), (20, 2, 0.8), (11, 1, 0.5)]
    passages = [(30, 3, 0.66), (12, 1, 0.6)]
    ranked = with_passages(sentences, passages)
    assert [(i, d) for i, d, _ in ranked] == [(10, 1), (30, 3), (20, 2), (11, 1)]
    assert [s for _, _, s in ranked] == pytest.approx(
        [
            (0.9 + 0.6) / 2,  # document 1: its best sentence and its best passage
            (0.8 + 0.66) / 2,  # document 3, shown by its passage's first sentence, takes the
            # lowest best-sentence score of the other documents (0.8)
            (0.8 + 0.6) / 2,  # document 2 takes the lowest passage score
            (0.5 + 0.6) / 2,  # a further sentence of document 1 keeps its own cosine's share
        ]
    )


def test_with_passages_without_passage_vectors_is_the_sentence_ranking() -> None:
    sentences = [(10, 1, 0.9), (20, 2, 0.8)]
    assert with_passages(sentences, []) == sentences


def test_fuse_missing_dense_takes_the_lowest_candidate_cosine() -> None:
    dense = [(3, 0.6), (4, 0.2)]  # docs 20, 30
    lexical = [(1, 0.5)]  # doc 10, not among the dense candidates
    fused = dict(fuse(dense, lexical, DOCUMENT_OF, dense_weight=0.5))
    assert fused[1] == pytest.approx(0.5 * 0.2 + 0.5 * 0.5)


def test_fuse_with_one_side_empty_is_that_side() -> None:
    dense = [(3, 0.9), (1, 0.5)]
    assert [i for i, _ in fuse(dense, [], DOCUMENT_OF, dense_weight=0.3)] == [3, 1]
    assert [i for i, _ in fuse([], dense, DOCUMENT_OF, dense_weight=0.3)] == [3, 1]


@pytest.mark.parametrize("query", ["", "  \t", "\x00\x07", "?!.,", " -- * "])
def test_clean_query_rejects_empty(query: str) -> None:
    with pytest.raises(EmptyQuery):
        clean_query(query)


def test_clean_query_caps_length_and_drops_control_characters() -> None:
    assert clean_query("tides\x00 and\x1b moon") == "tides  and  moon"
    assert len(clean_query("x" * 50_000)) == 10_000
