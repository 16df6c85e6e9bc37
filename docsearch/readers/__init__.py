"""One reader per file format: raw bytes -> `ExtractedText` (text, title, pages, line map)."""

from __future__ import annotations

from docsearch.readers.epub import read_epub
from docsearch.readers.html import read_html
from docsearch.readers.mail import read_eml, read_mbox
from docsearch.readers.markdown import read_markdown
from docsearch.readers.notebook import read_notebook
from docsearch.readers.office import read_docx, read_odp, read_odt, read_pptx
from docsearch.readers.pdf import read_pdf
from docsearch.readers.rst import read_rst
from docsearch.readers.table import read_csv, read_tsv
from docsearch.readers.text import ExtractedText, read_text

__all__ = [
    "ExtractedText",
    "read_csv",
    "read_docx",
    "read_eml",
    "read_epub",
    "read_html",
    "read_markdown",
    "read_mbox",
    "read_notebook",
    "read_odp",
    "read_odt",
    "read_pdf",
    "read_pptx",
    "read_rst",
    "read_text",
    "read_tsv",
]
