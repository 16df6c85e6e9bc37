"""Read reStructuredText: strip the markup, keeping one output line per source line.

Section adornments, comments and directive options become blank lines; literal blocks and code
directives are indented by four spaces; admonitions keep their prose.
"""

from __future__ import annotations

import re

from docsearch.readers.text import MAX_INLINE_LINE, ExtractedText, decode_text


def read_rst(name: str, data: bytes) -> ExtractedText:
    """Read a reStructuredText file.

    Args:
        name: file name, used in error messages.
        data: the raw file content.

    Returns:
        Plain text with the same line numbers as the source, and the first section title.

    Raises:
        UnreadableDocument: the bytes are binary data, not text.
    """
    text, title = _rst_to_text(decode_text(name, data))
    return ExtractedText(text, title=title)


_RST_DIRECTIVE = re.compile(r"(\s*)\.\.\s+([\w:.+-]+)\s?::(.*)$")
_RST_EXPLICIT = re.compile(r"(\s*)\.\.(?:\s|$)")
_RST_FOOTNOTE = re.compile(r"(\s*)\.\.\s+\[[^\]]+\]\s+(.*)$")
_RST_ADORNMENT = re.compile(r"([=\-`:.'\"~^_*+#<>!$%&(),/;?@\[\\\]{|}])\1+\s*$")
_RST_OPTION = re.compile(r"\s+:[\w .-]+:(\s|$)")
_RST_PROSE_DIRECTIVES = frozenset(
    "note warning tip important caution danger attention hint error admonition seealso "
    "topic sidebar rubric deprecated versionadded versionchanged epigraph highlights "
    "pull-quote container compound line-block parsed-literal".split()
)
_RST_CODE_DIRECTIVES = frozenset("code code-block sourcecode doctest testcode".split())
_RST_INLINE = [
    (re.compile(r":[\w:.+-]{1,40}:`~?!?([^`<]*?)\s*<[^`]*>`"), r"\1"),
    (re.compile(r":[\w:.+-]{1,40}:`~?!?([^`]*)`"), r"\1"),
    (re.compile(r"``(.{1,1000}?)``"), r"\1"),
    (re.compile(r"`([^`<]*?)\s*<[^`]*>`__?"), r"\1"),
    (re.compile(r"`([^`]+)`(?:__?|:[\w:.+-]{1,40}:)?"), r"\1"),
    (re.compile(r" ?\[(?:#[\w-]*|\d+|\*)\]_"), ""),
    (re.compile(r"\*\*(?=\S)(.{1,300}?)(?<=\S)\*\*"), r"\1"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])(.{1,300}?)(?<=[^\s*])\*(?![\w*])"), r"\1"),
    (re.compile(r"\|([^|\s][^|]*?)\|_{0,2}"), r"\1"),
    (re.compile(r"(?<![\w-])([A-Za-z0-9][\w-]*?[A-Za-z0-9])__?(?=[\s.,;:!?)]|$)"), r"\1"),
]


def _rst_to_text(text: str) -> tuple[str, str | None]:
    """Strip reStructuredText markup, keeping one output line per source line."""
    lines = text.split("\n")
    out = list(lines)
    title: str | None = None
    literal_next = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if len(line) > MAX_INLINE_LINE:
            i += 1
            continue
        directive = _RST_DIRECTIVE.match(line)
        if directive or _RST_EXPLICIT.match(line):
            i = _rst_explicit_block(lines, out, i, directive)
            continue
        stripped = line.strip()
        if _RST_ADORNMENT.match(stripped) and (len(stripped) >= 3 or _rst_is_title(lines, i)):
            if title is None and _rst_is_title(lines, i):
                title = _strip_inline_rst(lines[i - 1]).strip() or None
            out[i] = ""
            i += 1
            continue
        if literal_next and stripped and len(line) - len(line.lstrip()) > 0:
            j = i
            while j < len(lines) and (not lines[j].strip() or lines[j][:1].isspace()):
                out[j] = "    " + lines[j] if lines[j].strip() else ""
                j += 1
            literal_next = False
            i = j
            continue
        if stripped:
            literal_next = stripped.endswith("::")
            if stripped == "::":
                out[i] = ""
            else:
                if literal_next:
                    line = line.rstrip()[:-2].rstrip() + (
                        ":" if not line.rstrip()[-3].isspace() else ""
                    )
                out[i] = _strip_inline_rst(line)
        i += 1
    return "\n".join(out), title


def _rst_is_title(lines: list[str], i: int) -> bool:
    previous = lines[i - 1].strip() if i > 0 else ""
    return (
        bool(previous)
        and not _RST_ADORNMENT.match(previous)
        and len(lines[i].strip()) >= len(previous) // 2
    )


def _rst_explicit_block(
    lines: list[str], out: list[str], i: int, directive: re.Match[str] | None
) -> int:
    """Blank out or keep an explicit markup block (directive, comment, target).

    Returns:
        The index of the first line after the block.
    """
    indent = len(lines[i]) - len(lines[i].lstrip())
    name = directive.group(2).lower().split(":")[-1] if directive else ""
    footnote = _RST_FOOTNOTE.match(lines[i])
    if footnote:
        out[i] = footnote.group(1) + _strip_inline_rst(footnote.group(2))
    elif directive and name in _RST_PROSE_DIRECTIVES and directive.group(3).strip():
        out[i] = directive.group(1) + _strip_inline_rst(directive.group(3).strip())
    else:
        out[i] = ""
    j = i + 1
    in_options = directive is not None
    while j < len(lines):
        line = lines[j]
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        if in_options and line.strip() and _RST_OPTION.match(line):
            out[j] = ""
        elif not line.strip():
            in_options = False
            out[j] = ""
        elif footnote or (directive and name in _RST_PROSE_DIRECTIVES):
            in_options = False
            out[j] = _strip_inline_rst(line)
        elif directive and name in _RST_CODE_DIRECTIVES:
            in_options = False
            out[j] = "    " + line
        else:
            out[j] = ""
        j += 1
    return j


def _strip_inline_rst(line: str) -> str:
    if len(line) > MAX_INLINE_LINE:
        return line
    for pattern, replacement in _RST_INLINE:
        line = pattern.sub(replacement, line)
    return line
