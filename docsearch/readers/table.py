"""Read CSV and TSV files: each row a unit of its own, its cells named by the header.

A row becomes one line, `header: value; header: value`, with a blank line between rows so
the splitter never joins two rows; the line map points each back to its line in the file.
The header row is the first row.
"""

from __future__ import annotations

import csv
import io

from docsearch.errors import UnreadableDocument
from docsearch.readers.text import ExtractedText, decode_text

csv.field_size_limit(16 * 1024 * 1024)


def read_csv(name: str, data: bytes) -> ExtractedText:
    """Read a comma-separated file (the delimiter sniffed among `,;|`); see the module doc."""
    text = decode_text(name, data)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], ",;|\t")
    except csv.Error:
        dialect = csv.excel
    return _rows(name, text, dialect)


def read_tsv(name: str, data: bytes) -> ExtractedText:
    """Read a tab-separated file; see the module doc."""
    return _rows(name, decode_text(name, data), csv.excel_tab)


def _rows(name: str, text: str, dialect: type[csv.Dialect] | csv.Dialect) -> ExtractedText:
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    lines: list[str] = []
    line_map: list[int] = []
    header: list[str] = []
    try:
        for row in reader:
            if not header:
                header = [cell.strip() for cell in row]
                continue
            cells = [" ".join(cell.split()) for cell in row]
            named = [
                f"{header[i]}: {cell}" if i < len(header) and header[i] else cell
                for i, cell in enumerate(cells)
                if cell
            ]
            if named:
                lines += ["; ".join(named), ""]
                line_map += [reader.line_num, reader.line_num]
    except csv.Error as exc:
        raise UnreadableDocument(
            name, f"malformed table at line {reader.line_num} ({exc})"
        ) from None
    return ExtractedText("\n".join(lines).rstrip("\n"), line_map=tuple(line_map[: len(lines) - 1]))
