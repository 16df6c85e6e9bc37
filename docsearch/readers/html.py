"""Read HTML: visible text only, one paragraph per block element.

Scripts, styles, navigation, headers, footers and forms are dropped; `<pre>` blocks are indented
by four spaces. The title is `<title>`, else the first `<h1>`. The charset comes from a byte
order mark, else a `<meta charset>` declaration, else the usual guessing in `decode_text`.
"""

from __future__ import annotations

import codecs
import logging
import re
from html import unescape
from html.parser import HTMLParser

from docsearch.readers.text import ExtractedText, decode_text, has_bom, normalise

log = logging.getLogger(__name__)


def read_html(name: str, data: bytes) -> ExtractedText:
    """Read an HTML file.

    Args:
        name: file name, used in error messages.
        data: the raw file content.

    Returns:
        Visible text, the title, and a line map to the HTML source.

    Raises:
        UnreadableDocument: the bytes are binary data, not text.
    """
    text, title, line_map = _html_to_text(_decode_html(name, data))
    return ExtractedText(text, title=title, line_map=line_map)


_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I
)


def _decode_html(name: str, data: bytes) -> str:
    declared = _META_CHARSET.search(data[:4096])
    if declared and not has_bom(data):
        try:
            codec = codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            codec = None
        # Pages declaring latin-1 are cp1252 in practice (WHATWG); UTF-16 without BOM is rare.
        if codec in ("latin-1", "iso8859-1"):
            codec = "cp1252"
        if codec and codec != "utf-8" and not codec.startswith(("utf-16", "utf-32")):
            return decode_text(name, data, encoding=codec)
    return decode_text(name, data)


_HTML_DROP = frozenset(
    "script style nav header footer aside noscript template svg form head iframe object "
    "canvas button select datalist dialog".split()
)
_HTML_BLOCK = frozenset(
    "address article blockquote body caption dd details div dl dt fieldset figcaption figure "
    "h1 h2 h3 h4 h5 h6 hr li main ol p pre section summary table tbody tfoot thead tr ul "
    "center".split()
)
_HTML_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)
_HTML_SPACES = re.compile(r"[ \t\f\v\r]+")
_HTML_TAG = re.compile(r"<[^<>]*>")
_HTML_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)


class _HtmlText(HTMLParser):
    """Collect visible text; every block element starts a new paragraph."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.sources: list[int] = []
        self._line: list[str] = []
        self._source = 1
        self._skip: list[str] = []
        self._pre = 0
        self._in_title = False
        self._in_h1 = False
        self.title_parts: list[str] = []
        self.h1_parts: list[str] = []

    # output
    def _line_is_blank(self) -> bool:
        return not "".join(self._line).strip()

    def _newline(self, source: int) -> None:
        if self._line_is_blank():
            self._line, self._source = [], source  # reuse the empty line; it starts later
            return
        self.lines.append("".join(self._line).rstrip())
        self.sources.append(self._source)
        self._line, self._source = [], source

    def _paragraph(self, source: int) -> None:
        self._newline(source)
        if self.lines and self.lines[-1]:
            self.lines.append("")
            self.sources.append(source)

    def _write(self, text: str, source: int) -> None:
        if self._line_is_blank():
            self._source = source
            text = text.lstrip() if not self._pre else text
        elif not self._pre and text.startswith(" ") and self._line[-1].endswith(" "):
            text = text[1:]
        if text:
            self._line.append(text)

    def finish(self) -> tuple[str, tuple[int, ...]]:
        self._newline(self._source)
        while self.lines and not self.lines[-1]:
            self.lines.pop()
            self.sources.pop()
        return "\n".join(self.lines), tuple(self.sources)

    # parser callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        if tag == "title":
            self._in_title = not self.title_parts and all(t == "head" for t in self._skip)
        elif tag in _HTML_DROP or _is_anchor_mark(tag, attrs):
            self._write(" ", line)
            if tag not in _HTML_VOID:
                self._skip.append(tag)
        elif self._skip:
            return
        elif tag == "br":
            self._newline(line)
        elif tag in ("td", "th"):
            self._write(" ", line)
        elif tag in _HTML_BLOCK:
            self._paragraph(line)
            if tag == "pre":
                self._pre += 1
            elif tag == "h1":
                self._in_h1 = True

    def handle_endtag(self, tag: str) -> None:
        line = self.getpos()[0]
        if tag == "title":
            self._in_title = False
        elif tag in self._skip:
            while self._skip.pop() != tag:
                pass
        elif tag in ("body", "html"):
            self._skip.clear()
        if self._skip:
            return
        if tag in _HTML_BLOCK:
            self._paragraph(line)
            if tag == "pre":
                self._pre = max(self._pre - 1, 0)
            elif tag == "h1":
                self._in_h1 = False
        elif tag in ("td", "th"):
            self._write(" ", line)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
            return
        if self._skip:
            return
        if self._in_h1:
            self.h1_parts.append(data)
        line = self.getpos()[0]
        for k, piece in enumerate(data.split("\n")):
            if k:
                self._newline(line + k)
            if self._pre:  # indented once per line, not once per highlighted token
                indent = "    " if self._line_is_blank() and piece.strip() else ""
                self._write(indent + piece if piece.strip() or not indent else "", line + k)
            else:
                self._write(_HTML_SPACES.sub(" ", piece), line + k)


def _is_anchor_mark(tag: str, attrs: list[tuple[str, str | None]]) -> bool:
    """A link that only marks a heading's anchor (Sphinx's and MkDocs' "¶" or "#")."""
    if tag != "a":
        return False
    classes = " ".join(value or "" for name, value in attrs if name == "class").split()
    return any(c in ("headerlink", "anchor", "anchorjs-link", "header-anchor") for c in classes)


def _html_to_text(html: str) -> tuple[str, str | None, tuple[int, ...] | None]:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception as exc:  # html.parser gives up on some malformed declarations
        log.debug("html.parser failed (%s); falling back to stripping tags", exc)
        text = _HTML_TAG.sub(" ", _HTML_SCRIPT.sub(" ", html))
        return normalise(unescape(text)), None, None
    text, sources = parser.finish()
    title = " ".join("".join(parser.title_parts).split()) or " ".join(
        "".join(parser.h1_parts).split()
    )
    identity = all(source == i for i, source in enumerate(sources, 1))
    return normalise(text), title or None, None if identity else sources
