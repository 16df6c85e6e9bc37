"""Held-out validation for `docsearch tune`: switch only to a model that is better on text it
did not train on.

Every tenth document (by id) is held out of the training pairs. The score is the mean
reciprocal rank of each held-out sentence's next sentence among the next sentences of all
held-out pairs (the neighbour task tune trains on, but on unseen documents), so it asks the
question tune answers for the user: are sentences about the same thing brought closer than
sentences about other things?
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from docsearch.tuning.pairs import Corpus, neighbour_pairs

# One document in this many is held out (by document id, so the split is stable).
HOLD_OUT_EVERY = 10
# At most this many held-out pairs are scored (encoding them costs a second or two on a CPU).
MAX_PAIRS = 1024
# Fewer held-out pairs than this say too little to decide on: tune then switches as before.
MIN_PAIRS = 16


def held_out(document_ids: np.ndarray) -> np.ndarray:
    """bool[n]: whether each sentence's document is one `split` holds out."""
    held: np.ndarray = document_ids % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1
    return held


def split(corpus: Corpus) -> tuple[Corpus, Corpus]:
    """(training corpus, held-out corpus), whole documents each, reading order kept."""
    held = held_out(corpus.document_ids)
    if held.all() or not held.any():
        return corpus, Corpus([], np.empty(0, np.int64))
    return _subset(corpus, ~held), _subset(corpus, held)


def _subset(corpus: Corpus, keep: np.ndarray) -> Corpus:
    rows = np.flatnonzero(keep)
    return Corpus([corpus.texts[i] for i in rows], corpus.document_ids[rows])


def pairs(held_out: Corpus, seed: int = 0) -> tuple[list[str], list[str]]:
    """Up to `MAX_PAIRS` (sentence, next sentence) pairs of the held-out documents."""
    rows = neighbour_pairs(held_out) if len(held_out.texts) > 1 else np.empty(0, np.int64)
    if len(rows) > MAX_PAIRS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, MAX_PAIRS, replace=False))
    return [held_out.texts[i] for i in rows], [held_out.texts[i + 1] for i in rows]


def score(encode: Callable[[list[str]], np.ndarray], anchors: list[str], nexts: list[str]) -> float:
    """Mean reciprocal rank of each anchor's own next sentence among all the next sentences."""
    a, b = encode(anchors), encode(nexts)
    similarity = a @ b.T
    own = np.diag(similarity)
    ranks = 1 + (similarity > own[:, None]).sum(axis=1)
    return float(np.mean(1.0 / ranks))
