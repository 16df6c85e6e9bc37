"""Several hits per document, and fusion that keeps a weak keyword match weak (issue 14)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from fpdf import FPDF

from docsearch import DocSearch
from docsearch.cli import cli

# A handbook of a made-up network daemon: each page answers one question. Written for this test.
TOPICS = [
    (
        "Which address does the daemon use?",
        "The daemon answers on every network address of the machine unless the configuration "
        "names one. Ports below 1024 need administrator rights.",
    ),
    (
        "How do I rotate the log files?",
        "Send the daemon the hangup signal after moving the old log away. It then opens a fresh "
        "file and keeps writing.",
    ),
    (
        "Can two daemons share one machine?",
        "Yes, when each one keeps its state in its own folder and answers on its own address. "
        "The second one refuses to start otherwise.",
    ),
    (
        "What happens when the disk is full?",
        "Writes are refused with a clear error, reads go on, and the daemon resumes writing "
        "once space is freed.",
    ),
    (
        "How are passwords stored?",
        "Only salted hashes are kept, computed with a slow key derivation function, so a stolen "
        "file does not reveal them.",
    ),
    (
        "Why does the first request take longer?",
        "The first request loads the lookup tables from disk; later requests find them in "
        "memory and answer at once.",
    ),
    (
        "How do I let connections through the firewall?",
        "Open the firewall for incoming connections and forward them to the machine running "
        "the daemon; it stays closed otherwise.",
    ),
    (
        "Where is the configuration file?",
        "The daemon reads its settings from a plain text file in the etc folder, one setting "
        "per line, comments after a hash sign.",
    ),
    (
        "How do I upgrade without downtime?",
        "Start the new version beside the old one, move the traffic over, then stop the old "
        "one once it has drained.",
    ),
    (
        "What does error 42 mean?",
        "Error 42 means a client spoke an older protocol version; upgrading the client makes "
        "it go away.",
    ),
]


def handbook_pdf(path: Path, pages_per_topic: int = 2) -> None:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for repeat in range(pages_per_topic):
        for question, answer in TOPICS:
            pdf.add_page()
            pdf.multi_cell(0, 6, question, new_x="LMARGIN", new_y="NEXT")
            pdf.multi_cell(0, 6, answer + f" This is note {repeat + 1} on the subject.")
    pdf.output(str(path))


@pytest.fixture(scope="module")
def handbook_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("handbook")
    (root / "docs").mkdir()
    handbook_pdf(root / "docs" / "handbook.pdf", pages_per_topic=3)
    DocSearch(root / "index").ingest([root / "docs"])
    return root / "index"


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_a_one_document_index_gives_k_hits_from_different_places(
    handbook_index: Path, mode: str
) -> None:
    hits = DocSearch(handbook_index).search(
        "how do I open the firewall for connections", k=4, mode=mode, per_document=4
    )
    assert len(hits) == 4
    assert all(h.path.endswith("handbook.pdf") and h.page is not None for h in hits)
    ids = sorted(h.sentence_id for h in hits)
    assert all(b - a > 1 for a, b in zip(ids, ids[1:], strict=False))  # different places
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_per_doc_on_the_cli_and_json_fields_unchanged(handbook_index: Path) -> None:
    args = ["query", "daemon", "--index", str(handbook_index), "-k", "5", "--json"]
    hits = json.loads(CliRunner().invoke(cli, args).stdout)
    assert len(hits) == 3  # the CLI default shows at most 3 places of one document
    assert all(set(h) >= {"path", "page", "line", "score", "text", "before", "after"} for h in hits)
    more = json.loads(CliRunner().invoke(cli, [*args, "--per-doc", "5"]).stdout)
    assert len(more) == 5 and len({h["page"] for h in more}) >= 3


def test_per_document_caps_hits_of_each_document(built_index: Path) -> None:
    ds = DocSearch(built_index)
    for cap in (1, 2):
        hits = ds.search("how does water move around the planet", k=10, per_document=cap)
        assert max(Counter(h.path for h in hits).values()) <= cap
    assert len({h.path for h in ds.search("water", k=6, per_document=1)}) == 6


def test_min_score_drops_weak_hits(built_index: Path) -> None:
    ds = DocSearch(built_index)
    hits = ds.search("tides and the moon", k=10, mode="dense")
    cut = hits[2].score
    kept = ds.search("tides and the moon", k=10, mode="dense", min_score=cut)
    assert kept == [h for h in hits if h.score >= cut] and len(kept) >= 3


HARBOUR = (
    "The harbour master keeps the tide tables for the estuary. Ships wait for high water "
    "before entering the narrow channel, and the pilot boards them at the outer buoy."
)
GARDEN = "Roses want sun for most of the day and a deep watering once a week in summer."


def test_a_paraphrase_outranks_a_weak_keyword_match(tmp_path: Path) -> None:
    docs = tmp_path / "library"
    docs.mkdir()
    (docs / "harbour.txt").write_text(HARBOUR + "\n")
    (docs / "garden.txt").write_text(GARDEN + "\n")
    handbook_pdf(docs / "daemon-faq.pdf", pages_per_topic=3)  # mentions ports, 30 pages
    ds = DocSearch(tmp_path / "index")
    ds.ingest([docs])
    query = "when can boats come into port"
    assert ds.search(query, mode="dense", per_document=1)[0].path.endswith("harbour.txt")
    # The FAQ's keyword match ("ports") reaches 0.06 of the query's ceiling: a weak match, so
    # the dense side's weight rises towards NO_MATCH_DENSE_WEIGHT and the closer meaning wins.
    hybrid = ds.search(query, per_document=1)
    assert hybrid[0].path.endswith("harbour.txt"), [(h.path, h.score) for h in hybrid]
