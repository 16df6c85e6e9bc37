"""Read PDFs with pypdf: the text layer of every page, pages separated by a blank line.

Ligatures are expanded, words hyphenated across lines are joined, running headers, footers and
page numbers are blanked, and pages whose words run together are re-extracted from glyph
positions. The result records where each page starts.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterator
from typing import Any

from docsearch.errors import UnreadableDocument
from docsearch.readers.text import ExtractedText, normalise

log = logging.getLogger(__name__)


def read_pdf(name: str, data: bytes) -> ExtractedText:
    """Read a PDF file.

    Args:
        name: file name, used in error messages.
        data: the raw file content.

    Returns:
        The pages' text, the offset where each page starts, and the metadata title.

    Raises:
        UnreadableDocument: corrupt, truncated, encrypted, empty or scanned (no text layer).
        ImportError: pypdf is not installed.
    """
    text, page_starts, title = _read_pdf(name, data)
    return ExtractedText(text, title=title, page_starts=page_starts)


_LIGATURES = {code: unicodedata.normalize("NFKC", chr(code)) for code in range(0xFB00, 0xFB07)}
_HYPHEN_BREAK = re.compile(r"([^\W\d_])[-\xad][ \t]*\n[ \t]*([^\W\d_]\S*)[ \t]*(\n|$)?")
_PAGE_NUMBER = re.compile(r"[\W_]*(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?[\W_]*", re.I)
_LONG_LATIN_RUN = re.compile(r"[A-Za-zÀ-ÖØ-öø-ɏ]{20,}")
_LATIN_LETTER = re.compile(r"[A-Za-zÀ-ÖØ-öø-ɏ]")
_EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be header or footer


def _read_pdf(name: str, data: bytes) -> tuple[str, tuple[int, ...], str | None]:
    """Return (text, page_starts, title) of a PDF."""
    try:
        import pypdf
        from pypdf.errors import DependencyError
    except ImportError as exc:  # pragma: no cover - pypdf is a dependency
        raise ImportError("reading PDFs needs pypdf; run `pip install pypdf`") from exc
    with _quiet_pypdf():
        try:
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                try:
                    decrypted = reader.decrypt("")
                except DependencyError:
                    raise UnreadableDocument(
                        name, "encrypted PDF (AES); install `cryptography` or decrypt it first"
                    ) from None
                if not decrypted:
                    raise UnreadableDocument(
                        name, "encrypted PDF (needs a password); decrypt it first"
                    )
            extracted = [_page_lines(page) for page in reader.pages]
            title = _pdf_title(reader)
        except UnreadableDocument:
            raise
        except Exception as exc:  # pypdf raises many kinds of errors on damaged files
            log.debug("%s: pypdf failed", name, exc_info=True)
            raise UnreadableDocument(
                name,
                f"corrupt or truncated PDF ({type(exc).__name__}); re-export or re-download it",
            ) from exc
    if not extracted:
        raise UnreadableDocument(name, "PDF has no pages")
    pages = [lines or [] for lines in extracted]
    if not any(line.strip() for lines in pages for line in lines):
        if any(lines is None for lines in extracted):
            raise UnreadableDocument(name, "could not extract text from the PDF (damaged file?)")
        raise UnreadableDocument(name, "PDF has no text layer (scanned?); run OCR first")
    failed = sum(lines is None for lines in extracted)
    if failed:
        log.warning("%s: could not extract text from %d of %d pages", name, failed, len(pages))
    _drop_headers_and_footers(pages)
    texts = [_join_hyphenated("\n".join(lines)).rstrip() for lines in pages]
    page_starts = []
    position = 0
    for text in texts:
        page_starts.append(position)
        position += len(text) + 2
    return "\n\n".join(texts), tuple(page_starts), title


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Keep pypdf's warnings about damaged files out of the user's log (they go to debug)."""
    muted: list[logging.LogRecord] = []

    class _Capture(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            muted.append(record)
            return False

    capture = _Capture()
    loggers = [
        logging.getLogger(n) for n in list(sys.modules) if n == "pypdf" or n.startswith("pypdf.")
    ]
    for logger in loggers:
        logger.addFilter(capture)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(capture)
        for record in muted[:20]:
            try:
                message = record.getMessage()
            except Exception:  # pypdf sometimes logs arguments that do not fit its format
                message = str(record.msg)
            log.debug("pypdf: %s", message)


def _pdf_title(reader: Any) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # a broken info dictionary is not worth failing the document for
        return None
    if not title:
        return None
    return " ".join(str(title).split()) or None


def _page_lines(page: Any) -> list[str] | None:
    """Text lines of one page (None if extraction fails), ligatures expanded, glued words split."""
    try:
        text = page.extract_text()
    except Exception:  # one damaged page should not cost the whole document
        log.debug("text extraction failed on a page", exc_info=True)
        return None
    text = _tidy_pdf_text(text)
    if _glued_fraction(text) > 0.3:
        candidates = [text]
        with contextlib.suppress(Exception):
            candidates.append(_tidy_pdf_text(_positioned_text(page)))
        with contextlib.suppress(Exception):
            candidates.append(_tidy_pdf_text(page.extract_text(extraction_mode="layout")))
        text = min(candidates, key=_glued_fraction)
    return text.split("\n")


def _tidy_pdf_text(text: str) -> str:
    text = normalise(text.translate(_LIGATURES))
    return "\n".join(" ".join(line.split()) for line in text.split("\n"))


def _glued_fraction(text: str) -> float:
    """Share of Latin letters in 'words' of 20+ letters: high when spaces are missing."""
    letters = len(_LATIN_LETTER.findall(text))
    if letters < 40:
        return 0.0
    return sum(len(run) for run in _LONG_LATIN_RUN.findall(text)) / letters


def _positioned_text(page: Any) -> str:
    """Rebuild a page's lines from glyph positions, putting a space wherever glyphs leave a gap.

    Used when pypdf's own text runs words together, which happens when a font has no usable
    space glyph. Relies on pypdf's layout-mode internals; callers treat any error as "no result".
    """
    from pypdf.generic import ContentStream

    try:  # private modules (checked with pypdf 7.1); older or newer layouts just give up
        from pypdf._text_extraction._layout_mode._fixed_width_page import (
            recurse_to_target_op,
            set_font_operation,
        )
        from pypdf._text_extraction._layout_mode._text_state_manager import TextStateManager
    except ImportError:
        return ""
    fonts = page._layout_mode_fonts()
    contents = page.get("/Contents")
    if contents is None:
        return ""
    ops = iter(ContentStream(contents.get_object(), page.pdf, "bytes").operations)
    state = TextStateManager()
    shows: list[Any] = []
    for operands, op in ops:
        if op == b"BT":
            shows.extend(recurse_to_target_op(ops, state, b"ET", fonts, True)[1])
        elif op == b"q":
            shows.extend(recurse_to_target_op(ops, state, b"Q", fonts, True)[1])
        elif op == b"Tf":
            set_font_operation(state, fonts, operands)
        else:
            state.set_state_param(op, operands)
    lines: list[str] = []
    current: list[str] = []
    last_ty = last_end = None
    for show in shows:
        height = show.font_height or 1.0
        if last_ty is None or abs(show.ty - last_ty) > 0.5 * height:
            if current:
                lines.append("".join(current))
            current = []
        elif last_end is not None and show.tx - last_end > 0.1 * height:
            current.append(" ")
        current.append(show.text)
        last_ty, last_end = show.ty, show.displaced_tx
    if current:
        lines.append("".join(current))
    return "\n".join(lines)


def _drop_headers_and_footers(pages: list[list[str]]) -> None:
    """Blank edge lines that repeat on most pages (numbers aside) or are bare page numbers.

    A repeated line is blanked once per page, so a title that repeats the running header
    just below it survives.
    """
    edges = [_edge_indices(lines) for lines in pages]
    counts: Counter[str] = Counter()
    for lines, indices in zip(pages, edges, strict=True):
        counts.update({_edge_key(lines[k]) for k in indices})
    threshold = max(2, math.ceil(len(pages) / 2))  # one page: only bare page numbers go
    for lines, indices in zip(pages, edges, strict=True):
        blanked = set()
        for k in indices:
            key = _edge_key(lines[k])
            if key not in blanked and (
                counts[key] >= threshold or _PAGE_NUMBER.fullmatch(lines[k])
            ):
                blanked.add(key)
                lines[k] = ""


def _edge_indices(lines: list[str]) -> list[int]:
    filled = [k for k, line in enumerate(lines) if line.strip()]
    return sorted(set(filled[:_EDGE_LINES] + filled[-_EDGE_LINES:]))


def _edge_key(line: str) -> str:
    return " ".join(re.sub(r"\d+", "#", line.lower()).split())


def _join_hyphenated(text: str) -> str:
    """Join words split across lines: "exam-\\nple more" -> "example\\nmore".

    The word's tail moves up so the line count stays the same, unless the tail was all there
    was on its line.
    """

    def join(match: re.Match[str]) -> str:
        if not match.group(2)[0].islower():
            return match.group(0)
        if match.group(3) is not None:  # the word was all there was on its line
            return match.group(1) + match.group(2) + match.group(3)
        return match.group(1) + match.group(2) + "\n"

    return _HYPHEN_BREAK.sub(join, text)
