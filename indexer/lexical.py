"""Lexical (BM25) search over sentence text with SQLite FTS5.

The FTS table is an external-content index over `sentences.text`, kept in sync by triggers, so it
changes in the same transaction as the metadata and can never disagree with it. User text is never
parsed as FTS5 query syntax: `to_match_expression` keeps only word tokens and quotes each one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

FTS_TABLE = "sentences_fts"
# unicode61 folds case and (with remove_diacritics 2) accents; no stemming, so a quoted query term
# matches the same surface forms in every language.
TOKENIZER = "unicode61 remove_diacritics 2"
# Longer queries are cut to this many distinct terms; BM25 over an OR of hundreds of terms is slow
# and no better.
MAX_QUERY_TERMS = 64

# Runs of letters and digits: the characters unicode61 treats as token characters (minus the
# private-use area). Underscore and punctuation separate tokens, as they do in the tokenizer.
_WORD = re.compile(r"[^\W_]+")

_DDL = (
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
        text, content='sentences', content_rowid='id', tokenize='{TOKENIZER}')""",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_insert AFTER INSERT ON sentences BEGIN
        INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_delete AFTER DELETE ON sentences BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_update AFTER UPDATE OF text ON sentences BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text);
    END""",
)


def create_fts(connection: sa.Connection) -> None:
    """Create the FTS5 table and the triggers that keep it in sync with `sentences`."""
    for statement in _DDL:
        connection.exec_driver_sql(statement)


def rebuild_fts(connection: sa.Connection) -> None:
    """Re-index every sentence from the `sentences` table (repair after manual edits)."""
    connection.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


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
    distinct = list(dict.fromkeys(token.lower() for token in tokens))[:MAX_QUERY_TERMS]
    if not distinct:
        return None
    # A token holds no double quote, so wrapping it in quotes cannot be escaped from.
    return " OR ".join(f'"{token}"' for token in distinct)


def search(
    connection: sa.Connection,
    text: str,
    k: int,
    allowed_document_ids: Sequence[int] | npt.NDArray[np.int64] | None = None,
) -> list[tuple[int, float]]:
    """Rank sentences by BM25 against the words of `text`.

    Args:
        connection: an open connection to the index database.
        text: user text (never interpreted as FTS5 syntax).
        k: most results to return (>= 1).
        allowed_document_ids: when given, only sentences of these documents are returned.

    Returns:
        up to `k` (sentence id, score) pairs, best first; score = -bm25, higher is better.
        Empty when `text` has no word tokens.

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
        sql = f"""SELECT rowid, bm25({FTS_TABLE}) AS rank FROM {FTS_TABLE}
                  WHERE {FTS_TABLE} MATCH :expression ORDER BY rank LIMIT :k"""
    else:
        document_ids = [int(i) for i in allowed_document_ids]
        if not document_ids:
            return []
        sql = f"""SELECT {FTS_TABLE}.rowid, bm25({FTS_TABLE}) AS rank
                  FROM {FTS_TABLE} JOIN sentences ON sentences.id = {FTS_TABLE}.rowid
                  WHERE {FTS_TABLE} MATCH :expression
                    AND sentences.document_id IN (SELECT value FROM json_each(:document_ids))
                  ORDER BY rank LIMIT :k"""
        params["document_ids"] = json.dumps(document_ids)
    rows = connection.execute(sa.text(sql), params)
    return [(int(sentence_id), -float(rank)) for sentence_id, rank in rows]
