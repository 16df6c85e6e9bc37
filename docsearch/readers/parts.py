"""Shared by the readers of container formats: pages joined into one text, and zip members
read with limits.

A "page" is whatever a format counts: a PDF page, a slide, an e-book chapter, a message of a
mailbox, a notebook cell. Pages are joined by a blank line, and `page_starts` records where
each begins, so a hit reports the page it is on.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Sequence

from docsearch.errors import UnreadableDocument
from docsearch.readers.text import ExtractedText, normalise

# A member larger than this (uncompressed) is not read: a document's XML is rarely over a few
# MB, and a zip bomb is refused before it is inflated.
MAX_MEMBER_BYTES = 256 * 1024 * 1024


def joined_pages(pages: Sequence[str], title: str | None = None) -> ExtractedText:
    """One text of `pages` (each normalised, blank ones kept so numbering stays right)."""
    parts: list[str] = []
    starts: list[int] = []
    offset = 0
    for page in pages:
        text = normalise(page).strip("\n")
        starts.append(offset)
        parts.append(text)
        offset += len(text) + 2
    return ExtractedText("\n\n".join(parts), title=title, page_starts=tuple(starts))


# What zipfile raises on damaged archives (a bad CRC, a truncated stream, a wild offset...).
_DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    OSError,
)


class Archive:
    """A zip container (Office, OpenDocument, EPUB) opened from bytes.

    Raises:
        UnreadableDocument: the bytes are not a zip file.
    """

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except _DAMAGED as exc:
            raise UnreadableDocument(name, f"not a valid zip container ({exc})") from None
        self.names = set(self._zip.namelist())

    def read(self, member: str) -> bytes:
        """A member's bytes.

        Raises:
            UnreadableDocument: missing, too large, encrypted or corrupt.
        """
        try:
            info = self._zip.getinfo(member)
        except KeyError:
            raise UnreadableDocument(self.name, f"{member} is missing from the file") from None
        if info.file_size > MAX_MEMBER_BYTES:
            raise UnreadableDocument(self.name, f"{member} is too large to read")
        try:
            return self._zip.read(info)
        except _DAMAGED as exc:
            raise UnreadableDocument(self.name, f"cannot read {member} ({exc})") from None
