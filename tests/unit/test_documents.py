from __future__ import annotations

import hashlib
import io
import logging
import os
from pathlib import Path

import pypdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docsearch.documents import SUPPORTED_TYPES, Document, find_files, read_bytes, read_file
from docsearch.errors import UnreadableDocument, UnsupportedFileType
from docsearch.splitting import split_document

# --- hand-built PDFs -----------------------------------------------------------------------


def make_pdf(pages: list[bytes], font_extra: bytes = b"", title: bytes | None = None) -> bytes:
    """A minimal PDF: one content stream per page, Helvetica with ligature glyphs at 128-130."""
    font = (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding "
        b"/BaseEncoding /WinAnsiEncoding /Differences [128 /fi /fl /ffi] >> " + font_extra + b">>"
    )
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", font]
    kids = []
    for content in pages:
        kids.append(len(objects) + 1)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (len(objects) + 2)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % kid for kid in kids),
        len(kids),
    )
    if title is not None:
        objects.append(b"<< /Title (%s) >>" % title)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    info = b"/Info %d 0 R " % len(objects) if title is not None else b""
    out.write(b"trailer\n<< /Size %d /Root 1 0 R %s>>\n" % (len(objects) + 1, info))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def text_page(*lines: bytes) -> bytes:
    """Content stream that shows each line below the previous one."""
    body = b"\n".join(b"(%s) Tj T*" % line for line in lines)
    return b"BT /F1 11 Tf 14 TL 72 740 Td\n" + body + b"\nET"


def words_page(*lines: str, char_width: int = 600, gap: float = 3.0) -> bytes:
    """Content stream that places every word on its own, with no space glyph between words.

    Each word advances `char_width` (1/1000 em, 11 pt font) per character plus `gap` points.
    """
    parts = []
    for row, line in enumerate(lines):
        moves = [
            b"(%s) Tj %.2f 0 Td" % (word.encode(), len(word) * char_width * 11 / 1000 + gap)
            for word in line.split()
        ]
        parts.append(b"BT /F1 11 Tf 72 %d Td %s ET" % (700 - 14 * row, b" ".join(moves)))
    return b"\n".join(parts)


def encrypt(data: bytes, user_password: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def reason(name: str, data: bytes) -> str:
    with pytest.raises(UnreadableDocument) as caught:
        read_bytes(name, data)
    return caught.value.reason


# --- Document ------------------------------------------------------------------------------


def test_supported_types() -> None:
    assert SUPPORTED_TYPES == {
        ".txt": "text",
        ".md": "markdown",
        ".markdown": "markdown",
        ".rst": "rst",
        ".html": "html",
        ".htm": "html",
        ".xhtml": "html",
        ".pdf": "pdf",
        ".docx": "docx",
        ".pptx": "pptx",
        ".odt": "odt",
        ".odp": "odp",
        ".epub": "epub",
        ".eml": "email",
        ".mbox": "mbox",
        ".ipynb": "notebook",
        ".csv": "csv",
        ".tsv": "tsv",
    }


def test_read_bytes_fills_every_field() -> None:
    data = b"Hello world.\nSecond line."
    doc = read_bytes("notes.txt", data, mtime=12.5)
    assert doc == Document(
        path="notes.txt",
        type="text",
        text="Hello world.\nSecond line.",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        mtime=12.5,
        title=None,
        page_starts=None,
        line_map=None,
    )


def test_locate_plain_mapped_and_paged() -> None:
    plain = read_bytes("a.txt", b"one\ntwo\nthree")
    assert [plain.locate(i) for i in (0, 3, 4, 8, 99, -5)] == [
        (1, None),
        (1, None),
        (2, None),
        (3, None),
        (3, None),
        (1, None),
    ]
    mapped = Document("a.html", "html", "x\ny", "", 0, None, None, None, (7, 9))
    assert mapped.locate(2) == (9, None)
    paged = Document("a.pdf", "pdf", "a\nb\n\nc\nd", "", 0, None, None, (0, 5), None)
    assert [paged.locate(i) for i in (0, 2, 5, 7)] == [(1, 1), (2, 1), (1, 2), (2, 2)]


# --- text decoding -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "Grüße aus Köln. Ça va?".encode(),
        b"\xef\xbb\xbf" + "Grüße aus Köln. Ça va?".encode(),
        b"\xff\xfe" + "Grüße aus Köln. Ça va?".encode("utf-16-le"),
        b"\xfe\xff" + "Grüße aus Köln. Ça va?".encode("utf-16-be"),
        "Grüße aus Köln. Ça va?".encode("cp1252"),
    ],
    ids=["utf8", "utf8-bom", "utf16-le-bom", "utf16-be-bom", "cp1252"],
)
def test_text_encodings(data: bytes) -> None:
    assert read_bytes("a.txt", data).text == "Grüße aus Köln. Ça va?"


def test_cp1252_punctuation_and_latin1_fallback() -> None:
    assert read_bytes("a.txt", b"\x93quoted\x94 \x96 dash").text == "“quoted” – dash"
    # 0x81 is undefined in cp1252, so latin-1 takes over (and the C1 control is removed).
    assert read_bytes("a.txt", b"caf\xe9 \x81ok").text == "café ok"


def test_mostly_utf8_with_one_bad_byte_stays_utf8() -> None:
    data = "naïve café résumé ".encode() * 3 + b"\xff end"
    assert read_bytes("a.txt", data).text == "naïve café résumé " * 3 + "\ufffd end"


def test_newlines_are_normalised() -> None:
    assert read_bytes("a.txt", b"a\r\nb\rc\n").text == "a\nb\nc\n"


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("a.txt", b"", "empty file"),
        ("a.pdf", b"", "empty file"),
        ("a.txt", b" \n\t\n", "no text (only whitespace)"),
        ("a.md", b"<!-- only a comment -->\n---\n", "no text after removing markup"),
        ("a.txt", b"PK\x03\x04\x00\x00binary", "binary data, not text"),
        ("a.txt", bytes(range(1, 32)) * 10, "binary data, not text"),
    ],
)
def test_unreadable_text(name: str, data: bytes, expected: str) -> None:
    assert reason(name, data) == expected


def test_unsupported_type_is_an_unreadable_document() -> None:
    with pytest.raises(UnsupportedFileType, match=r"unsupported file type \.xlsx") as caught:
        read_bytes("report.xlsx", b"data")
    assert isinstance(caught.value, UnreadableDocument)
    with pytest.raises(UnsupportedFileType, match=r"\(no extension\)"):
        read_bytes("README", b"data")


def test_extension_is_case_insensitive() -> None:
    assert read_bytes("NOTES.TXT", b"Hi there.").type == "text"


# --- markdown ------------------------------------------------------------------------------

_MARKDOWN = """\
---
title: Front Matter Title
---
# Usage Guide
`docsearch` is a **fast** tool for _searching_ [your docs](http://x.y/z) ![logo](l.png) <b>now</b>.

Setup
=====

- [ ] install it with `pip install docsearch`
- [x] run *ingest* over your folder
1. first step

```python
def f(x):
    return x * 2
```

| Name | Value |
|------|-------|
| alpha | 1 |
| beta | 2 |

> A quoted line.
[ref]: http://example.com
<!-- hidden
comment -->
Keep a_snake_case word and 2 * 3 * 4 here.
"""


def test_markdown_markup_is_stripped_and_lines_are_kept() -> None:
    doc = read_bytes("guide.md", _MARKDOWN.encode())
    assert doc.title == "Usage Guide"
    assert [(s.line, s.text) for s in split_document(doc)] == [
        (4, "Usage Guide"),
        (5, "docsearch is a fast tool for searching your docs logo now."),
        (7, "Setup"),
        (10, "install it with pip install docsearch"),
        (11, "run ingest over your folder"),
        (12, "first step"),
        (15, "def f(x):"),
        (16, "return x * 2"),
        (19, "Name | Value"),
        (21, "alpha | 1"),
        (22, "beta | 2"),
        (24, "A quoted line."),
        (28, "Keep a_snake_case word and 2 * 3 * 4 here."),
    ]
    assert "http" not in doc.text and "<!--" not in doc.text and "hidden" not in doc.text


def test_markdown_title_falls_back_to_front_matter_and_none() -> None:
    assert read_bytes("a.md", b"---\ntitle: 'Fm'\n---\nText.").title == "Fm"
    assert read_bytes("a.md", b"Just text.").title is None
    assert read_bytes("a.md", b"Just text.").line_map is None


# --- reStructuredText ----------------------------------------------------------------------

_RST = """\
=========
The Title
=========

.. contents:: Table of Contents
   :depth: 2

Intro
-----

This uses :ref:`the guide <guide>`, ``code``, `a link <http://x>`_ and *emphasis*.
See :func:`os.path.join` for details [1]_.

.. note:: Remember this fact.

.. code-block:: python
   :linenos:

   x = 1
   y = 2

Example::

   literal one

.. image:: pic.png
   :alt: picture

.. [1] A footnote text.
"""


def test_rst_markup_is_stripped_and_lines_are_kept() -> None:
    doc = read_bytes("guide.rst", _RST.encode())
    assert doc.title == "The Title"
    assert doc.text.count("\n") == _RST.count("\n")
    assert [(s.line, s.text) for s in split_document(doc)] == [
        (2, "The Title"),
        (8, "Intro"),
        (11, "This uses the guide, code, a link and emphasis."),
        (12, "See os.path.join for details."),
        (14, "Remember this fact."),
        (19, "x = 1"),
        (20, "y = 2"),
        (22, "Example:"),
        (24, "literal one"),
        (29, "A footnote text."),
    ]
    assert "pic.png" not in doc.text and "depth" not in doc.text


# --- HTML ----------------------------------------------------------------------------------

_HTML = """\
<!DOCTYPE html>
<html><head><title>My  Page</title><style>body { color: red }</style>
<script>var x = "<p>not text</p>";</script></head>
<body>
<header><h1>Site header</h1></header>
<nav><ul><li>Home</li><li>About</li></ul></nav>
<main>
<h1>Main heading</h1>
<p>First paragraph with &amp; and &eacute; and
a line break inside.</p>
<ul><li>One</li><li>Two</li></ul>
<pre><code>def f():
    return 1</code></pre>
<table><tr><td>a</td><td>b</td></tr></table>
</main>
<aside>Related links</aside>
<footer>Copyright</footer>
<form>Search box</form>
</body></html>"""


def test_html_visible_text_with_source_lines() -> None:
    doc = read_bytes("page.html", _HTML.encode())
    assert doc.title == "My Page"
    assert [(s.line, s.text) for s in split_document(doc)] == [
        (8, "Main heading"),
        (9, "First paragraph with & and é and a line break inside."),
        (11, "One"),
        (11, "Two"),
        (12, "def f():"),
        (13, "return 1"),
        (14, "a b"),
    ]
    for hidden in ("color", "not text", "Site header", "Home", "Related", "Copyright", "Search"):
        assert hidden not in doc.text


def test_html_title_falls_back_to_first_h1() -> None:
    doc = read_bytes("a.htm", b"<body><h1>The <em>Heading</em></h1><p>Body.</p></body>")
    assert doc.title == "The Heading"


def test_html_declared_charset_is_used() -> None:
    data = '<meta charset="iso-8859-1"><p>Café “quoted”</p>'.encode("cp1252")
    assert read_bytes("a.html", data).text == "Café “quoted”"


def test_malformed_html_still_gives_text() -> None:
    doc = read_bytes("a.html", b"<p>Broken <![weird stuff <b>bold</b> text</p>")
    assert "Broken" in doc.text


# --- PDF -----------------------------------------------------------------------------------


def report_pdf() -> bytes:
    bodies = [
        [b"Revenue grew this year thanks to a long exam-", b"ple of hyphen\x80ation on a \x81oor."],
        [b"Costs were kept under control.", b"Staff numbers rose by ten."],
        [b"The outlook is positive.", b"We are e\x82cient."],
    ]
    pages = [
        text_page(b"ACME Annual Report 2024", *body, b"Confidential - page %d of 3" % number)
        for number, body in enumerate(bodies, 1)
    ]
    return make_pdf(pages, title=b"The Report")


def test_pdf_pages_hyphenation_ligatures_and_repeated_edges() -> None:
    doc = read_bytes("report.pdf", report_pdf())
    assert doc.type == "pdf" and doc.title == "The Report"
    assert doc.page_starts is not None and len(doc.page_starts) == 3
    assert [(s.page, s.line, s.text) for s in split_document(doc)] == [
        (1, 2, "Revenue grew this year thanks to a long example of hyphenfiation on a floor."),
        (2, 2, "Costs were kept under control."),
        (2, 3, "Staff numbers rose by ten."),
        (3, 2, "The outlook is positive."),
        (3, 3, "We are efficient."),
    ]
    assert "ACME" not in doc.text and "Confidential" not in doc.text


def test_pdf_two_pages_running_header_and_single_page_footer() -> None:
    pages = [
        text_page(b"Sleep Guide", b"Sleep Guide", b"The body clock runs.", b"Page 1 of 2"),
        text_page(b"Sleep Guide", b"Light resets it.", b"Page 2 of 2"),
    ]
    doc = read_bytes("a.pdf", make_pdf(pages))
    # The running header goes once per page; the title below it on page 1 stays.
    assert [(s.page, s.line, s.text) for s in split_document(doc)] == [
        (1, 2, "Sleep Guide"),
        (1, 3, "The body clock runs."),
        (2, 2, "Light resets it."),
    ]
    single = make_pdf([text_page(b"Only page text.", b"Page 1 of 1")])
    assert read_bytes("b.pdf", single).text == "Only page text."


def test_pdf_hyphen_before_capital_is_kept() -> None:
    doc = read_bytes("a.pdf", make_pdf([text_page(b"The Jean-", b"Luc effect.")]))
    assert doc.text == "The Jean-\nLuc effect."


def test_pdf_glued_words_are_separated() -> None:
    # Every glyph is declared 556 wide but the space 1000 (one em), so pypdf's own rule (a gap
    # of half a space) sees no word gaps: the 3 pt gaps are under 5.5 pt.
    widths = b" ".join(b"1000" if code == 32 else b"556" for code in range(32, 127))
    font_extra = b"/FirstChar 32 /LastChar 126 /Widths [" + widths + b"] "
    lines = [
        "The quick brown fox jumps over the lazy dog.",
        "Pack my box with five dozen liquor jugs.",
    ]
    data = make_pdf([words_page(*lines, char_width=556)], font_extra=font_extra)
    glued = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "Thequickbrownfox" in glued  # the problem this test is about
    assert read_bytes("glued.pdf", data).text == "\n".join(lines)


def test_pdf_words_placed_one_by_one_keep_their_spaces() -> None:
    data = make_pdf([words_page("The quick brown fox jumps over the lazy dog.")])
    assert read_bytes("a.pdf", data).text == "The quick brown fox jumps over the lazy dog."


def test_pdf_encrypted_with_empty_password_is_read() -> None:
    data = encrypt(make_pdf([text_page(b"Secret but open.")]), user_password="")
    assert read_bytes("a.pdf", data).text == "Secret but open."


def test_pdf_errors_say_what_to_do() -> None:
    data = make_pdf([text_page(b"Some text here.")])
    assert (
        reason("a.pdf", encrypt(data, "secret"))
        == "encrypted PDF (needs a password); decrypt it first"
    )
    assert reason("a.pdf", make_pdf([b"0 0 m 100 100 l S"])) == (
        "PDF has no text layer (scanned?); run OCR first"
    )
    assert reason("a.pdf", make_pdf([])) == "PDF has no pages"
    for broken in (data[: len(data) // 2], data[:60], b"%PDF-1.4\n" + bytes(range(256))):
        assert reason("a.pdf", broken).startswith("corrupt or truncated PDF")


def test_pypdf_warnings_do_not_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    data = make_pdf([text_page(b"Hello there.")]).replace(b"startxref\n", b"startxref\n9")
    with caplog.at_level(logging.INFO):
        assert read_bytes("a.pdf", data).text == "Hello there."
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


# --- read_file -----------------------------------------------------------------------------


def test_read_file_records_mtime_and_path(tmp_path: Path) -> None:
    path = tmp_path / "a b ü.md"
    path.write_bytes(b"# Title\n\nBody.")
    os.utime(path, (1_000_000, 1_000_000))
    doc = read_file(path)
    assert (doc.path, doc.mtime, doc.title, doc.size) == (str(path), 1_000_000, "Title", 14)


def test_read_file_problems(tmp_path: Path) -> None:
    with pytest.raises(UnreadableDocument, match="file vanished while reading"):
        read_file(tmp_path / "gone.txt")
    (tmp_path / "dir.txt").mkdir()
    with pytest.raises(UnreadableDocument, match="folder"):
        read_file(tmp_path / "dir.txt")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(UnreadableDocument, match="empty file"):
        read_file(tmp_path / "empty.txt")
    with pytest.raises(UnsupportedFileType):
        read_file(tmp_path / "x.xlsx")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads everything")
def test_read_file_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("x")
    path.chmod(0)
    with pytest.raises(UnreadableDocument, match="permission denied"):
        read_file(path)


# --- find_files ----------------------------------------------------------------------------


def test_find_files_walks_folders_and_reports_what_it_skips(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".git").mkdir()
    files = ["a.txt", "b.MD", "sub/c.pdf", "sub/deeper/d d ü.html", "sub/new\nline.rst"]
    for name in files:
        (root / name).write_text("x")
    (root / ".git" / "config.txt").write_text("x")
    (root / ".hidden.md").write_text("x")
    (root / "report.xlsx").write_text("x")
    (root / "Makefile").write_text("x")
    os.symlink(root / "a.txt", root / "link-to-a.txt")  # same file twice
    os.symlink(root / "nowhere.txt", root / "dangling.txt")
    os.symlink(root, root / "sub" / "loop")  # a folder loop
    os.symlink(root / "self.md", root / "self.md")  # a link loop
    listing = find_files([root, tmp_path / "missing", str(root / "a.txt")])
    assert listing.files == sorted(root / name for name in files)
    assert listing.missing == [tmp_path / "missing"]
    assert listing.skipped == [
        (root / "Makefile", "unsupported file type (no extension)"),
        (root / "report.xlsx", "unsupported file type .xlsx"),
    ]
    assert listing.failed == [
        (root / "dangling.txt", "broken symbolic link"),
        (root / "self.md", "symbolic link loop"),
    ]


def test_find_files_with_a_file_and_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notes.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    listing = find_files(["notes.txt", "notes.txt"])
    assert listing.files == [tmp_path / "notes.txt"]
    assert listing.skipped == [] and listing.missing == [] and listing.failed == []


# --- properties ----------------------------------------------------------------------------

_ANY_CONTENT = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=300).map(str.encode),
    st.binary(max_size=400).map(lambda tail: b"%PDF-1.4\n" + tail),
    st.sampled_from([_MARKDOWN.encode(), _RST.encode(), _HTML.encode()]).flatmap(
        lambda doc: st.integers(0, len(doc)).map(lambda cut: doc[:cut])
    ),
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(sorted(SUPPORTED_TYPES)), _ANY_CONTENT)
def test_arbitrary_bytes_give_a_document_or_unreadable_document(suffix: str, data: bytes) -> None:
    try:
        doc = read_bytes("upload" + suffix, data)
    except UnreadableDocument as exc:
        assert exc.reason
    else:
        assert doc.text.strip()
        split_document(doc)


def test_truncated_pdfs_never_raise_anything_else() -> None:
    data = report_pdf()
    for cut in range(0, len(data), 97):
        try:
            read_bytes("a.pdf", data[:cut])
        except UnreadableDocument:
            pass


def test_a_guessed_encoding_is_said_on_stderr(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="docsearch"):
        read_bytes("legacy.txt", b"caf\xe9 cr\xe8me")
        read_bytes("damaged.txt", "naïve café ".encode() * 3 + b"\xff end")
        read_bytes("fine.txt", "naïve café".encode())
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("legacy.txt is not UTF-8 (byte 3); read as cp1252")
    assert messages[1].startswith("damaged.txt: 1 bytes are not valid UTF-8")


def test_highlighted_code_and_heading_anchors_read_as_written() -> None:
    html = (
        '<h2>Running a command<a class="headerlink" href="#r">\u00b6</a></h2>'
        '<div class="highlight"><pre><span class="n">subprocess</span><span class="o">.</span>'
        '<span class="n">run</span><span class="p">([</span><span class="s2">&quot;ls&quot;'
        '</span><span class="p">,</span> <span class="s2">&quot;-l&quot;</span>'
        '<span class="p">])</span>\n<span class="n">x</span> <span class="o">=</span> 1\n'
        "</pre></div>"
    )
    text = read_bytes("page.html", html.encode()).text
    assert text == 'Running a command\n\n    subprocess.run(["ls", "-l"])\n    x = 1'
