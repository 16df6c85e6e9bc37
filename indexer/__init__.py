"""Storage engine of docsearch: sentences, their vectors and a BM25 index in one directory."""

from __future__ import annotations

from indexer.auto_factory import AutoFactory
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
from indexer.index import Index
from indexer.layout import Manifest
from indexer.records import DocumentRecord, SentenceRecord, StoredDocument, StoredSentence
from indexer.writer import IndexWriter

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
]
