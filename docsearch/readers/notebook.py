"""Read Jupyter notebooks (.ipynb): markdown and code cells, one page per cell; outputs are
left out (they are results, often long, rarely what one searches for)."""

from __future__ import annotations

import json

from docsearch.errors import UnreadableDocument
from docsearch.readers.markdown import read_markdown
from docsearch.readers.parts import joined_pages
from docsearch.readers.text import ExtractedText, decode_text


def read_notebook(name: str, data: bytes) -> ExtractedText:
    """Read a notebook: page i is cell i (raw cells included, so numbers match the file).

    Raises:
        UnreadableDocument: not JSON, or JSON without a list of cells.
    """
    try:
        notebook = json.loads(decode_text(name, data))
    except ValueError as exc:
        raise UnreadableDocument(name, f"not a notebook: invalid JSON ({exc})") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise UnreadableDocument(name, "not a notebook: no list of cells")
    pages, title = [], None
    for cell in cells:
        source = cell.get("source", "") if isinstance(cell, dict) else ""
        text = "".join(source) if isinstance(source, list) else str(source)
        if isinstance(cell, dict) and cell.get("cell_type") == "markdown":
            extracted = read_markdown(name, text.encode("utf-8"))
            title = title or extracted.title
            text = extracted.text
        pages.append(text)
    return joined_pages(pages, title)
