"""docsearch's tables in PostgreSQL: the embedded backend's tables plus a vector table.

The documents, sentences, passages and meta tables are `indexer.schema`'s, created by the same
SQLAlchemy metadata. Vectors live in their own table (`vectors_<n>`, named in meta), one row per
sentence in a `halfvec` column (float16, as the embedded index stores them once large). A model
switch fills a new table and names it in the same transaction, so readers see the old vectors
or the new ones, never a mix. Beside it, `passage_vectors_<n>` holds one pooled vector per
passage (`indexer.passage_vectors`), under its first sentence's id, named in meta as well
(an index made before it existed gets it from its next writer).

Like the embedded "auto" structure, a small table is searched exactly (a scan: 8 ms for 20k
vectors here) and a large one through an HNSW index. The index is built in bulk once a writer
finishes with at least `HNSW_MIN_ROWS` vectors in the table: building it from 20k stored vectors
took 5.3 s, inserting those vectors one by one into an existing HNSW index 26 s (pgvector's
advice too: load first, then index). Later writes go into the index row by row.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import sqlalchemy as sa

from indexer.dialects import SENTENCE_ID_SEQUENCE
from indexer.postgres.models import MODELS_TABLE, create_models_table
from indexer.schema import metadata

log = logging.getLogger(__name__)

VECTOR_TABLE_KEY = "vector_table"
PASSAGE_TABLE_KEY = "passage_vector_table"
MANIFEST_KEY = "manifest"
# HNSW build parameters (pgvector's defaults) and the search-time candidate list: at least
# `MIN_EF_SEARCH`, and `EF_SEARCH_PER_K` times the results asked for.
HNSW_MIN_ROWS = 10_000
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
MIN_EF_SEARCH = 64
EF_SEARCH_PER_K = 2
# Like the embedded IVF's nprobe, ef_search is tuned when the HNSW index is built: the first of
# these whose recall@10 against an exact scan reaches TARGET_RECALL for queries made from
# stored vectors (`tune_ef_search`; kept in meta, read by every search).
EF_SEARCH_KEY = "ef_search"
EF_SEARCH_STEPS = (64, 96, 128, 192, 256, 384, 512, 768, 1000)
TARGET_RECALL = 0.96
TUNE_QUERIES = 200


# What each commit changed in the passages, by generation: readers bring their in-memory BM25
# postings up to date from it instead of rebuilding them (a document added: its passages are
# indexed; a passage removed: its first sentence id).
CHANGES_TABLE = "passage_changes"


def create_tables(connection: sa.Connection, dim: int) -> str:
    """Create every table of an empty index; return the name of its vector table."""
    connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
    metadata.create_all(connection)
    connection.execute(sa.text(f"CREATE SEQUENCE IF NOT EXISTS {SENTENCE_ID_SEQUENCE}"))
    create_changes_table(connection)
    create_models_table(connection)
    return create_vector_table(connection, 1, dim)


def create_changes_table(connection: sa.Connection) -> None:
    """Create the change log (also for an index made before it existed)."""
    connection.execute(
        sa.text(
            f"CREATE TABLE IF NOT EXISTS {CHANGES_TABLE} (generation bigint NOT NULL,"
            " added_document integer, removed_first integer)"
        )
    )
    connection.execute(
        sa.text(
            f"CREATE INDEX IF NOT EXISTS {CHANGES_TABLE}_generation ON {CHANGES_TABLE} (generation)"
        )
    )


def create_vector_table(connection: sa.Connection, number: int, dim: int) -> str:
    """Create `vectors_<number>` (sentence id -> halfvec(dim)) and its passages' table
    (`passage_table`), without their HNSW indexes yet; return the first's name."""
    name = f"vectors_{int(number)}"
    for table in (name, passage_table(name)):
        create_halfvec_table(connection, table, dim)
    return name


def create_halfvec_table(connection: sa.Connection, table: str, dim: int) -> None:
    """Create `table` (sentence id -> halfvec(dim)) unless it exists; a row goes with its
    sentence."""
    connection.execute(
        sa.text(
            f"CREATE TABLE IF NOT EXISTS {table} ("
            " sentence_id integer PRIMARY KEY REFERENCES sentences(id) ON DELETE CASCADE,"
            f" embedding halfvec({int(dim)}) NOT NULL)"
        )
    )


def passage_table(vector_table: str) -> str:
    """The table of passage vectors (first sentence id -> halfvec) made with a vector table; a
    passage's row goes with its first sentence."""
    return f"passage_{vector_table}"


def has_hnsw(connection: sa.Connection, table: str) -> bool:
    """True when `table`'s vectors have their HNSW index."""
    found = connection.execute(
        sa.text("SELECT 1 FROM pg_indexes WHERE tablename = :t AND indexname = :i"),
        {"t": table, "i": f"{table}_hnsw"},
    ).first()
    return found is not None


def ensure_hnsw(connection: sa.Connection, table: str, *, tune: bool = True) -> bool:
    """Build `table`'s HNSW index when it holds `HNSW_MIN_ROWS` vectors and has none; return
    True when it was built. Runs in the connection's transaction (the caller commits).

    With `tune`, `ef_search` is tuned on it (the sentence vectors); passage vectors are
    searched with the same value."""
    if has_hnsw(connection, table):
        return False
    rows = connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    if rows < HNSW_MIN_ROWS:
        return False
    connection.execute(
        sa.text(
            f"CREATE INDEX IF NOT EXISTS {table}_hnsw ON {table}"
            " USING hnsw (embedding halfvec_ip_ops)"
            f" WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
        )
    )
    if not tune:
        return True
    ef_search, recall = tune_ef_search(connection, table)
    connection.execute(
        sa.text(
            "INSERT INTO meta (key, value) VALUES (:k, :v) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ),
        {"k": EF_SEARCH_KEY, "v": str(ef_search)},
    )
    log.info(
        "HNSW index of %s: ef_search %d, recall@10 %.3f for midpoints of stored vectors",
        table,
        ef_search,
        recall,
    )
    return True


def tune_ef_search(connection: sa.Connection, table: str, k: int = 10) -> tuple[int, float]:
    """The least of `EF_SEARCH_STEPS` whose recall@k against an exact scan reaches
    `TARGET_RECALL` for `TUNE_QUERIES` queries, and that recall.

    The queries are midpoints of two stored vectors (normalised), not stored vectors: a stored
    vector is a node of the graph and HNSW finds its neighbours far more easily than those of a
    query from outside. Measured on 1M vectors (benchmarks/RESULTS.md, session 9): stored
    vectors reached 0.96 at ef_search 96, where SciFact claims got 0.76; midpoints are harder
    than the claims at every step (0.58 at 96, 0.85 at 768 where claims got 0.96), so the
    tuned value errs towards recall."""
    sample = (
        connection.execute(
            sa.text(
                f"SELECT CAST(embedding AS text) FROM {table}"
                " ORDER BY hashint4(sentence_id) LIMIT :n"
            ),
            {"n": 2 * TUNE_QUERIES},
        )
        .scalars()
        .all()
    )
    stored = np.array([np.array(json.loads(v), dtype=np.float32) for v in sample])
    half = len(stored) // 2
    midpoints = stored[:half] + stored[half : 2 * half]
    midpoints /= np.linalg.norm(midpoints, axis=1, keepdims=True).clip(1e-12)
    queries = vector_literals(midpoints)
    search = sa.text(
        f"SELECT sentence_id FROM {table} ORDER BY embedding <#> CAST(:q AS halfvec) LIMIT :k"
    )

    def top(query: str) -> set[int]:
        return {int(i) for i in connection.execute(search, {"q": query, "k": k}).scalars()}

    connection.execute(sa.text("SET LOCAL enable_indexscan = off"))  # a scan: exact
    exact = [top(q) for q in queries]
    connection.execute(sa.text("SET LOCAL enable_indexscan = on"))
    recall = 0.0
    for ef_search in EF_SEARCH_STEPS:
        connection.execute(sa.text(f"SET LOCAL hnsw.ef_search = {ef_search}"))
        found = [top(q) for q in queries]
        recall = sum(len(f & e) for f, e in zip(found, exact, strict=True)) / max(
            1, sum(len(e) for e in exact)
        )
        if recall >= TARGET_RECALL:
            break
    return ef_search, recall


def owned_tables(connection: sa.Connection) -> list[str]:
    """The tables of the current schema that docsearch created (what `PgIndex.delete` drops)."""
    names = set(sa.inspect(connection).get_table_names())
    ours = [t.name for t in metadata.sorted_tables if t.name in names]
    vector_tables = sorted(
        n
        for n in names
        if n.removeprefix("passage_").startswith("vectors_")
        and n.removeprefix("passage_")[8:].isdigit()
    )
    extra = [t for t in (CHANGES_TABLE, MODELS_TABLE) if t in names]
    return vector_tables + extra + ours[::-1]


def vector_literals(vectors: Any) -> list[str]:
    """Each row of float32[n, dim] as pgvector's text input ("[0.1,0.2,...]").

    Five significant digits are more than float16 holds (its half-ulp is ~5e-4 relative), and
    formatting them is 3x faster than the shortest round-trip repr (60 vs 180 us per vector).
    """
    if len(vectors) == 0:
        return []
    template = "[" + ",".join(["%.5g"] * len(vectors[0])) + "]"
    return [template % tuple(row) for row in vectors.tolist()]
