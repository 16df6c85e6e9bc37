"""Self-supervised training pairs from the index's own sentences (no labels, no queries).

Two kinds of positive pairs, both known to teach retrieval without labels:
- neighbours: a sentence and the next one of the same document (they talk about the same thing);
- crops: two overlapping random spans of one sentence (the same meaning in different words
  around it, as in Contriever's independent cropping).
Negatives are the other pairs of the batch. `PairBatcher` never puts two pairs of one document,
or two identical texts, into one batch: near-duplicates must not be pushed apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Sentences shorter than this (in words) say too little to be a training example.
MIN_WORDS = 4
# A crop keeps this share of the sentence's words, at random within the range.
CROP_SHARE = (0.5, 0.9)


@dataclass(frozen=True)
class Corpus:
    """Sentences in reading order: `document_ids[i]` is the document of `texts[i]`."""

    texts: list[str]
    document_ids: np.ndarray  # int64[n]

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.document_ids):
            raise ValueError(
                f"Corpus needs one document id per text, got {len(self.texts)} texts and "
                f"{len(self.document_ids)} ids"
            )


def neighbour_pairs(corpus: Corpus) -> np.ndarray:
    """Rows i such that texts i and i+1 are neighbours in one document, both long enough.

    Returns:
        int64[m] indices into the corpus.
    """
    ids = corpus.document_ids
    words = np.fromiter((len(t.split()) for t in corpus.texts), np.int64, len(corpus.texts))
    long_enough = words >= MIN_WORDS
    same_document = ids[:-1] == ids[1:]
    return np.flatnonzero(same_document & long_enough[:-1] & long_enough[1:]).astype(np.int64)


def crop(text: str, rng: np.random.Generator) -> str:
    """A random contiguous span of `text` holding 50-90% of its words (whole text if short)."""
    words = text.split()
    if len(words) < 2 * MIN_WORDS:
        return text
    keep = max(MIN_WORDS, round(len(words) * rng.uniform(*CROP_SHARE)))
    start = int(rng.integers(0, len(words) - keep + 1))
    return " ".join(words[start : start + keep])


class PairBatcher:
    """Draws batches of (anchor, positive) texts: half neighbours, half crops.

    Args:
        corpus: the sentences.
        seed: random seed.
    """

    def __init__(self, corpus: Corpus, seed: int = 0) -> None:
        self.corpus = corpus
        self.neighbours = neighbour_pairs(corpus)
        words = np.fromiter((len(t.split()) for t in corpus.texts), np.int64, len(corpus.texts))
        self.croppable = np.flatnonzero(words >= 2 * MIN_WORDS).astype(np.int64)
        self.rng = np.random.default_rng(seed)
        if not len(self.neighbours) and not len(self.croppable):
            raise ValueError("the corpus has no sentences long enough to learn from")

    def sample(self, size: int) -> tuple[list[str], list[str]]:
        """Up to `size` pairs, at most one per document and no text twice."""
        anchors: list[str] = []
        positives: list[str] = []
        used_documents: set[int] = set()
        used_texts: set[str] = set()
        for row, kind in self._candidates(2 * size):
            document = int(self.corpus.document_ids[row])
            if document in used_documents:
                continue
            anchor = self.corpus.texts[row]
            if kind == "neighbour":
                positive = self.corpus.texts[row + 1]
            else:
                anchor, positive = crop(anchor, self.rng), crop(anchor, self.rng)
            if anchor == positive or anchor in used_texts or positive in used_texts:
                continue
            used_documents.add(document)
            used_texts.update((anchor, positive))
            anchors.append(anchor)
            positives.append(positive)
            if len(anchors) == size:
                break
        return anchors, positives

    def _candidates(self, n: int) -> Sequence[tuple[int, str]]:
        pools = [
            (p, k) for p, k in ((self.neighbours, "neighbour"), (self.croppable, "crop")) if len(p)
        ]
        out = []
        for i in range(n):
            pool, kind = pools[i % len(pools)]
            out.append((int(pool[self.rng.integers(len(pool))]), kind))
        return out
