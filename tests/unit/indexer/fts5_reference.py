"""SQLite FTS5's BM25 over our passages: the reference our own ranking is tested against.

docsearch itself no longer keeps an FTS5 table (format 2); these helpers build one in a
temporary table from the stored passages, with the tokenizer whose words `indexer.lexical`
reproduces, and rank with FTS5's `bm25()`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa

from indexer.lexical import MAX_QUERY_TERMS, STOP_WORDS, PassageHit
from indexer.lexical.tokens import CONTRACTION_TAIL
from indexer.store import MetadataStore

TOKENIZER = "porter unicode61 remove_diacritics 2"
_WORD = re.compile(r"[^\W_]+")


def match_expression(text: str) -> str | None:
    """Quoted word tokens joined by OR (contraction tails and stop words left out unless nothing
    else is left)."""
    lowered = unicodedata.normalize("NFC", text).lower()
    tokens = _WORD.findall(CONTRACTION_TAIL.sub("", lowered))
    distinct = list(dict.fromkeys(tokens))
    distinct = ([t for t in distinct if t not in STOP_WORDS] or distinct)[:MAX_QUERY_TERMS]
    return " OR ".join(f'"{token}"' for token in distinct) if distinct else None


def fts5_passages(
    connection: sa.Connection, text: str, k: int, allowed: Sequence[int] | None = None
) -> list[PassageHit]:
    """The top-k passages by FTS5's BM25, best first (score = -bm25, higher is better)."""
    connection.exec_driver_sql("DROP TABLE IF EXISTS temp.reference_fts")
    connection.exec_driver_sql(
        f"CREATE VIRTUAL TABLE temp.reference_fts USING fts5(text, tokenize='{TOKENIZER}')"
    )
    for passage in list(MetadataStore(connection).passages_since(0)):
        connection.execute(
            sa.text("INSERT INTO temp.reference_fts(rowid, text) VALUES (:id, :text)"),
            {"id": passage.id, "text": passage.text},
        )
    expression = match_expression(text)
    if expression is None:
        return []
    rows = connection.execute(
        sa.text(
            "SELECT p.first_sentence_id, p.last_sentence_id, p.document_id, "
            "bm25(reference_fts) AS rank FROM reference_fts "
            "JOIN passages p ON p.id = reference_fts.rowid "
            "WHERE reference_fts MATCH :expression ORDER BY rank"
        ),
        {"expression": expression},
    ).all()
    hits = [PassageHit(int(a), int(b), int(d), -float(rank)) for a, b, d, rank in rows]
    if allowed is not None:
        hits = [h for h in hits if h.document in set(allowed)]
    return hits[:k]
