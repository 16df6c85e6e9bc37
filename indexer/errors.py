"""Errors raised by the storage engine. Each message says what went wrong and what to do next."""

from __future__ import annotations


class IndexerError(Exception):
    """Base class for every error the indexer raises on purpose."""


class IndexNotFound(IndexerError):
    """The index directory does not exist or holds no index."""


class IndexLocked(IndexerError):
    """Another process is writing to the index."""


class FormatMismatch(IndexerError):
    """The index was written by an incompatible on-disk format version."""


class ModelMismatch(IndexerError):
    """The index was built with a different encoder than the one in use."""


class ModelChanged(ModelMismatch):
    """The index switched to another model (`docsearch tune`) since it was opened; reopen it."""


class IndexCorrupt(IndexerError):
    """The files of the index disagree with each other and cannot be repaired automatically."""


class StorageError(IndexerError):
    """A write to disk failed (disk full, read-only directory...); the previous state is intact."""


class IndexExists(IndexerError):
    """`Index.create` was pointed at a directory that already holds an index."""


class NotAnIndex(IndexerError):
    """A directory given as an index holds files that docsearch did not create.

    docsearch refuses to create, rebuild or delete an index there, so that it can never
    delete or mix with a user's own files.
    """
