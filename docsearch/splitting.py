"""Split document text into sentences with character offsets (pure functions, no I/O).

`split_spans` works in two passes, both linear in the length of the text:

1. Lines are grouped into *segments* that no sentence may cross. A segment ends at a blank
   line, before a list item (whose marker is left out), after a heading (a short unpunctuated
   sentence that ends with its line, followed by a line that starts anew), and around every
   line of an indented code block. A single newline inside prose is not a boundary, because
   PDFs and hard-wrapped text break lines in the middle of sentences.
2. Inside a segment, sentences end at `.`, `!`, `?` or `…` (plus closing quotes or brackets)
   followed by whitespace and a character that is not lowercase, unless the word before the
   period is an abbreviation (`Dr.`, `e.g.`, `U.S.`) or an initial (`J.`). CJK full stops end
   a sentence without any whitespace.

Sentences longer than `MAX_SENTENCE_CHARS` are cut at their last whitespace before the limit,
so a 20 MB run-on line still yields bounded pieces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from docsearch.documents import Document

MAX_SENTENCE_CHARS = 1000

# Abbreviations that never end a sentence, compared lowercase without the final period.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr st mt rev hon gen col lt capt sgt cmdr adm gov sen rep "
    "vs v cf viz approx ca al resp dept univ assn bros".split()
)
# Abbreviations that do not end a sentence when a number follows ("Fig. 3", "No. 5").
_NUMBER_ABBREVIATIONS = frozenset(
    "no nos fig figs eq eqs sec ch chap vol p pp art ref tab nr".split()
)
# A heading-like line never ends with one of these words: "We met in the\nUnited States".
_CONNECTORS = frozenset(
    "a an the of and or nor but to in on at by for with from as that which who whom whose "
    "is are was were be been if so than then into onto per via its their our his her your "
    "this these those not using".split()
)

_CLOSERS = "\"'”’»)]}」』"
_SENTENCE_END = re.compile(r"[.!?…‽]+[\"'”’»)\]}]*|[。！？｡]+[\"'”’」』)\]]*")
_TOKEN_BEFORE = re.compile(r"[^\s\"'“‘«(\[{]{1,24}$")
_DOTTED_ACRONYM = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")
_LIST_MARKER = re.compile(r"(?:[-*+•◦▪‣·]|\(?\d{1,3}[.)]|\(?[a-z]\))[ \t]+(?=\S)")
_HAS_WORD_CHAR = re.compile(r"[^\W_]")
_NON_SPACE = re.compile(r"\S")
_PROSE_CHAR = re.compile(r"[^\W_]|[ ,.'\"?!:;()/‐-]")
# Wrapped prose may end a line with ';' or ')' (man pages do), never with these.
_PROSE_NEVER_ENDS = frozenset("{}[(=\\")
# Code, not prose: braces, assignment or comparison, a call `name(`, `);` at the end, comments.
# A command-line option with its value, `--sort=WORD` or `--color[=WHEN]`, is not code.
_OPTION = re.compile(r"--[\w-]+\[?=[^\s\]]*\]?")
_CODE_SIGN = re.compile(r"[{}<>\\]|[^\s=!<>]=|\w\(|\);\s*$|^\s*(#|//)")
_INNER_END = re.compile(r"[.!?…。！？][\"'”’»)\]]*\s")
_NO_HEADING_END = frozenset(".!?…。！？,;:-–—/&+=([{")


@dataclass(frozen=True, slots=True)
class Sentence:
    """One retrievable sentence of a document.

    Attributes:
        text: the sentence with internal whitespace collapsed (`clean(doc.text[start:end])`).
        start: offset of the first character in `Document.text`.
        end: offset one past the last character in `Document.text`.
        line: 1-based line of `start` (within the page for paged documents).
        page: 1-based page number, or None for documents without pages.
    """

    text: str
    start: int
    end: int
    line: int
    page: int | None


def clean(span_text: str) -> str:
    """Collapse every run of whitespace (including newlines) to one space and strip the ends."""
    return " ".join(span_text.split())


def split_spans(text: str) -> list[tuple[int, int]]:
    """Find the sentences of `text`.

    Args:
        text: any text; newlines are `\\n`.

    Returns:
        (start, end) offsets, end exclusive, in order and non-overlapping. Each span starts and
        ends on a non-whitespace character and holds at least one letter or digit. Bullet and
        number markers of list items are left out of the span.
    """
    spans: list[tuple[int, int]] = []
    for seg_start, seg_end, is_code in _segments(text):
        pieces = [(seg_start, seg_end)] if is_code else _sentences_in(text, seg_start, seg_end)
        for start, end in pieces:
            for cut_start, cut_end in _cap(text, start, end):
                s, e = _strip(text, cut_start, cut_end)
                if s < e and _HAS_WORD_CHAR.search(text, s, e):
                    spans.append((s, e))
    return spans


def split_document(doc: Document) -> list[Sentence]:
    """Split a document into sentences, never across a page boundary.

    Args:
        doc: a document from `docsearch.documents.read_file` or `read_bytes`.

    Returns:
        The sentences in document order, with line and page from `doc.locate`.
    """
    text = doc.text
    if doc.page_starts:
        bounds = list(zip(doc.page_starts, [*doc.page_starts[1:], len(text)], strict=True))
    else:
        bounds = [(0, len(text))]
    sentences = []
    for page_start, page_end in bounds:
        for s, e in split_spans(text[page_start:page_end]):
            start, end = page_start + s, page_start + e
            line, page = doc.locate(start)
            sentences.append(Sentence(clean(text[start:end]), start, end, line, page))
    return sentences


def window_spans(n_tokens: int, max_tokens: int, overlap: int) -> list[tuple[int, int]]:
    """Cover `n_tokens` tokens with overlapping windows of at most `max_tokens`.

    Args:
        n_tokens: length of the token sequence (>= 0).
        max_tokens: longest window (>= 1).
        overlap: tokens shared by consecutive windows (0 <= overlap < max_tokens).

    Returns:
        [(a, b), ...] half-open windows; the first starts at 0, the last ends at `n_tokens`,
        and each starts `overlap` tokens before the previous one ends. One window (0, n_tokens)
        when the sequence fits.

    Raises:
        ValueError: for a negative length, `max_tokens < 1` or an overlap outside [0, max_tokens).
    """
    if n_tokens < 0 or max_tokens < 1 or not 0 <= overlap < max_tokens:
        raise ValueError(
            f"need n_tokens >= 0, max_tokens >= 1 and 0 <= overlap < max_tokens; "
            f"got n_tokens={n_tokens}, max_tokens={max_tokens}, overlap={overlap}"
        )
    windows = []
    start = 0
    while True:
        end = min(start + max_tokens, n_tokens)
        windows.append((start, end))
        if end == n_tokens:
            return windows
        start = end - overlap


# --- pass 1: segments ----------------------------------------------------------------------


class _Line(NamedTuple):
    start: int  # first non-whitespace character (0 for blank lines)
    end: int  # one past the last non-whitespace character (0 for blank lines)
    indent: int  # width of the leading whitespace, tabs count 4
    item_start: int | None  # where the text of a list item begins, after its marker


_BLANK = _Line(0, 0, 0, None)  # every blank line is this object
_MARKER_FIRST = frozenset("-*+•◦▪‣·(0123456789abcdefghijklmnopqrstuvwxyz")


def _lines(text: str) -> list[_Line]:
    lines = []
    pos = 0
    for raw in text.split("\n"):
        if not raw or raw.isspace():
            lines.append(_BLANK)
        else:
            stripped = raw.lstrip()
            lead = len(raw) - len(stripped)
            start = pos + lead
            end = pos + len(raw.rstrip())
            indent = len(raw[:lead].expandtabs(4)) if lead else 0
            marker = _LIST_MARKER.match(text, start, end) if stripped[0] in _MARKER_FIRST else None
            lines.append(_Line(start, end, indent, marker.end() if marker else None))
        pos += len(raw) + 1
    return lines


def _segments(text: str) -> Iterator[tuple[int, int, bool]]:
    """Yield (start, end, is_code) for runs of lines that no sentence may cross."""
    lines = _lines(text)
    code = _code_lines(text, lines)
    seg_start = seg_end = -1
    prev: _Line | None = None  # previous line of the open segment
    # Where the open sentence began, if it began at the start of a line (else -1): a short
    # unpunctuated sentence that ends with its line is a heading, even over two lines.
    sentence_start = -1
    in_item = False  # list items may start lowercase and still read as headings
    for i, line in enumerate(lines):
        if line is _BLANK or code[i]:
            if seg_start >= 0:
                yield seg_start, seg_end, False
            if line is not _BLANK:
                yield line.start, line.end, True
            seg_start, prev = -1, None
            continue
        if prev is not None:
            if line.item_start is not None or (
                sentence_start >= 0 and _is_heading(text, sentence_start, prev, line, in_item)
            ):
                yield seg_start, seg_end, False
                prev = None
            elif _ends_sentence(text, prev):
                sentence_start, in_item = line.start, False
        if prev is None:
            in_item = line.item_start is not None
            seg_start = sentence_start = line.start if line.item_start is None else line.item_start
        seg_end = line.end
        prev = line
    if seg_start >= 0:
        yield seg_start, seg_end, False


def _ends_sentence(text: str, line: _Line) -> bool:
    content = text[max(line.start, line.end - 8) : line.end].rstrip(_CLOSERS)
    return content[-1:] in (".", "!", "?", "…", "。", "！", "？")


def _is_heading(text: str, start: int, line: _Line, following: _Line, in_item: bool) -> bool:
    """Whether text[start:line.end] reads as a title: short, unpunctuated, and what follows
    on the next line starts anew (not lowercase, not indented deeper)."""
    content = text[start : line.end]
    if line.end - start > 100:
        return False
    # A deeper-indented next line usually continues a term; an upper-case line at the margin
    # above an indented block is a section heading (man pages, RFCs: "DESCRIPTION").
    if line.indent == 0 and following.indent > 0 and content.isupper() and len(content) < 40:
        return True
    if following.indent > line.indent:
        return False
    words = content.split()
    if not words or len(words) > 10 or _INNER_END.search(content):
        return False
    if content[0].islower() and not in_item:
        return False
    if content.rstrip(_CLOSERS)[-1:] in _NO_HEADING_END or words[-1].lower() in _CONNECTORS:
        return False
    first = text[following.start]
    return not first.islower() and first not in ",.;:!?)]}…"


def _code_lines(text: str, lines: list[_Line]) -> list[bool]:
    """Mark lines of indented code blocks, whose lines become sentences of their own.

    A code block is a run of lines indented by 4 or more that follows a blank line (and is at
    least two lines long) or a line ending in ':'. Runs that read like wrapped prose are not code.
    """
    code = [False] * len(lines)
    i = 0
    while i < len(lines):
        line = lines[i]
        if line is _BLANK or line.indent < 4:
            i += 1
            continue
        after_colon = i > 0 and lines[i - 1] is not _BLANK and text[lines[i - 1].end - 1] == ":"
        after_blank = i == 0 or lines[i - 1] is _BLANK
        j = i
        while j < len(lines) and lines[j] is not _BLANK and lines[j].indent >= 4:
            j += 1
        run = lines[i:j]
        if (after_colon or (after_blank and len(run) >= 2)) and not _reads_as_prose(text, run):
            code[i:j] = [True] * len(run)
        i = j
    return code


def _reads_as_prose(text: str, run: list[_Line]) -> bool:
    """Whether an indented run is wrapped prose (a man page's option text, an indented
    quotation): long lines of words and ordinary punctuation, no sign of code."""
    for line, following in zip(run, run[1:], strict=False):
        content = text[line.start : line.end]
        if content[-1] in _PROSE_NEVER_ENDS:
            return False
        content = _OPTION.sub("--option", content)
        if _CODE_SIGN.search(content):
            return False
        # A short line is a wrapped line's end, or a term whose definition is indented deeper.
        if len(content) < 40 and following.indent <= line.indent:
            return False
        if len(_PROSE_CHAR.findall(content)) < 0.9 * len(content):
            return False
    return text[run[-1].end - 1] not in _PROSE_NEVER_ENDS


# --- pass 2: sentences inside a segment ----------------------------------------------------


def _sentences_in(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    for match in _SENTENCE_END.finditer(text, start, end):
        stop = match.end()
        if stop >= end:
            break
        punct = match.group()
        if punct[0] not in "。！？｡":
            if not text[stop].isspace():
                continue
            nxt = _NON_SPACE.search(text, stop, end)
            if nxt is None:
                break
            if not _is_boundary(text, start, match.start(), punct, text[nxt.start()]):
                continue
        spans.append((start, stop))
        start = stop
    spans.append((start, end))
    return spans


def _is_boundary(text: str, seg_start: int, dot: int, punct: str, following: str) -> bool:
    if following.islower():
        return False
    if punct.rstrip(_CLOSERS) != ".":
        return True
    token_match = _TOKEN_BEFORE.search(text, max(seg_start, dot - 24), dot)
    if token_match is None:
        return True
    token = token_match.group()
    lowered = token.lower()
    if lowered in _ABBREVIATIONS or _DOTTED_ACRONYM.fullmatch(token):
        return False
    if lowered in _NUMBER_ABBREVIATIONS and following.isdigit():
        return False
    return not (len(token) == 1 and token.isupper())  # an initial, as in "J. R. R. Tolkien"


# --- bounding and trimming -----------------------------------------------------------------


def _cap(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Cut [start, end) into pieces of at most MAX_SENTENCE_CHARS, at whitespace if possible."""
    while end - start > MAX_SENTENCE_CHARS:
        limit = start + MAX_SENTENCE_CHARS
        cut = max(text.rfind(" ", start + 1, limit), text.rfind("\n", start + 1, limit))
        cut = max(cut, text.rfind("\t", start + 1, limit))
        if cut <= start:
            cut = limit
        yield start, cut
        start = cut
    yield start, end


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    piece = text[start:end]
    left = len(piece) - len(piece.lstrip())
    right = len(piece.rstrip())
    return (start + left, start + right) if right > left else (start, start)
