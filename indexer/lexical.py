"""Lexical search: passages, their SQLite FTS5 tables, and the sentence shown for a passage.

`passages_fts`, a contentless FTS5 index changed in the same transaction as the metadata,
covers the passages: runs of consecutive sentences of one document up to `PASSAGE_WORDS`
words (table `passages`). BM25 over ~200-word passages ranks
  documents better than BM25 over single sentences (measured on SciFact, document nDCG@10:
  0.70 against 0.58; whole documents 0.69), and still points into long documents.
A search ranks passages, then shows each by its best-matching sentence (`best_sentences`).

Passages are ranked by `indexer.postings` (the same BM25 in NumPy, 25-50x faster); FTS5's
`search_passages` here ranks an index written before postings existed, until its next write,
and is the reference the postings are tested against. (Indexes written before postings also
hold `sentences_fts`, a per-sentence FTS5 table kept by triggers; nothing reads it any more and
new indexes do not have it.)

User text is never parsed as FTS5 query syntax: `to_match_expression` keeps only word tokens
and quotes each one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from indexer.porter import stem

PASSAGE_FTS_TABLE = "passages_fts"
# Porter stemming on top of unicode61 (case and accent folding), so "tides" finds "tide".
# Measured on SciFact (document nDCG@10): 0.687 with porter, 0.670 without.
TOKENIZER = "porter unicode61 remove_diacritics 2"
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

_DDL = (
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {PASSAGE_FTS_TABLE} USING fts5(
        text, content='', tokenize='{TOKENIZER}')""",
)


def create_fts(connection: sa.Connection) -> None:
    """Create the FTS5 table of passages."""
    for statement in _DDL:
        connection.exec_driver_sql(statement)


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
    """Store and index the passages of a document whose sentences were just inserted."""
    for first, last in group_passages([len(t.split()) for t in texts]):
        passage_id = connection.execute(
            sa.text(
                "INSERT INTO passages (document_id, first_sentence_id, last_sentence_id) "
                "VALUES (:document, :first, :last) RETURNING id"
            ),
            {"document": document_id, "first": sentence_ids[first], "last": sentence_ids[last]},
        ).scalar_one()
        _index_passage(connection, int(passage_id), " ".join(texts[first : last + 1]))


def delete_passages(connection: sa.Connection, document_id: int) -> None:
    """Remove a document's passages from the FTS index; call before its sentences are deleted.

    A contentless FTS5 table forgets a row only when given the text it indexed, which is
    rebuilt here from the sentences. The `passages` rows themselves go by cascade.
    """
    for passage_id, text in _passage_texts(connection, document_id):
        connection.execute(
            sa.text(
                f"INSERT INTO {PASSAGE_FTS_TABLE}({PASSAGE_FTS_TABLE}, rowid, text) "
                "VALUES ('delete', :id, :text)"
            ),
            {"id": passage_id, "text": text},
        )


def _index_passage(connection: sa.Connection, passage_id: int, text: str) -> None:
    connection.execute(
        sa.text(f"INSERT INTO {PASSAGE_FTS_TABLE}(rowid, text) VALUES (:id, :text)"),
        {"id": passage_id, "text": text},
    )


def _passage_texts(connection: sa.Connection, document_id: int | None) -> list[tuple[int, str]]:
    where = "" if document_id is None else "WHERE p.document_id = :document"
    rows = connection.execute(
        sa.text(
            "SELECT p.id, s.text FROM passages p CROSS JOIN sentences s "
            "ON s.id BETWEEN p.first_sentence_id AND p.last_sentence_id "
            f"AND +s.document_id = p.document_id {where} ORDER BY p.id, s.id"  # see store.py
        ),
        {"document": document_id},
    )
    texts: dict[int, list[str]] = {}
    for passage_id, text in rows:
        texts.setdefault(int(passage_id), []).append(text)
    return [(passage_id, " ".join(parts)) for passage_id, parts in texts.items()]


def to_match_expression(user_text: str) -> str | None:
    """Turn free user text into a safe FTS5 MATCH expression: quoted word tokens joined by OR.

    Operators, parentheses, `*`, `^`, `-`, `NEAR(`, column filters and quotes in the input are
    not interpreted: only runs of letters and digits survive, each becomes a quoted string.

    Args:
        user_text: anything a user typed.

    Returns:
        e.g. `"foo" OR "bar"` for `foo* AND (bar`, or None when the text has no word tokens.
    """
    tokens = _WORD.findall(unicodedata.normalize("NFC", user_text))
    distinct = list(dict.fromkeys(token.lower() for token in tokens))
    # Stop words match most passages, so BM25 must score nearly all of them for little gain;
    # a query made only of stop words keeps them.
    distinct = [t for t in distinct if t not in STOP_WORDS] or distinct
    distinct = distinct[:MAX_QUERY_TERMS]
    if not distinct:
        return None
    # A token holds no double quote, so wrapping it in quotes cannot be escaped from.
    return " OR ".join(f'"{token}"' for token in distinct)


@dataclass(frozen=True)
class PassageHit:
    """A passage that matched: its sentences are the ids `first`..`last` of document `document`."""

    first: int
    last: int
    document: int
    score: float  # -bm25, higher is better
    # The sentence to show for the passage, once `best_sentences` has been asked (else None).
    shown: int | None = None


def search_passages(
    connection: sa.Connection,
    text: str,
    k: int,
    allowed_document_ids: Sequence[int] | npt.NDArray[np.int64] | None = None,
) -> list[PassageHit]:
    """Rank passages by BM25 against the words of `text`.

    Args:
        connection: an open connection to the index database.
        text: user text (never interpreted as FTS5 syntax).
        k: most passages to return (>= 1).
        allowed_document_ids: when given, only passages of these documents are returned.

    Returns:
        up to `k` passages, best first; empty when `text` has no word tokens.

    Raises:
        ValueError: k < 1.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    expression = to_match_expression(text)
    if expression is None:
        return []
    params: dict[str, object] = {"expression": expression, "k": k}
    if allowed_document_ids is None:
        # Rank first, then look up the k winners' sentence ranges (joining every match before
        # sorting cost ~0.6 ms at 100k sentences).
        statement = _TOP_PASSAGES
    else:
        document_ids = [int(i) for i in allowed_document_ids]
        if not document_ids:
            return []
        statement = _TOP_PASSAGES_OF_DOCUMENTS
        params["document_ids"] = json.dumps(document_ids)
    rows = connection.execute(statement, params).all()
    return [
        PassageHit(int(first), int(last), int(document), -float(rank))
        for first, last, document, rank in rows
    ]


_TOP_PASSAGES = sa.text(
    f"""SELECT p.first_sentence_id, p.last_sentence_id, p.document_id, top.rank
        FROM (SELECT rowid, bm25({PASSAGE_FTS_TABLE}) AS rank FROM {PASSAGE_FTS_TABLE}
              WHERE {PASSAGE_FTS_TABLE} MATCH :expression ORDER BY rank LIMIT :k) AS top
        JOIN passages p ON p.id = top.rowid
        ORDER BY top.rank"""
)
_TOP_PASSAGES_OF_DOCUMENTS = sa.text(
    f"""SELECT p.first_sentence_id, p.last_sentence_id, p.document_id,
               bm25({PASSAGE_FTS_TABLE}) AS rank
        FROM {PASSAGE_FTS_TABLE} JOIN passages p ON p.id = {PASSAGE_FTS_TABLE}.rowid
        WHERE {PASSAGE_FTS_TABLE} MATCH :expression
          AND p.document_id IN (SELECT value FROM json_each(:document_ids))
        ORDER BY rank LIMIT :k"""
)


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
