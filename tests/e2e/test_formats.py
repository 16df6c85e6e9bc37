"""Every format docsearch reads, ingested from real files through the CLI, each found by a
query about its content on the right page, slide, chapter, message or cell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import formats
from tests.e2e.test_cli import run
from tests.unit.test_documents import report_pdf

# file -> (its bytes, a query about one part of it, the page that part is on or None)
FILES = {
    "plain.txt": (
        b"Sourdough starter needs flour and water every day.\n",
        "feeding sourdough",
        None,
    ),
    "guide.md": (
        b"# Kites\n\nKites need steady wind to stay aloft.\n",
        "what keeps kites up",
        None,
    ),
    "manual.rst": (
        b"Compost\n=======\n\nWorms turn kitchen scraps into compost.\n",
        "worms making compost",
        None,
    ),
    "page.html": (
        b"<html><body><h1>Bells</h1><p>Church bells are cast from bronze.</p></body></html>",
        "what are bells made of",
        None,
    ),
    "annual.pdf": (report_pdf(), "staff numbers rose", 2),
    "report.docx": (
        formats.docx(["Quarterly sales of umbrellas doubled during the monsoon season."]),
        "umbrella sales in the monsoon",
        None,
    ),
    "talk.pptx": (
        formats.pptx([["Welcome"], ["Glaciers retreat as summers grow warmer."]]),
        "why glaciers are retreating",
        2,
    ),
    "essay.odt": (
        formats.odt(["Bees communicate the location of flowers by dancing."]),
        "how bees tell where flowers are",
        None,
    ),
    "slides.odp": (
        formats.odp([["Intro"], ["Agenda"], ["Volcanoes erupt when magma pressure builds."]]),
        "what makes volcanoes erupt",
        3,
    ),
    "book.epub": (
        formats.epub(["The lighthouse keeper lit the lamp.", "Penguins huddle to keep warm."]),
        "penguins staying warm",
        2,
    ),
    "note.eml": (
        formats.eml("Chess club", "The chess tournament moves to Saturday afternoon."),
        "when is the chess tournament",
        None,
    ),
    "inbox.mbox": (
        formats.mbox(
            [
                formats.eml("Lunch", "Soup is served at noon."),
                formats.eml("Trains", "The railway strike cancels all trains on Monday."),
            ]
        ),
        "railway strike cancelled trains",
        2,
    ),
    "analysis.ipynb": (
        formats.notebook(
            [("markdown", "# Setup"), ("markdown", "Telescopes gather faint starlight at night.")]
        ),
        "telescopes collecting starlight",
        2,
    ),
    "birds.csv": (
        formats.table([["bird", "habitat"], ["puffin", "nests on steep sea cliffs"]]),
        "where do puffins nest",
        None,
    ),
    "trees.tsv": (
        formats.table([["tree", "fact"], ["baobab", "stores water in its trunk"]], "\t"),
        "baobab water storage trunk",
        None,
    ),
}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("formats") / "docs"
    folder.mkdir()
    for name, (data, _, _) in FILES.items():
        (folder / name).write_bytes(data)
    root = folder.parent / "index"
    result = run("ingest", str(folder), "--index", str(root))
    assert f"{len(FILES)} added" in result.stderr, result.stderr
    return root


@pytest.mark.parametrize("name", list(FILES))
def test_each_format_is_found_on_its_page(index: Path, name: str) -> None:
    _, query, page = FILES[name]
    hits = json.loads(run("query", query, "--index", str(index), "--json", "-k", "3").stdout)
    assert hits, query
    assert Path(hits[0]["path"]).name == name, [h["path"] for h in hits]
    assert hits[0]["page"] == page


def test_the_results_page_names_slides_and_messages(index: Path) -> None:
    out = run("query", "why glaciers are retreating", "--index", str(index), "-k", "1").stdout
    assert "talk.pptx slide 2:" in out
    out = run("query", "railway strike", "--index", str(index), "-k", "1").stdout
    assert "inbox.mbox msg 2:" in out
