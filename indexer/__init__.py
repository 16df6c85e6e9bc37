"""Storage engine of docsearch: sentences, their vectors and a BM25 index in one directory
(`Index`), or in a PostgreSQL database (`indexer.postgres.PgIndex`): `index_backend` picks.

Exports load on first use (PEP 562), so importing `indexer.errors` or `docsearch.cli` costs
neither faiss nor SQLAlchemy; `from indexer import Index` loads them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from indexer.errors import (
    FormatMismatch,
    IndexCorrupt,
    IndexerError,
    IndexExists,
    IndexLocked,
    IndexNotFound,
    ModelMismatch,
    NotAnIndex,
    StorageError,
)

if TYPE_CHECKING:
    from indexer.auto_factory import AutoFactory
    from indexer.index import Index
    from indexer.layout import Manifest
    from indexer.records import DocumentRecord, SentenceRecord, StoredDocument, StoredSentence
    from indexer.writer import IndexWriter

_LAZY = {
    "AutoFactory": "indexer.auto_factory",
    "Index": "indexer.index",
    "Manifest": "indexer.layout",
    "DocumentRecord": "indexer.records",
    "SentenceRecord": "indexer.records",
    "StoredDocument": "indexer.records",
    "StoredSentence": "indexer.records",
    "IndexWriter": "indexer.writer",
}


def index_backend(location: object) -> Any:
    """The index class for `location`: `PgIndex` for a PostgreSQL URL, else `Index` (a folder).

    Both answer the same calls (tests/unit/indexer/test_backend_contract.py)."""
    from indexer.postgres import is_url

    if is_url(location):
        from indexer.postgres.index import PgIndex

        return PgIndex
    return importlib.import_module("indexer.index").Index


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'indexer' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "AutoFactory",
    "DocumentRecord",
    "FormatMismatch",
    "Index",
    "IndexCorrupt",
    "IndexExists",
    "IndexLocked",
    "IndexNotFound",
    "IndexWriter",
    "IndexerError",
    "Manifest",
    "ModelMismatch",
    "NotAnIndex",
    "SentenceRecord",
    "StorageError",
    "StoredDocument",
    "StoredSentence",
    "index_backend",
]
