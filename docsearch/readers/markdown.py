"""Read Markdown: strip the markup, keep one output line per source line where possible.

Headings and table rows get a blank line after them so that each ends its own sentence; fenced
and indented code is indented by four spaces. Where output lines and source lines differ (front
matter, added blank lines) the result records a `line_map`.
"""

from __future__ import annotations

import re

from docsearch.readers.text import MAX_INLINE_LINE, ExtractedText, decode_text


def read_markdown(name: str, data: bytes) -> ExtractedText:
    """Read a Markdown file.

    Args:
        name: file name, used in error messages.
        data: the raw file content.

    Returns:
        Plain text, the first heading (or front-matter title) as title, and a line map.

    Raises:
        UnreadableDocument: the bytes are binary data, not text.
    """
    text, title, line_map = _markdown_to_text(decode_text(name, data))
    return ExtractedText(text, title=title, line_map=line_map)


_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r" {0,3}#{1,6}(?=[ \t]|$)")
_SETEXT_UNDERLINE = re.compile(r" {0,3}(=+|-+)[ \t]*$")
_THEMATIC_BREAK = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LINK_DEFINITION = re.compile(r" {0,3}\[[^\]]+\]:\s*\S")
_BLOCKQUOTE = re.compile(r"(\s{0,3}>\s?)+")
_TASK_BOX = re.compile(r"(\s*(?:[-*+]|\d{1,3}[.)])\s+)\[[ xX]\]\s+")
_FRONT_MATTER_TITLE = re.compile(r"title\s*[:=]\s*[\"']?(.*?)[\"']?\s*$", re.I)
_CODE_SPAN = re.compile(r"(`{1,10})(.{1,1000}?)\1")
# Every pattern is bounded (no unlimited lazy spans, no [ inside link text) so that one
# pathological line costs linear time.
_MD_INLINE = [
    (re.compile(r"<!--.{0,2000}?-->"), ""),
    (re.compile(r"!?\[([^\[\]]*)\]\((?:[^()\s]|\([^()]*\))*(?:\s+\"[^\"]*\")?\)"), r"\1"),
    (re.compile(r" ?\[\^[^\[\]]+\]"), ""),
    (re.compile(r"!?\[([^\[\]]+)\]\[[^\[\]]*\]"), r"\1"),
    (re.compile(r"<((?:https?|ftp|mailto):[^>\s]+|[^@<>\s]+@[^@<>\s]+)>"), r"\1"),
    (re.compile(r"<br\s*/?>", re.I), " "),
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), ""),
    (re.compile(r"(\*\*|__)(?=\S)(.{1,300}?)(?<=\S)\1"), r"\2"),
    (re.compile(r"~~(?=\S)(.{1,300}?)(?<=\S)~~"), r"\1"),
    (re.compile(r"(?<![\w*\\])\*(?=[^\s*])(.{1,300}?)(?<=[^\s*\\])\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w\\])_(?=[^\s_])(.{1,300}?)(?<=[^\s_\\])_(?!\w)"), r"\1"),
    (re.compile(r"\\([!-/:-@\[-`{-~])"), r"\1"),
]


class _LineWriter:
    """Collect output lines together with the source line each one came from."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.sources: list[int] = []

    def add(self, line: str, source: int) -> None:
        self.lines.append(line)
        self.sources.append(source)

    def result(self) -> tuple[str, tuple[int, ...] | None]:
        identity = all(source == i for i, source in enumerate(self.sources, 1))
        return "\n".join(self.lines), None if identity else tuple(self.sources)


def _markdown_to_text(text: str) -> tuple[str, str | None, tuple[int, ...] | None]:
    """Strip Markdown markup line by line; headings get a blank line after them."""
    lines = text.split("\n")
    out = _LineWriter()
    title: str | None = None
    front_title: str | None = None
    start = 0
    if lines[0].strip() in ("---", "+++"):
        fence = lines[0].strip()
        for j in range(1, min(len(lines), 200)):
            if lines[j].strip() in (fence, "..."):
                for k in range(j + 1):
                    found = _FRONT_MATTER_TITLE.match(lines[k].strip())
                    if found and front_title is None and found.group(1):
                        front_title = found.group(1)
                    out.add("", k + 1)
                start = j + 1
                break
    fence_open: str | None = None
    in_comment = indented_code = False
    for i in range(start, len(lines)):
        line, number = lines[i], i + 1
        following = lines[i + 1] if i + 1 < len(lines) else ""
        previous = lines[i - 1] if i > 0 else ""
        indent = len(line) - len(line.lstrip())
        indented_code = (indented_code and (indent >= 4 or not line.strip())) or (
            indent >= 4 and line.strip() != "" and not previous.strip() and fence_open is None
        )
        if len(line) > MAX_INLINE_LINE or indented_code:
            out.add(line, number)  # code keeps its text and indentation; huge lines are not markup
            continue
        if fence_open is not None:
            marker = _FENCE.match(line)
            if (
                marker
                and marker.group(1)[0] == fence_open[0]
                and len(marker.group(1)) >= len(fence_open)
                and not line.strip().strip(fence_open[0])
            ):
                fence_open = None
                out.add("", number)
            else:
                out.add("    " + line if line.strip() else "", number)
            continue
        if in_comment:
            if "-->" not in line:
                out.add("", number)
                continue
            line, in_comment = " " * (line.index("-->") + 3) + line[line.index("-->") + 3 :], False
        marker = _FENCE.match(line)
        if marker:
            fence_open = marker.group(1)
            out.add("", number)
            continue
        opened = line.rfind("<!--")
        if opened >= 0 and "-->" not in line[opened:]:
            line, in_comment = line[:opened], True
        heading = _ATX_HEADING.match(line)
        if heading:
            content = _strip_inline_markdown(_heading_text(line[heading.end() :]))
            title = title or content.strip() or None
            out.add(content, number)
            if following.strip() and not _SETEXT_UNDERLINE.match(following):
                out.add("", number)  # end the heading's sentence even when text follows directly
            continue
        if (
            _SETEXT_UNDERLINE.match(line)
            and i > start
            and previous.strip()
            and not _THEMATIC_BREAK.match(previous)
        ):
            title = title or _strip_inline_markdown(previous).strip() or None
            out.add("", number)
            continue
        if _THEMATIC_BREAK.match(line) or _LINK_DEFINITION.match(line):
            out.add("", number)
            continue
        if "|" in line and "-" in line and not line.strip(" \t|:-"):  # table delimiter row
            out.add("", number)
            continue
        line = _BLOCKQUOTE.sub("", line, count=1) if line.lstrip().startswith(">") else line
        line = _TASK_BOX.sub(r"\1", line, count=1)
        if line.lstrip().startswith("|") and line.rstrip().endswith("|"):
            cells = [_strip_inline_markdown(cell).strip() for cell in line.strip()[1:-1].split("|")]
            out.add(" | ".join(cell for cell in cells if cell), number)
            if following.strip():
                out.add("", number)  # each table row is a sentence of its own
            continue
        out.add(_strip_inline_markdown(line), number)
    text, line_map = out.result()
    return text, title or front_title, line_map


def _heading_text(rest: str) -> str:
    """The text of an ATX heading without its optional closing run of '#'."""
    rest = rest.strip()
    unclosed = rest.rstrip("#")
    if unclosed != rest and (not unclosed or unclosed[-1] in " \t"):
        rest = unclosed.rstrip()
    return rest


def _strip_inline_markdown(line: str) -> str:
    if len(line) > MAX_INLINE_LINE or not line.strip():
        return line
    parts = []
    last = 0
    for span in _CODE_SPAN.finditer(line):
        parts.append(_strip_markdown_prose(line[last : span.start()]))
        parts.append(span.group(2).strip() if span.group(2).strip() else span.group(2))
        last = span.end()
    parts.append(_strip_markdown_prose(line[last:]))
    return "".join(parts)


def _strip_markdown_prose(text: str) -> str:
    for pattern, replacement in _MD_INLINE:
        text = pattern.sub(replacement, text)
    return text
