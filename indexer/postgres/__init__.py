"""PostgreSQL with pgvector as an index backend: one index that several machines write and read.

`PgIndex` answers the same calls as `indexer.Index` (the contract tests run both), keeping the
same tables through the same `MetadataStore`, vectors in a pgvector `halfvec` column with an
HNSW index, and BM25 from our own postings (built from the passages table, so rankings match
the embedded backend exactly). Import cost: psycopg and pgvector are imported only here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

URL_SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")

if TYPE_CHECKING:
    from indexer.postgres.index import PgIndex, PgWriter


def is_url(location: object) -> bool:
    """True when `location` names a PostgreSQL database rather than a folder."""
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


def __getattr__(name: str) -> Any:
    if name in ("PgIndex", "PgWriter"):
        from indexer.postgres import index

        return getattr(index, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["URL_SCHEMES", "PgIndex", "PgWriter", "is_url"]
