"""Value objects that go into the index (`*Record`) and come out of it (`Stored*`)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DocumentRecord:
    """A document (file) to store.

    Attributes:
        path: unique key of the document, as docsearch chose to write it (usually absolute).
        sha256: hex digest of the file's bytes, used to skip unchanged files.
        size: file size in bytes.
        type: kind of document, e.g. "md", "txt", "pdf"; used by type filters.
        mtime: modification time (Unix seconds), or None when unknown.
        title: a human title, or None.
        metadata: anything else, JSON-serialisable.
    """

    path: str
    sha256: str
    size: int
    type: str
    mtime: float | None = None
    title: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path:
            raise ValueError(f"DocumentRecord.path must be a non-empty string, got {self.path!r}")
        try:
            json.dumps(dict(self.metadata))
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"DocumentRecord.metadata of {self.path} is not JSON-serialisable: {exc}"
            ) from exc


@dataclass(frozen=True, slots=True)
class SentenceRecord:
    """A sentence to store; its ordinal is its position in the document's sentence list.

    Attributes:
        text: the sentence as shown to users.
        start: character offset of the sentence in the document text.
        end: character offset one past its end.
        line: 1-based line number where it starts.
        page: 1-based page number for paged formats (PDF), else None.
    """

    text: str
    start: int
    end: int
    line: int
    page: int | None = None


@dataclass(frozen=True)
class StoredDocument:
    """A document as stored in the index.

    Attributes:
        id: document id.
        path, sha256, size, type, mtime, title, metadata: as given in the `DocumentRecord`.
        added_at: when it was stored (Unix seconds).
        sentences: how many sentences it has.
        pages: its highest page number with text (None for unpaged documents).
    """

    id: int
    path: str
    sha256: str
    size: int
    type: str
    mtime: float | None
    title: str | None
    metadata: Mapping[str, Any]
    added_at: float
    sentences: int
    pages: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """What `docsearch list --json` shows of it: path, type, sentences, pages, size, added
        (ISO 8601, UTC) and title."""
        added = datetime.datetime.fromtimestamp(self.added_at, datetime.timezone.utc)
        return {
            "path": self.path,
            "type": self.type,
            "sentences": self.sentences,
            "pages": self.pages,
            "size": self.size,
            "added": added.isoformat(timespec="seconds"),
            "title": self.title,
        }


@dataclass(frozen=True, slots=True)
class StoredSentence:
    """A sentence as stored, with the fields of its document that a search hit needs.

    Attributes:
        id: sentence id, equal to the `vector_id` of its vector.
        document_id: id of its document.
        ordinal: position in the document (0-based, contiguous).
        text, start, end, line, page: as given in the `SentenceRecord`.
        path, type, title, metadata: of its document.
    """

    id: int
    document_id: int
    ordinal: int
    text: str
    start: int
    end: int
    line: int
    page: int | None
    path: str
    type: str
    title: str | None
    metadata: Mapping[str, Any]
