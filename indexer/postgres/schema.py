"""docsearch's tables in PostgreSQL: the embedded backend's tables plus a vector table.

The documents, sentences, passages and meta tables are `indexer.schema`'s, created by the same
SQLAlchemy metadata. Vectors live in their own table (`vectors_<n>`, named in meta), one row per
sentence in a `halfvec` column (float16, as the embedded index stores them once large) with an
HNSW index for inner product: a model switch fills a new table and names it in the same
transaction, so readers see the old vectors or the new ones, never a mix.
"""

from __future__ import annotations

import sqlalchemy as sa

from indexer.dialects import SENTENCE_ID_SEQUENCE
from indexer.schema import metadata

VECTOR_TABLE_KEY = "vector_table"
MANIFEST_KEY = "manifest"
# HNSW build parameters (pgvector's defaults) and the search-time candidate list: at least
# `MIN_EF_SEARCH`, and `EF_SEARCH_PER_K` times the results asked for.
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
MIN_EF_SEARCH = 64
EF_SEARCH_PER_K = 2


def create_tables(connection: sa.Connection, dim: int) -> str:
    """Create every table of an empty index; return the name of its vector table."""
    connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
    metadata.create_all(connection)
    connection.execute(sa.text(f"CREATE SEQUENCE IF NOT EXISTS {SENTENCE_ID_SEQUENCE}"))
    return create_vector_table(connection, 1, dim)


def create_vector_table(connection: sa.Connection, number: int, dim: int) -> str:
    """Create `vectors_<number>` (sentence id -> halfvec(dim)) with its HNSW index."""
    name = f"vectors_{int(number)}"
    connection.execute(
        sa.text(
            f"CREATE TABLE {name} ("
            " sentence_id integer PRIMARY KEY REFERENCES sentences(id) ON DELETE CASCADE,"
            f" embedding halfvec({int(dim)}) NOT NULL)"
        )
    )
    connection.execute(
        sa.text(
            f"CREATE INDEX {name}_hnsw ON {name} USING hnsw (embedding halfvec_ip_ops)"
            f" WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
        )
    )
    return name


def owned_tables(connection: sa.Connection) -> list[str]:
    """The tables of the current schema that docsearch created (what `PgIndex.delete` drops)."""
    names = set(sa.inspect(connection).get_table_names())
    ours = [t.name for t in metadata.sorted_tables if t.name in names]
    vector_tables = sorted(n for n in names if n.startswith("vectors_") and n[8:].isdigit())
    return vector_tables + ours[::-1]


def vector_literal(vector: object) -> str:
    """A float vector as pgvector's text input ("[0.1,0.2,...]")."""
    import numpy as np

    return "[" + ",".join(np.asarray(vector, dtype=np.float32).astype(str).tolist()) + "]"
