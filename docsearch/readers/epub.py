"""Read EPUB e-books with the standard library and our HTML reader: one page per chapter.

The chapters are the spine's items in reading order (the package document named by
`META-INF/container.xml`); each goes through `read_html`. The title is the package's
`dc:title`.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET

from docsearch.errors import UnreadableDocument
from docsearch.readers.html import read_html
from docsearch.readers.parts import Archive, joined_pages
from docsearch.readers.text import ExtractedText

CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
OPF = "{http://www.idpf.org/2007/opf}"
DC = "{http://purl.org/dc/elements/1.1/}"
_CHAPTER_TYPES = ("application/xhtml+xml", "text/html")


def read_epub(name: str, data: bytes) -> ExtractedText:
    """Read an e-book: its chapters' text, a page each, in reading order.

    Raises:
        UnreadableDocument: not a zip, no package document, malformed XML, or DRM-encrypted.
    """
    archive = Archive(name, data)
    if "META-INF/encryption.xml" in archive.names:
        raise UnreadableDocument(name, "the e-book is encrypted (DRM)")
    package_path = _package_path(archive)
    package = _xml(archive, package_path)
    folder = posixpath.dirname(package_path)
    items = {
        item.get("id"): item
        for item in package.iter(f"{OPF}item")
        if item.get("media-type") in _CHAPTER_TYPES
    }
    pages = []
    for ref in package.iter(f"{OPF}itemref"):
        item = items.get(ref.get("idref"))
        if item is None:
            continue
        member = posixpath.normpath(posixpath.join(folder, item.get("href", "")))
        if member in archive.names:
            pages.append(read_html(name, archive.read(member)).text)
    title_element = package.find(f".//{DC}title")
    title = " ".join((title_element.text or "").split()) if title_element is not None else ""
    return joined_pages(pages, title or None)


def _package_path(archive: Archive) -> str:
    container = _xml(archive, "META-INF/container.xml")
    rootfile = container.find(f".//{CONTAINER}rootfile")
    if rootfile is None or not rootfile.get("full-path"):
        raise UnreadableDocument(archive.name, "META-INF/container.xml names no package")
    return str(rootfile.get("full-path"))


def _xml(archive: Archive, member: str) -> ET.Element:
    try:
        return ET.fromstring(archive.read(member))
    except ET.ParseError as exc:
        raise UnreadableDocument(archive.name, f"{member} is not well-formed XML ({exc})") from None
