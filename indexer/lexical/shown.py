"""The sentence shown for a matched passage: the one that best matches the query."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa

from indexer.dialects import statements
from indexer.lexical.passages import PassageHit
from indexer.lexical.porter import stem
from indexer.lexical.tokens import WORD, fold, probe, query_terms

# Passages (best first) whose best-matching sentence is looked up; the rest show their first.
SHOWN_PASSAGES = 30


def best_sentences(
    connection: sa.Connection, text: str, passages: Sequence[PassageHit]
) -> dict[int, int]:
    """Map each passage's first sentence id to its sentence that best matches `text`.

    Passages where no single sentence holds a query word are left out. The sentences of all
    the passages come from one SQL query and are scored here by BM25 over those sentences
    (`SentenceScorer`): an FTS5 lookup per passage cost ~0.6 ms each at 100k sentences, because
    FTS5 reads each query word's whole posting list to answer a rowid range.
    """
    scorer = SentenceScorer(text)
    if not scorer.terms or not passages:
        return {}
    ids = sorted({i for p in passages for i in range(p.first, p.last + 1)})
    rows = connection.execute(
        statements(connection).sentence_texts_by_id, {"ids": json.dumps(ids)}
    ).all()
    scores = scorer.scores({int(i): t for i, t in rows})
    best: dict[int, int] = {}
    for passage in passages:
        inside = [(score, -i) for i, score in scores.items() if passage.first <= i <= passage.last]
        if inside:
            best[passage.first] = -max(inside)[1]
    return best


class SentenceScorer:
    """BM25 of a few sentences against a query, with statistics taken over those sentences.

    Only for choosing which sentence of a matched passage to show; words become terms as in
    the passage ranking (`query_terms`, `terms`: folded, Porter-stemmed).
    """

    K1 = 1.2
    B = 0.75

    def __init__(self, query: str) -> None:
        self.terms = query_terms(query)

    def scores(self, texts: dict[int, str]) -> dict[int, float]:
        """sentence id -> BM25 score, for the sentences holding at least one query term."""
        if not texts:
            return {}
        terms = set(self.terms)
        # Sentences without any term's probe need no tokenizing (most of a passage's).
        probes = [probe(t) for t in self.terms]
        lengths: dict[int, int] = {}
        counts: dict[int, Counter[str]] = {}
        for i, text in texts.items():
            folded = fold(text)
            if not any(p in folded for p in probes):
                lengths[i] = len(WORD.findall(folded))
                continue
            words = WORD.findall(folded)
            lengths[i] = len(words)
            found = Counter(s for s in map(stem, words) if s in terms)
            if found:
                counts[i] = found
        average = max(1.0, sum(lengths.values()) / len(texts))
        n = len(texts)
        document_frequency = Counter(t for found in counts.values() for t in found)
        idf = {
            t: float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
            for t, df in document_frequency.items()
        }
        scores: dict[int, float] = {}
        for i, found in counts.items():
            norm = self.K1 * (1 - self.B + self.B * lengths[i] / average)
            scores[i] = sum(idf[t] * tf * (self.K1 + 1) / (tf + norm) for t, tf in found.items())
        return scores
