from __future__ import annotations

import numpy as np

from docsearch.tuning import validation
from docsearch.tuning.pairs import Corpus


def corpus(documents: int, per_document: int) -> Corpus:
    texts = [
        f"document {d} sentence {i} says one more thing"
        for d in range(documents)
        for i in range(per_document)
    ]
    ids = np.repeat(np.arange(documents, dtype=np.int64), per_document)
    return Corpus(texts, ids)


def test_split_holds_out_whole_documents_in_order() -> None:
    train, held = validation.split(corpus(25, 3))
    assert sorted(set(held.document_ids.tolist())) == [9, 19]
    assert not set(train.document_ids.tolist()) & {9, 19}
    assert len(train.texts) + len(held.texts) == 75
    assert held.texts[0] == "document 9 sentence 0 says one more thing"


def test_split_of_a_small_corpus_holds_nothing_out() -> None:
    train, held = validation.split(corpus(5, 3))
    assert len(train.texts) == 15 and held.texts == []
    assert validation.pairs(held) == ([], [])


def test_pairs_are_neighbours_of_one_document() -> None:
    anchors, nexts = validation.pairs(validation.split(corpus(20, 3))[1])
    assert len(anchors) == 4  # documents 9 and 19, two neighbour pairs each
    assert all(a.split()[1] == b.split()[1] for a, b in zip(anchors, nexts, strict=True))


def test_score_is_mrr_hand_worked() -> None:
    vectors = {"a": [1.0, 0.0], "b": [0.0, 1.0], "x": [1.0, 0.0], "y": [0.6, 0.8]}

    def encode(texts: list[str]) -> np.ndarray:
        return np.array([vectors[t] for t in texts], dtype=np.float32)

    # a finds x first (rank 1); b's own y (0.8) beats x (0.0): rank 1 -> MRR 1.0
    assert validation.score(encode, ["a", "b"], ["x", "y"]) == 1.0
    # swapped: a's own y (0.6) loses to x (1.0): rank 2; b's own x (0.0) loses to y: rank 2
    assert validation.score(encode, ["a", "b"], ["y", "x"]) == 0.5
