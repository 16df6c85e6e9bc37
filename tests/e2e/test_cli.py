"""End to end through the real CLI (click's CliRunner) on sample_docs/, with the shipped model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from docsearch.cli import cli

TIDES = (
    "The Moon's gravity pulls the oceans toward it, raising a bulge of water on the side of Earth "
    "that faces it."
)
PAGE_TWO = (
    "In 2015 the LIGO detectors recorded gravitational waves from two black holes merging more "
    "than a billion light-years away."
)


def run(*args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=not ok)
    if ok:
        assert result.exit_code == 0, result.stderr
    return result


def status(index: Path) -> dict:
    return json.loads(run("status", "--index", str(index), "--json").stdout)


@pytest.fixture()
def docs(sample_docs: Path, tmp_path: Path) -> Path:
    """A private copy of sample_docs that a test may change."""
    target = tmp_path / "docs"
    shutil.copytree(sample_docs, target)
    return target


def test_every_command_has_help() -> None:
    for command in ([], *([name] for name in cli.commands)):  # every command, from the CLI
        result = run(*command, "--help")
        assert "Usage:" in result.stdout and len(result.stdout) > 200


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_verbatim_sentence_ranks_its_document_first(built_index: Path, mode: str) -> None:
    hits = json.loads(
        run("query", TIDES, "--index", str(built_index), "--mode", mode, "--json").stdout
    )
    assert hits[0]["path"].endswith("science/ocean_tides_and_the_moon.md")
    assert hits[0]["text"] == TIDES
    assert {"path", "score", "text", "page", "line"} <= set(hits[0])
    assert hits[0]["page"] is None
    if mode == "dense":  # what the library gives (see test_search_returns_hits_with_context)
        from docsearch import DocSearch

        with DocSearch(built_index) as ds:
            expected = ds.search(TIDES, k=1, mode="dense")[0].score
        assert hits[0]["score"] == pytest.approx(expected, abs=1e-6)


def test_pdf_hits_carry_their_page(built_index: Path) -> None:
    hits = json.loads(
        run("query", PAGE_TWO, "--index", str(built_index), "--mode", "dense", "--json").stdout
    )
    assert hits[0]["path"].endswith("science/black_holes.pdf")
    assert hits[0]["page"] == 2
    assert hits[0]["text"] == PAGE_TWO


def test_table_output_shows_path_line_and_sentence(built_index: Path) -> None:
    out = run("query", TIDES, "--index", str(built_index), "-k", "2").stdout
    assert "ocean_tides_and_the_moon.md:" in out
    assert TIDES in out


def test_queries_file_gives_one_json_object_per_line_in_order(
    built_index: Path, tmp_path: Path
) -> None:
    queries = tmp_path / "q.txt"
    queries.write_text(f"{TIDES}\nhow do bees make honey?\n{PAGE_TWO}\n")
    lines = run(
        "query", "--queries-file", str(queries), "--index", str(built_index), "--json", "-k", "3"
    ).stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["query"] for r in rows] == [TIDES, "how do bees make honey?", PAGE_TWO]
    assert all(1 <= len(r["hits"]) <= 3 for r in rows)
    assert rows[2]["hits"][0]["page"] == 2


def test_filters_by_type_and_path(built_index: Path) -> None:
    hits = json.loads(
        run(
            "query",
            "stars and gravity",
            "--index",
            str(built_index),
            "--type",
            "pdf",
            "--json",
            "-k",
            "10",
        ).stdout
    )
    assert hits and all(h["type"] == "pdf" for h in hits)
    hits = json.loads(
        run(
            "query",
            "stars and gravity",
            "--index",
            str(built_index),
            "--path",
            "*/history/*",
            "--json",
        ).stdout
    )
    assert hits and all("/history/" in h["path"] for h in hits)


def test_ingest_is_incremental(docs: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    first = run("ingest", str(docs), "--index", str(index))
    assert "37 added" in first.stderr
    counts = status(index)
    assert counts["documents"] == 37 and counts["sentences"] > 500

    again = run("ingest", str(docs), "--index", str(index))
    assert "0 added, 0 updated, 37 unchanged" in again.stderr
    assert status(index) == counts

    tides = docs / "science" / "ocean_tides_and_the_moon.md"
    tides.write_text(tides.read_text() + "\nAxolotls regrow lost limbs within a few weeks.\n")
    (docs / "hobbies" / "knitting_basics.txt").unlink()
    changed = run("ingest", str(docs), "--index", str(index))
    assert "1 updated" in changed.stderr and "1 removed" in changed.stderr
    after = status(index)
    assert after["documents"] == 36

    hits = json.loads(
        run(
            "query",
            "Axolotls regrow lost limbs within a few weeks.",
            "--index",
            str(index),
            "--mode",
            "lexical",
            "--json",
        ).stdout
    )
    assert hits[0]["path"] == str(tides)
    gone = json.loads(
        run(
            "query", "knitting needles and yarn", "--index", str(index), "--json", "-k", "37"
        ).stdout
    )
    assert not any(h["path"].endswith("knitting_basics.txt") for h in gone)


def test_remove_deletes_a_document(index_copy: Path, sample_docs: Path) -> None:
    before = status(index_copy)
    tides = str(sample_docs / "science" / "ocean_tides_and_the_moon.md")
    run("remove", tides, "--index", str(index_copy))
    after = status(index_copy)
    assert after["documents"] == before["documents"] - 1
    hits = json.loads(run("query", TIDES, "--index", str(index_copy), "--json", "-k", "50").stdout)
    assert all(h["path"] != tides for h in hits)
    missing = run("remove", "/no/such/doc.txt", "--index", str(index_copy), ok=False)
    assert missing.exit_code == 1 and "not in the index" in missing.stderr


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    result = run("query", "anything", "--index", str(tmp_path / "nowhere"), ok=False)
    assert result.exit_code == 1
    assert "no index at" in result.stderr and "docsearch ingest" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_files_fail_alone_and_set_the_exit_status(docs: Path, tmp_path: Path) -> None:
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not really a pdf")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "image.png").write_bytes(b"\x89PNG\r\n")
    index = tmp_path / "index"
    result = run("ingest", str(docs), "--index", str(index), ok=False)
    assert result.exit_code == 1
    assert "broken.pdf" in result.stderr and "empty.txt" not in result.stderr
    assert "37 added" in result.stderr and "1 failed" in result.stderr
    assert "1 skipped" in result.stderr and "1 empty" in result.stderr  # empty: not a failure
    assert status(index)["documents"] == 37


def test_query_with_another_model_says_what_to_run(
    docs: Path, tmp_path: Path, tiny_model_dir: Path
) -> None:
    index = tmp_path / "index"
    run("ingest", str(docs / "science"), "--index", str(index), "--model", str(tiny_model_dir))
    result = run("query", "tides", "--index", str(index), "--mode", "dense", ok=False)
    assert result.exit_code == 1 and "tune --reset" in result.stderr
    assert "--rebuild" in result.stderr
    rebuilt = run("ingest", str(docs / "science"), "--index", str(index), "--rebuild")
    assert "added" in rebuilt.stderr
    run("query", "tides", "--index", str(index), "--mode", "dense")


@pytest.mark.parametrize("query", ["", "   ", "\x00\x01"])
def test_empty_queries_are_a_usage_error_not_a_traceback(built_index: Path, query: str) -> None:
    result = run("query", query, "--index", str(built_index), ok=False)
    assert result.exit_code == 1 and "empty" in result.stderr


def test_usage_errors_exit_2() -> None:
    assert run("query", ok=False).exit_code == 2
    assert run("query", "x", "--mode", "fuzzy", ok=False).exit_code == 2


def test_index_from_environment(
    docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCSEARCH_INDEX", str(tmp_path / "env-index"))
    run("ingest", str(docs / "history"))
    assert (tmp_path / "env-index" / "manifest.json").exists()
    hits = json.loads(run("query", "printing press", "--json").stdout)
    assert hits


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("DOCSEARCH_THREADS", "two", "DOCSEARCH_THREADS must be a whole number >= 0, got 'two'"),
        ("DOCSEARCH_THREADS", "-1", "DOCSEARCH_THREADS must be a whole number >= 0"),
        ("DOCSEARCH_DEVICE", "gpu", "'gpu' is not one of 'auto', 'cpu', 'cuda'"),
        ("DOCSEARCH_FAISS", "HNSW32", "unsupported FAISS factory 'HNSW32'"),
    ],
)
def test_a_bad_environment_variable_is_named_not_a_traceback(
    built_index: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, said: str
) -> None:
    monkeypatch.setenv(name, value)
    result = run("query", "tides", "--index", str(built_index), ok=False)
    # The device is also an option, so click checks it first: a usage error.
    assert result.exit_code == (2 if name == "DOCSEARCH_DEVICE" else 1)
    assert said in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_the_cli_module_imports_no_engine_and_no_server_package() -> None:
    import subprocess
    import sys

    heavy = ("faiss", "sqlalchemy", "torch", "fastapi", "uvicorn", "starlette", "mcp", "watchdog")
    code = f"import sys, docsearch.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    # Opening the library for a query reads no file format but text: no container readers.
    readers = ("docsearch.readers.pdf", "docsearch.readers.mail", "docsearch.readers.office")
    code = f"import sys, docsearch.api; print(sorted(m for m in {readers!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
