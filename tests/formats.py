"""Real files of every container format docsearch reads, written by the tests themselves.

Each builder returns the file's bytes, made the way the format's specification lays it out
(zip parts and XML for Office, OpenDocument and EPUB; the standard library's `email` for
mail; JSON for notebooks; `csv` for tables), so the readers meet the same structure a word
processor, an e-book tool or a mail client writes.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from email.message import EmailMessage
from xml.sax.saxutils import escape

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
P_NS = "http://schemas.openxmlformats.org/presentationml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CORE = (
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{}</dc:title>'
    "</cp:coreProperties>"
)


def _zip(parts: dict[str, str | bytes], first: tuple[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if first is not None:  # OpenDocument and EPUB want their mimetype first, stored
            archive.writestr(zipfile.ZipInfo(first[0]), first[1], zipfile.ZIP_STORED)
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def docx(paragraphs: list[str], *, title: str = "", heading: str = "") -> bytes:
    """A Word document: an optional Heading1 paragraph, then `paragraphs`, then a 1x2 table
    whose cells hold the last two paragraphs again (so tables are read too)."""
    body = ""
    if heading:
        body += (
            f'<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr>'
            f"<w:r><w:t>{escape(heading)}</w:t></w:r></w:p>"
        )
    for text in paragraphs:
        head, _, tail = text.partition(" ")
        body += (  # two runs split at the first space, as editors often split them
            f'<w:p><w:r><w:t xml:space="preserve">{escape(head)} </w:t></w:r>'
            f"<w:r><w:t>{escape(tail)}</w:t></w:r></w:p>"
        )
    body += (
        "<w:tbl><w:tr>"
        + "".join(
            f"<w:tc><w:p><w:r><w:t>{escape(t)}</w:t></w:r></w:p></w:tc>"
            for t in ["Cell one", "Cell two"]
        )
        + "</w:tr></w:tbl>"
    )
    parts: dict[str, str | bytes] = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/></Types>'
        ),
        "word/document.xml": f'<w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>',
    }
    if title:
        parts["docProps/core.xml"] = CORE.format(escape(title))
    return _zip(parts)


def pptx(slides: list[list[str]], *, title: str = "") -> bytes:
    """A presentation whose slide i holds the paragraphs `slides[i]`. The slide files are
    numbered in reverse, so only the presentation's own list gives the right order."""
    n = len(slides)
    parts: dict[str, str | bytes] = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
        )
    }
    ids, rels = "", ""
    for i, paragraphs in enumerate(slides):
        member = f"slide{n - i}.xml"
        ids += f'<p:sldId id="{256 + i}" r:id="rId{i + 1}"/>'
        rels += f'<Relationship Id="rId{i + 1}" Target="slides/{member}" Type="slide"/>'
        shapes = "".join(f"<a:p><a:r><a:t>{escape(text)}</a:t></a:r></a:p>" for text in paragraphs)
        parts[f"ppt/slides/{member}"] = (
            f'<p:sld xmlns:p="{P_NS}" xmlns:a="{A_NS}"><p:cSld><p:spTree><p:sp><p:txBody>'
            f"{shapes}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>"
        )
    parts["ppt/presentation.xml"] = (
        f'<p:presentation xmlns:p="{P_NS}" xmlns:r="{R_NS}"><p:sldIdLst>{ids}</p:sldIdLst>'
        "</p:presentation>"
    )
    parts["ppt/_rels/presentation.xml.rels"] = (
        f'<Relationships xmlns="{REL_NS}">{rels}</Relationships>'
    )
    if title:
        parts["docProps/core.xml"] = CORE.format(escape(title))
    return _zip(parts)


_ODF = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"'
)


def _odf(mimetype: str, body: str, title: str) -> bytes:
    parts: dict[str, str | bytes] = {
        "content.xml": f"<office:document-content {_ODF}><office:body>{body}</office:body>"
        "</office:document-content>",
    }
    if title:
        parts["meta.xml"] = (
            '<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
            ' xmlns:dc="http://purl.org/dc/elements/1.1/"><office:meta>'
            f"<dc:title>{escape(title)}</dc:title></office:meta></office:document-meta>"
        )
    return _zip(parts, first=("mimetype", mimetype))


def odt(paragraphs: list[str], *, title: str = "", heading: str = "") -> bytes:
    """An OpenDocument text: a heading, then paragraphs (the first word in a span, and the
    space after it written as `text:s`)."""
    body = f'<text:h text:outline-level="1">{escape(heading)}</text:h>' if heading else ""
    for text in paragraphs:
        head, _, tail = text.partition(" ")
        body += f"<text:p><text:span>{escape(head)}</text:span><text:s/>{escape(tail)}</text:p>"
    return _odf(
        "application/vnd.oasis.opendocument.text", f"<office:text>{body}</office:text>", title
    )


def odp(slides: list[list[str]], *, title: str = "") -> bytes:
    """An OpenDocument presentation whose page i holds the paragraphs `slides[i]`."""
    pages = "".join(
        f'<draw:page draw:name="p{i}"><draw:frame><draw:text-box>'
        + "".join(f"<text:p>{escape(t)}</text:p>" for t in paragraphs)
        + "</draw:text-box></draw:frame></draw:page>"
        for i, paragraphs in enumerate(slides)
    )
    return _odf(
        "application/vnd.oasis.opendocument.presentation",
        f"<office:presentation>{pages}</office:presentation>",
        title,
    )


def epub(chapters: list[str], *, title: str = "") -> bytes:
    """An EPUB 3 book whose spine lists chapter i as i-th (files named in reverse)."""
    n = len(chapters)
    manifest, spine = "", ""
    parts: dict[str, str | bytes] = {
        "META-INF/container.xml": (
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0">'
            '<rootfiles><rootfile full-path="OEBPS/book.opf" '
            'media-type="application/oebps-package+xml"/></rootfiles></container>'
        )
    }
    for i, text in enumerate(chapters):
        member = f"ch{n - i}.xhtml"
        manifest += f'<item id="c{i}" href="text/{member}" media-type="application/xhtml+xml"/>'
        spine += f'<itemref idref="c{i}"/>'
        parts[f"OEBPS/text/{member}"] = (
            '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head><body>'
            f"<h1>Chapter {i + 1}</h1><p>{escape(text)}</p></body></html>"
        )
    parts["OEBPS/book.opf"] = (
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{escape(title)}</dc:title>'
        f"</metadata><manifest>{manifest}</manifest><spine>{spine}</spine></package>"
    )
    return _zip(parts, first=("mimetype", "application/epub+zip"))


def eml(
    subject: str,
    body: str,
    *,
    html: str = "",
    attachment: tuple[str, bytes] | None = None,
    sender: str = "Ada <ada@example.org>",
) -> bytes:
    """A MIME message: a plain body (and an HTML alternative), optionally an attachment."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = "Grace <grace@example.org>"
    message["Date"] = "Sun, 06 Dec 2026 10:00:00 +0000"
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    if attachment is not None:
        name, data = attachment
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return bytes(message)


def mbox(messages: list[bytes]) -> bytes:
    """A mailbox (mboxrd): each message after a `From ` line, body lines starting with
    "From " quoted with ">"."""
    out = b""
    for message in messages:
        quoted = b"\n".join(
            b">" + line if line.lstrip(b">").startswith(b"From ") else line
            for line in message.replace(b"\r\n", b"\n").split(b"\n")
        )
        out += b"From ada@example.org Sun Dec  6 10:00:00 2026\n" + quoted.rstrip(b"\n") + b"\n\n"
    return out


def notebook(cells: list[tuple[str, str]]) -> bytes:
    """A Jupyter notebook (nbformat 4) of (cell type, source) cells; code cells get an output
    that must not be read."""
    out = []
    for kind, source in cells:
        cell: dict[str, object] = {
            "cell_type": kind,
            "metadata": {},
            "source": source.splitlines(keepends=True),
        }
        if kind == "code":
            cell["outputs"] = [
                {"output_type": "stream", "name": "stdout", "text": ["OUTPUTWORD\n"]}
            ]
            cell["execution_count"] = 1
        out.append(cell)
    return json.dumps({"cells": out, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def table(rows: list[list[str]], delimiter: str = ",") -> bytes:
    """A CSV (or TSV) file: the first row is the header."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode("utf-8")
