"""One reader per file format: raw bytes -> `ExtractedText` (text, title, pages, line map)."""

from __future__ import annotations

from docsearch.readers.html import read_html
from docsearch.readers.markdown import read_markdown
from docsearch.readers.pdf import read_pdf
from docsearch.readers.rst import read_rst
from docsearch.readers.text import ExtractedText, read_text

__all__ = ["ExtractedText", "read_html", "read_markdown", "read_pdf", "read_rst", "read_text"]
