"""Readers of container formats, on real files the tests write (tests/formats.py)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docsearch.documents import read_bytes
from docsearch.errors import UnreadableDocument
from tests import formats


def page_of(document, needle: str) -> int:  # type: ignore[no-untyped-def]
    """1-based page holding `needle` (pages from `page_starts`)."""
    offset = document.text.index(needle)
    starts = document.page_starts
    return sum(1 for start in starts if start <= offset)


def test_docx_paragraphs_runs_tables_and_title() -> None:
    data = formats.docx(
        ["Tides rise twice a day.", "The harbour master keeps the tables."],
        title="Harbour notes",
        heading="Tides",
    )
    doc = read_bytes("notes.docx", data)
    assert doc.type == "docx" and doc.title == "Harbour notes"
    assert doc.text.split("\n\n") == [
        "Tides",
        "Tides rise twice a day.",
        "The harbour master keeps the tables.",
        "Cell one",
        "Cell two",
    ]
    assert doc.page_starts is None
    untitled = read_bytes("notes.docx", formats.docx(["Some text here."], heading="First heading"))
    assert untitled.title == "First heading"


def test_pptx_slides_are_pages_in_presentation_order() -> None:
    data = formats.pptx([["Opening", "Why tides matter"], ["Moon", "Gravity pulls water"]])
    doc = read_bytes("talk.pptx", data)
    assert doc.type == "pptx" and doc.title == "Opening"
    assert page_of(doc, "Why tides matter") == 1
    assert page_of(doc, "Gravity pulls water") == 2


def test_odt_and_odp() -> None:
    doc = read_bytes("a.odt", formats.odt(["Bread rises with yeast."], heading="Baking"))
    assert doc.type == "odt" and doc.title == "Baking"
    assert doc.text.split("\n\n") == ["Baking", "Bread rises with yeast."]
    slides = read_bytes("b.odp", formats.odp([["One"], ["Two", "Knead the dough"]], title="Deck"))
    assert slides.title == "Deck" and page_of(slides, "Knead the dough") == 2


def test_epub_chapters_in_spine_order() -> None:
    data = formats.epub(["The voyage begins at dawn.", "Storms at sea."], title="A Voyage")
    doc = read_bytes("book.epub", data)
    assert doc.type == "epub" and doc.title == "A Voyage"
    assert page_of(doc, "The voyage begins") == 1 and page_of(doc, "Storms at sea") == 2
    assert "Chapter 2" in doc.text


def test_eml_headers_body_and_readable_attachment() -> None:
    attachment = ("minutes.docx", formats.docx(["Agreed to repaint the lighthouse."]))
    data = formats.eml("Harbour meeting", "See the minutes attached.", attachment=attachment)
    doc = read_bytes("mail.eml", data)
    assert doc.type == "email" and doc.title == "Harbour meeting"
    assert "From: Ada <ada@example.org>" in doc.text
    assert "See the minutes attached." in doc.text
    assert "Attachment: minutes.docx" in doc.text
    assert "repaint the lighthouse" in doc.text


def test_eml_html_only_body_is_read_as_html() -> None:
    message = formats.eml("Note", "", html="<p>Tea is <b>best</b> fresh.</p>")
    assert "Tea is best fresh." in read_bytes("m.eml", message).text


def test_mbox_messages_are_pages_and_from_lines_unquoted() -> None:
    first = formats.eml("First", "Hello there.\nFrom here on, all is well.")
    second = formats.eml("Second", "The ferry leaves at noon.")
    doc = read_bytes("box.mbox", formats.mbox([first, second]))
    assert doc.type == "mbox" and doc.title == "First"
    assert page_of(doc, "The ferry leaves at noon.") == 2
    assert "From here on, all is well." in doc.text and ">From" not in doc.text


def test_notebook_cells_are_pages_outputs_left_out() -> None:
    data = formats.notebook(
        [("markdown", "# Analysis\n\nWe count *the* birds."), ("code", "birds = count()\n")]
    )
    doc = read_bytes("n.ipynb", data)
    assert doc.type == "notebook" and doc.title == "Analysis"
    assert page_of(doc, "We count the birds.") == 1 and page_of(doc, "birds = count()") == 2
    assert "OUTPUTWORD" not in doc.text


def test_csv_rows_are_named_by_the_header_and_mapped_to_their_lines() -> None:
    data = formats.table([["name", "habitat"], ["puffin", "sea cliffs"], ["heron", "rivers"]])
    doc = read_bytes("birds.csv", data)
    lines = doc.text.split("\n")
    assert lines == ["name: puffin; habitat: sea cliffs", "", "name: heron; habitat: rivers"]
    assert doc.line_map is not None
    assert doc.line_map[0] == 2 and doc.line_map[2] == 3
    tsv = read_bytes("b.tsv", formats.table([["a", "b"], ["x y", "z"]], delimiter="\t"))
    assert tsv.text == "a: x y; b: z"


@pytest.mark.parametrize("name", ["x.docx", "x.pptx", "x.odt", "x.odp", "x.epub"])
def test_a_broken_container_is_unreadable_not_a_traceback(name: str) -> None:
    with pytest.raises(UnreadableDocument, match="zip"):
        read_bytes(name, b"this is not a zip file at all")


def test_a_zip_without_the_main_part_says_what_is_missing() -> None:
    with pytest.raises(UnreadableDocument, match="word/document.xml is missing"):
        read_bytes("x.docx", formats.pptx([["only slides"]]))


def test_a_notebook_that_is_not_json_is_unreadable() -> None:
    with pytest.raises(UnreadableDocument, match="not a notebook"):
        read_bytes("x.ipynb", b"{not json")


WORDS = st.text(alphabet=string.ascii_letters + "éü", min_size=1, max_size=12)
PARAGRAPHS = st.lists(st.lists(WORDS, min_size=2, max_size=8).map(" ".join), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None)
@given(PARAGRAPHS)
def test_every_paragraph_comes_back_whole_from_docx_and_odt(paragraphs: list[str]) -> None:
    for name, data in (("p.docx", formats.docx(paragraphs)), ("p.odt", formats.odt(paragraphs))):
        blocks = read_bytes(name, data).text.split("\n\n")
        assert blocks[: len(paragraphs)] == paragraphs


@settings(max_examples=40, deadline=None)
@given(st.lists(PARAGRAPHS, min_size=1, max_size=5))
def test_each_slide_lands_on_its_own_page(slides: list[list[str]]) -> None:
    doc = read_bytes("s.pptx", formats.pptx(slides))
    assert doc.page_starts is not None and len(doc.page_starts) == len(slides)
    for number, paragraphs in enumerate(slides, 1):
        start = doc.page_starts[number - 1]
        end = doc.page_starts[number] if number < len(slides) else len(doc.text)
        assert doc.text[start:end].strip("\n").split("\n\n") == paragraphs


SAMPLES = {
    "x.docx": formats.docx(["Tides rise.", "Ships wait."], title="T", heading="H"),
    "x.pptx": formats.pptx([["One", "Two"], ["Three"]]),
    "x.odt": formats.odt(["Tides rise.", "Ships wait."], heading="H"),
    "x.odp": formats.odp([["One"], ["Two"]]),
    "x.epub": formats.epub(["Tides rise.", "Ships wait."], title="Book"),
    "x.eml": formats.eml("S", "Body text.", attachment=("a.txt", b"Attached words.")),
    "x.mbox": formats.mbox([formats.eml("A", "First."), formats.eml("B", "Second.")]),
    "x.ipynb": formats.notebook([("markdown", "# T\n\nText."), ("code", "x = 1")]),
    "x.csv": formats.table([["a", "b"], ["1", "2"]]),
}


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(SAMPLES)),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=255),
    st.booleans(),
)
def test_damaged_files_give_a_document_or_unreadable_document(
    name: str, position: int, byte: int, truncate: bool
) -> None:
    data = SAMPLES[name]
    cut = position % max(1, len(data))
    damaged = data[:cut] if truncate else data[:cut] + bytes([byte]) + data[cut + 1 :]
    try:
        doc = read_bytes(name, damaged)
    except UnreadableDocument as exc:
        assert exc.reason
    else:
        assert doc.text.strip()
