"""Read Office Open XML (.docx, .pptx) and OpenDocument (.odt, .odp) files with the standard
library: each is a zip of XML parts.

Paragraphs become paragraphs (a blank line between them, so a heading never runs into the
text after it); table cells become paragraphs too. A presentation's slides are its pages, in
the order the presentation lists them. The title comes from the document's properties, else
its first heading.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

from docsearch.errors import UnreadableDocument
from docsearch.readers.parts import Archive, joined_pages
from docsearch.readers.text import ExtractedText, normalise

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
DC = "{http://purl.org/dc/elements/1.1/}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_HEADING_STYLE = re.compile(r"(?i)^(title|heading ?1)$")


def _xml(archive: Archive, member: str) -> ET.Element:
    try:
        return ET.fromstring(archive.read(member))
    except ET.ParseError as exc:
        raise UnreadableDocument(archive.name, f"{member} is not well-formed XML ({exc})") from None


def _core_title(archive: Archive, member: str) -> str | None:
    if member not in archive.names:
        return None
    element = _xml(archive, member).find(f".//{DC}title")
    text = " ".join((element.text or "").split()) if element is not None else ""
    return text or None


# -- .docx ---------------------------------------------------------------------------------


def read_docx(name: str, data: bytes) -> ExtractedText:
    """Read a Word document: its paragraphs and table cells in order, no pages.

    Raises:
        UnreadableDocument: not a zip, no `word/document.xml`, or malformed XML.
    """
    archive = Archive(name, data)
    body = _xml(archive, "word/document.xml").find(f"{W}body")
    paragraphs: list[str] = []
    first_heading = None
    for paragraph in body.iter(f"{W}p") if body is not None else ():
        text = _docx_paragraph(paragraph)
        if not text.strip():
            continue
        paragraphs.append(text)
        style = paragraph.find(f"{W}pPr/{W}pStyle")
        if first_heading is None and style is not None:
            if _HEADING_STYLE.match(style.get(f"{W}val", "")):
                first_heading = text.strip()
    title = _core_title(archive, "docProps/core.xml") or first_heading
    return ExtractedText(normalise("\n\n".join(paragraphs)), title=title)


def _docx_paragraph(paragraph: ET.Element) -> str:
    parts = []
    for node in paragraph.iter():
        if node.tag == f"{W}t":
            parts.append(node.text or "")
        elif node.tag == f"{W}tab":
            parts.append("\t")
        elif node.tag in (f"{W}br", f"{W}cr"):
            parts.append("\n")
    return "".join(parts)


# -- .pptx ---------------------------------------------------------------------------------


def read_pptx(name: str, data: bytes) -> ExtractedText:
    """Read a PowerPoint presentation: one page per slide, in presentation order.

    Raises:
        UnreadableDocument: not a zip, no slides list, or malformed XML.
    """
    archive = Archive(name, data)
    pages = []
    for member in _slide_members(archive):
        slide = _xml(archive, member)
        paragraphs = ["".join(t.text or "" for t in p.iter(f"{A}t")) for p in slide.iter(f"{A}p")]
        pages.append("\n\n".join(p for p in paragraphs if p.strip()))
    first = next((p.split("\n\n", 1)[0] for p in pages if p.strip()), None)
    return joined_pages(pages, _core_title(archive, "docProps/core.xml") or first)


def _slide_members(archive: Archive) -> list[str]:
    """The slide parts in the order `ppt/presentation.xml` lists them."""
    presentation = _xml(archive, "ppt/presentation.xml")
    targets: dict[str | None, str] = {}
    if "ppt/_rels/presentation.xml.rels" in archive.names:
        for rel in _xml(archive, "ppt/_rels/presentation.xml.rels").iter(f"{RELS}Relationship"):
            target = posixpath.normpath(posixpath.join("ppt", rel.get("Target", "")))
            targets[rel.get("Id")] = target
    members = (targets.get(slide.get(f"{R}id")) for slide in presentation.iter(f"{P}sldId"))
    return [member for member in members if member is not None and member in archive.names]


# -- .odt, .odp ----------------------------------------------------------------------------


def read_odt(name: str, data: bytes) -> ExtractedText:
    """Read an OpenDocument text: its headings and paragraphs in order, no pages.

    Raises:
        UnreadableDocument: not a zip, no `content.xml`, or malformed XML.
    """
    archive = Archive(name, data)
    body = _xml(archive, "content.xml").find(f"{OFFICE}body")
    paragraphs = [p for p in _odf_paragraphs(body) if p.strip()] if body is not None else []
    first_heading = None
    if body is not None:
        heading = next(body.iter(f"{TEXT}h"), None)
        first_heading = _odf_text(heading).strip() if heading is not None else None
    title = _core_title(archive, "meta.xml") or first_heading or None
    return ExtractedText(normalise("\n\n".join(paragraphs)), title=title)


def read_odp(name: str, data: bytes) -> ExtractedText:
    """Read an OpenDocument presentation: one page per slide (`draw:page`).

    Raises:
        UnreadableDocument: not a zip, no `content.xml`, or malformed XML.
    """
    archive = Archive(name, data)
    content = _xml(archive, "content.xml")
    pages = [
        "\n\n".join(p for p in _odf_paragraphs(page) if p.strip())
        for page in content.iter(f"{DRAW}page")
    ]
    first = next((p.split("\n\n", 1)[0] for p in pages if p.strip()), None)
    return joined_pages(pages, _core_title(archive, "meta.xml") or first)


def _odf_paragraphs(root: ET.Element) -> Iterator[str]:
    for node in root.iter():
        if node.tag in (f"{TEXT}p", f"{TEXT}h"):
            yield _odf_text(node)


def _odf_text(node: ET.Element) -> str:
    """A paragraph's text: spans inline, `text:s` as spaces, tabs and line breaks kept."""
    parts = [node.text or ""]
    for child in node:
        if child.tag == f"{TEXT}s":
            parts.append(" " * int(child.get(f"{TEXT}c", "1") or 1))
        elif child.tag == f"{TEXT}tab":
            parts.append("\t")
        elif child.tag == f"{TEXT}line-break":
            parts.append("\n")
        elif child.tag not in (f"{TEXT}p", f"{TEXT}h"):  # nested paragraphs come on their own
            parts.append(_odf_text(child))
        parts.append(child.tail or "")
    return "".join(parts)
