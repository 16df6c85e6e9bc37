"""Lexical search: passages, the words they are indexed by, and the sentence shown for one.

Passages are runs of consecutive sentences of one document up to `PASSAGE_WORDS` words (table
`passages`), ranked by BM25 in `indexer.postings`. BM25 over ~200-word passages ranks
documents better than BM25 over single sentences (measured on SciFact, document nDCG@10:
0.70 against 0.58; whole documents 0.69), and still points into long documents. A search
ranks passages, then shows each by its best-matching sentence (`best_sentences`).

Words become terms as SQLite FTS5's `porter unicode61 remove_diacritics 2` tokenizer makes
them (`terms`), the tokenizer these passages were first ranked with; FTS5 remains the
reference the tests hold our BM25 to. User text is only ever split into words here, never
parsed as query syntax.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from indexer.porter import stem

PASSAGE_WORDS = 200
# Passages (best first) whose best-matching sentence is looked up; the rest show their first.
SHOWN_PASSAGES = 30
# Longer queries are cut to this many distinct terms; BM25 over an OR of hundreds of terms is slow
# and no better.
MAX_QUERY_TERMS = 64

# English function words left out of queries. Measured on SciFact (lexical nDCG@10, 300 claims,
# 50k sentences): 0.700 -> 0.706 without them, and 58 -> 23 ms per query (p50).
STOP_WORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have he her his how"
    " i if in into is it its not no of on or our she should so than that the their them then"
    " there these they this to was we were what when where which who why will with would you"
    " your".split()
)

# Runs of letters and digits: the characters unicode61 treats as token characters (minus the
# private-use area). Underscore and punctuation separate tokens, as they do in the tokenizer.
_WORD = re.compile(r"[^\W_]+")


def group_passages(
    word_counts: Sequence[int], max_words: int = PASSAGE_WORDS
) -> list[tuple[int, int]]:
    """Cut a document's consecutive sentences into passages of at most `max_words` words.

    A sentence longer than `max_words` forms a passage of its own.

    Args:
        word_counts: words in each sentence, in document order.
        max_words: the most words in a passage of several sentences.

    Returns:
        inclusive (first, last) sentence positions of each passage, covering every sentence once.
    """
    passages: list[tuple[int, int]] = []
    first, words = 0, 0
    for i, n in enumerate(word_counts):
        if i > first and words + n > max_words:
            passages.append((first, i - 1))
            first, words = i, 0
        words += n
    if word_counts:
        passages.append((first, len(word_counts) - 1))
    return passages


def add_passages(
    connection: sa.Connection, document_id: int, sentence_ids: Sequence[int], texts: Sequence[str]
) -> None:
    """Store the passages of a document whose sentences were just inserted."""
    for first, last in group_passages([len(t.split()) for t in texts]):
        connection.execute(
            sa.text(
                "INSERT INTO passages (document_id, first_sentence_id, last_sentence_id) "
                "VALUES (:document, :first, :last)"
            ),
            {"document": document_id, "first": sentence_ids[first], "last": sentence_ids[last]},
        )


@dataclass(frozen=True)
class PassageHit:
    """A passage that matched: its sentences are the ids `first`..`last` of document `document`."""

    first: int
    last: int
    document: int
    score: float  # BM25, higher is better
    # The sentence to show for the passage, once `best_sentences` has been asked (else None).
    shown: int | None = None


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
        sa.text("SELECT id, text FROM sentences WHERE id IN (SELECT value FROM json_each(:ids))"),
        {"ids": json.dumps(ids)},
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
                lengths[i] = len(_WORD.findall(folded))
                continue
            words = _WORD.findall(folded)
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


def fold(text: str) -> str:
    """`text` lower-cased and without diacritics."""
    text = text.lower()
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return text


def fold_words(text: str) -> list[str]:
    """The word tokens of `text`, lower-cased and without diacritics."""
    return _WORD.findall(fold(text))


def terms(text: str) -> list[str]:
    """The indexed terms of `text`, in order: folded words, Porter-stemmed."""
    return [stem(word) for word in fold_words(text)]


def query_terms(text: str) -> list[str]:
    """Distinct terms of a query, stop words left out unless nothing else is left."""
    words = fold_words(text)
    kept = [w for w in words if w not in STOP_WORDS] or words
    return list(dict.fromkeys(stem(w) for w in kept))[:MAX_QUERY_TERMS]


def probe(term: str) -> str:
    """A substring of every folded word whose stem is `term`.

    What Porter writes at the end of a stem that the word itself may not hold is a final "e"
    or "i" ("hoping" -> "hope", "say" -> "sai") and the "l" of "bl" ("capability" -> "capabl");
    without those, the stem is the start of the word.
    """
    if term.endswith(("e", "i")):
        term = term[:-1]
    if term.endswith("bl"):
        term = term[:-1]
    return term
