"""Errors raised by docsearch; the CLI turns each into `Error: <message>` and exit status 1."""

from __future__ import annotations


class DocsearchError(Exception):
    """Base class for every error docsearch raises on purpose."""


class UnreadableDocument(DocsearchError):
    """A document could not be read or holds no text.

    Attributes:
        path: the document's path (or upload name).
        reason: a short human explanation, e.g. "encrypted PDF (needs a password)".
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class EmptyDocument(UnreadableDocument):
    """A file with no text at all (empty, or only whitespace): nothing is wrong with it, so
    ingest passes it by and counts it instead of reporting a failure."""


class UnsupportedFileType(UnreadableDocument):
    """The file's extension is not one docsearch reads."""


class ModelNotFound(DocsearchError):
    """No encoder model at the given location."""


class EmptyQuery(DocsearchError):
    """The query holds no searchable text."""
