"""Find documents on disk and read them into plain text (`Document`).

Every supported format becomes plain text whose line breaks the splitter understands: blank
lines separate paragraphs, headings and list items sit on lines of their own, and lines of code
are indented by four spaces. Markdown and RST keep their source line numbers; HTML and Markdown
record a `line_map` where output lines differ from source lines; PDFs record where each page
starts. The per-format work lives in `docsearch.readers`; this module picks the reader.

Anything wrong with a file raises `UnreadableDocument` with a short reason that says what to do.
This module is an input boundary: arbitrary bytes never raise anything else.
"""

from __future__ import annotations

import bisect
import errno
import hashlib
import importlib
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from docsearch.errors import EmptyDocument, UnreadableDocument, UnsupportedFileType
from docsearch.readers.text import ExtractedText

SUPPORTED_TYPES: dict[str, str] = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".pptx": "pptx",
    ".odt": "odt",
    ".odp": "odp",
    ".epub": "epub",
    ".eml": "email",
    ".mbox": "mbox",
    ".ipynb": "notebook",
    ".csv": "csv",
    ".tsv": "tsv",
}
# What `page` counts in each type that has pages (the others have none).
PAGE_MEANS = {
    "pdf": "page",
    "pptx": "slide",
    "odp": "slide",
    "epub": "chapter",
    "mbox": "message",
    "notebook": "cell",
}
# Types stored as text, which `DocSearch.add_text` can read from a string; the others are
# binary containers.
TEXT_TYPES = frozenset(
    {"text", "markdown", "rst", "html", "email", "mbox", "notebook", "csv", "tsv"}
)


@dataclass(frozen=True)
class Document:
    """A file's text, ready for sentence splitting.

    Attributes:
        path: the file's path, or the upload name for `read_bytes`.
        type: one of the values of `SUPPORTED_TYPES`.
        text: plain text with `\\n` newlines; markup removed.
        sha256: hex digest of the raw bytes.
        size: number of raw bytes.
        mtime: modification time (seconds since the epoch), None if unknown.
        title: the document's title (first heading, HTML <title>, PDF metadata) or None.
        page_starts: offset in `text` where page i+1 starts; None for documents without pages.
        line_map: source line (1-based) of each line of `text`; None when they are the same.
    """

    path: str
    type: str
    text: str
    sha256: str
    size: int
    mtime: float | None
    title: str | None
    page_starts: tuple[int, ...] | None
    line_map: tuple[int, ...] | None

    @cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        find = self.text.find
        pos = find("\n")
        while pos >= 0:
            starts.append(pos + 1)
            pos = find("\n", pos + 1)
        return starts

    def locate(self, offset: int) -> tuple[int, int | None]:
        """Return (line, page) of a character offset in `text`.

        Args:
            offset: index into `text`; values outside it are clamped.

        Returns:
            For paged documents the 1-based page and the 1-based line within that page;
            otherwise the 1-based source line and None.
        """
        offset = min(max(offset, 0), len(self.text))
        starts = self._line_starts
        index = bisect.bisect_right(starts, offset) - 1
        if self.page_starts:
            page = max(bisect.bisect_right(self.page_starts, offset) - 1, 0)
            first = bisect.bisect_right(starts, self.page_starts[page]) - 1
            return index - first + 1, page + 1
        if self.line_map and index < len(self.line_map):
            return self.line_map[index], None
        return index + 1, None


@dataclass(frozen=True)
class FileListing:
    """What `find_files` found.

    Attributes:
        files: readable files of a supported type: absolute, sorted, one per underlying file.
        skipped: (path, reason) for files of a type docsearch does not read, e.g.
            "unsupported file type .docx". Nothing is wrong with them.
        missing: paths given by the caller that do not exist.
        failed: (path, reason) for entries that should have been read but cannot be: symbolic
            link loops, broken links, folders or files without permission, things that are not
            regular files, names that are not valid UTF-8.
    """

    files: list[Path]
    skipped: list[tuple[Path, str]]
    missing: list[Path]
    failed: list[tuple[Path, str]] = field(default_factory=list)


# --- finding files -------------------------------------------------------------------------


def find_files(paths: Iterable[str | Path], exclude: Iterable[str | Path] = ()) -> FileListing:
    """Collect the supported files under `paths`, recursing into folders.

    Hidden files and folders (names starting with '.') inside folders are ignored silently.
    Symbolic links are followed once; loops and dangling links are reported in `failed`.

    Args:
        paths: files and folders.
        exclude: folders never walked into (the index's own directory), however reached.

    Returns:
        A `FileListing`; never raises for unreadable or odd entries.
    """
    found: list[tuple[Path, tuple[int, int]]] = []
    listing = FileListing([], [], [], [])
    excluded = set()
    for folder in exclude:
        st = _stat_problem(Path(folder))
        if not isinstance(st, str):
            excluded.add((st.st_dev, st.st_ino))
    for raw in paths:
        path = Path(os.path.abspath(os.path.expanduser(raw)))
        if not os.path.lexists(path):
            listing.missing.append(path)
            continue
        problem = _stat_problem(path)
        if isinstance(problem, str):
            listing.failed.append((path, problem))
        elif stat.S_ISDIR(problem.st_mode):
            _walk(path, found, listing, excluded)
        else:
            _consider_file(path, problem, found, listing)
    files = []
    seen: set[tuple[int, int]] = set()
    for path, identity in sorted(found):
        if identity not in seen:  # the same file reached through a link or a hard link
            seen.add(identity)
            files.append(path)
    return FileListing(
        files,
        sorted(set(listing.skipped)),
        sorted(set(listing.missing)),
        sorted(set(listing.failed)),
    )


def _stat_problem(path: Path) -> os.stat_result | str:
    """stat() following links, or the reason the path cannot be used."""
    try:
        return os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if exc.errno == errno.ENOENT:
            return "broken symbolic link" if os.path.islink(path) else "file vanished"
        if exc.errno == errno.EACCES:
            return "permission denied"
        return exc.strerror or type(exc).__name__


def _walk(
    root: Path,
    found: list[tuple[Path, tuple[int, int]]],
    listing: FileListing,
    excluded: set[tuple[int, int]],
) -> None:
    visited = set(excluded)
    stack = [root]
    while stack:
        folder = stack.pop()
        st = _stat_problem(folder)
        if isinstance(st, str):
            listing.failed.append((folder, st))
            continue
        if (st.st_dev, st.st_ino) in visited:
            continue  # a link back into a folder we have already walked
        visited.add((st.st_dev, st.st_ino))
        try:
            with os.scandir(folder) as entries:
                names = sorted(entry.name for entry in entries)
        except OSError as exc:
            reason = "permission denied" if exc.errno == errno.EACCES else str(exc)
            listing.failed.append((folder, f"cannot list the folder ({reason})"))
            continue
        for name in names:
            if name.startswith("."):
                continue
            path = folder / name
            entry_st = _stat_problem(path)
            if isinstance(entry_st, str):
                listing.failed.append((path, entry_st))
            elif stat.S_ISDIR(entry_st.st_mode):
                stack.append(path)
            else:
                _consider_file(path, entry_st, found, listing)


def _consider_file(
    path: Path,
    st: os.stat_result,
    found: list[tuple[Path, tuple[int, int]]],
    listing: FileListing,
) -> None:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_TYPES:
        listing.skipped.append((path, f"unsupported file type {suffix or '(no extension)'}"))
        return
    if not stat.S_ISREG(st.st_mode):
        # Never open it: reading a FIFO or a device can block forever.
        listing.failed.append((path, "not a regular file (a pipe, socket or device)"))
        return
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        listing.failed.append((path, "file name is not valid UTF-8; rename the file"))
        return
    found.append((path, (st.st_dev, st.st_ino)))


# --- reading -------------------------------------------------------------------------------


def read_file(path: Path) -> Document:
    """Read one file into a `Document`.

    Args:
        path: a file whose extension is in `SUPPORTED_TYPES`.

    Returns:
        The document; `mtime` comes from the file.

    Raises:
        UnsupportedFileType: the extension is not supported.
        UnreadableDocument: the file cannot be read or holds no text.
    """
    name = str(path)
    _document_type(name)
    try:
        with open(path, "rb") as handle:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise UnreadableDocument(name, "not a regular file")
            data = handle.read()
    except FileNotFoundError:
        raise UnreadableDocument(name, "file vanished while reading") from None
    except PermissionError:
        raise UnreadableDocument(name, "permission denied") from None
    except IsADirectoryError:
        raise UnreadableDocument(name, "is a folder, not a file") from None
    except OSError as exc:
        raise UnreadableDocument(name, f"could not read the file ({exc.strerror or exc})") from exc
    return read_bytes(name, data, mtime=st.st_mtime)


def read_bytes(name: str, data: bytes, mtime: float | None = None) -> Document:
    """Read an upload (or any bytes) into a `Document`; the format comes from `name`.

    Args:
        name: file name or path; only its extension is used to pick the reader.
        data: the raw file content.
        mtime: modification time to record, if known.

    Returns:
        The document.

    Raises:
        UnsupportedFileType: the extension is not supported.
        UnreadableDocument: empty, binary, corrupt, encrypted or text-less content.
    """
    doc_type = _document_type(name)
    if not data:
        raise EmptyDocument(name, "empty file")
    extracted = _reader(doc_type)(name, data)
    text, title = extracted.text, extracted.title
    if not text.strip():
        if doc_type == "text":
            raise EmptyDocument(name, "no text (only whitespace)")
        raise UnreadableDocument(name, "no text after removing markup")
    return Document(
        path=name,
        type=doc_type,
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        mtime=mtime,
        title=title[:_MAX_TITLE] if title else None,
        page_starts=extracted.page_starts,
        line_map=extracted.line_map,
    )


_MAX_TITLE = 300
# One reader per value of SUPPORTED_TYPES: module and function, imported on first use (the
# container formats' modules import `email`, `zipfile`, `xml`: ~30 ms nobody querying needs).
_READERS: dict[str, tuple[str, str]] = {
    "text": ("text", "read_text"),
    "markdown": ("markdown", "read_markdown"),
    "rst": ("rst", "read_rst"),
    "html": ("html", "read_html"),
    "pdf": ("pdf", "read_pdf"),
    "docx": ("office", "read_docx"),
    "pptx": ("office", "read_pptx"),
    "odt": ("office", "read_odt"),
    "odp": ("office", "read_odp"),
    "epub": ("epub", "read_epub"),
    "email": ("mail", "read_eml"),
    "mbox": ("mail", "read_mbox"),
    "notebook": ("notebook", "read_notebook"),
    "csv": ("table", "read_csv"),
    "tsv": ("table", "read_tsv"),
}


def _reader(doc_type: str) -> Callable[[str, bytes], ExtractedText]:
    module, function = _READERS[doc_type]
    reader: Callable[[str, bytes], ExtractedText] = getattr(
        importlib.import_module(f"docsearch.readers.{module}"), function
    )
    return reader


def _document_type(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    try:
        return SUPPORTED_TYPES[suffix]
    except KeyError:
        supported = ", ".join(SUPPORTED_TYPES)
        shown = suffix or "(no extension)"
        raise UnsupportedFileType(
            name, f"unsupported file type {shown}; docsearch reads {supported}"
        ) from None
