"""Self-supervised pairs for `docsearch tune`: neighbours, crops, and clean batches."""

from __future__ import annotations

import numpy as np
import pytest

from docsearch.tuning.pairs import MIN_WORDS, Corpus, PairBatcher, crop, neighbour_pairs

LONG = "one two three four five six seven eight nine ten eleven twelve"


def corpus(*documents: list[str]) -> Corpus:
    texts = [t for doc in documents for t in doc]
    ids = np.concatenate([np.full(len(doc), i, np.int64) for i, doc in enumerate(documents)])
    return Corpus(texts, ids)


def test_neighbours_stay_inside_a_document_and_skip_short_sentences() -> None:
    c = corpus(
        ["alpha beta gamma delta", "epsilon zeta eta theta", "Short one."],
        ["iota kappa lambda mu", "nu xi omicron pi"],
    )
    # 0-1 are neighbours; 1-2 is too short; 2-3 crosses documents; 3-4 are neighbours.
    assert neighbour_pairs(c).tolist() == [0, 3]


def test_crop_is_a_contiguous_part_of_the_sentence() -> None:
    rng = np.random.default_rng(0)
    words = LONG.split()
    for _ in range(50):
        part = crop(LONG, rng).split()
        assert MIN_WORDS <= len(part) < len(words)
        start = words.index(part[0])
        assert words[start : start + len(part)] == part
    assert crop("too short to crop", rng) == "too short to crop"


def test_a_batch_never_holds_two_pairs_of_one_document_or_a_text_twice() -> None:
    # Every word names its document, so any crop still tells where it came from.
    documents = [[" ".join(f"d{d}w{s}{i}" for i in range(12)) for s in range(5)] for d in range(40)]
    documents.append([LONG, LONG, LONG])  # duplicates must not become each other's negatives
    batcher = PairBatcher(corpus(*documents), seed=1)
    for _ in range(20):
        anchors, positives = batcher.sample(16)
        assert len(anchors) == len(positives) == 16
        docs = [a.split("w")[0] if a.startswith("d") else "dup" for a in anchors]
        assert len(set(docs)) == len(docs)
        texts = anchors + positives
        assert len(set(texts)) == len(texts)


def test_a_corpus_of_only_short_sentences_cannot_be_learned_from() -> None:
    with pytest.raises(ValueError, match="long enough"):
        PairBatcher(corpus(["Hi.", "Yes."], ["No."]))


def test_corpus_needs_one_document_per_text() -> None:
    with pytest.raises(ValueError, match="one document id per text"):
        Corpus(["a", "b"], np.zeros(1, np.int64))
