"""The rough edges a new user hit (issue 18), each through the real CLI on a real index."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from docsearch import DocSearch
from docsearch.cli import _Progress, cli
from indexer.layout import WriteLock


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture()
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    (root / "home").mkdir(parents=True)
    (root / "sea").mkdir()
    (root / "home" / "bread.txt").write_text("Sourdough bread rises slowly in a cool kitchen.\n")
    (root / "home" / "tea.md").write_text("# Tea\n\nGreen tea is steeped at a lower temperature.\n")
    (root / "sea" / "tides.txt").write_text("Tides rise twice a day because of the Moon.\n")
    (root / "sea" / "report.xlsx").write_bytes(b"PK\x03\x04 not read")
    (root / "sea" / "book.mobi").write_bytes(b"PK\x03\x04 not read")
    (root / "sea" / "notes.xlsx").write_bytes(b"PK\x03\x04 not read")
    return root


@pytest.fixture()
def index(docs: Path, tmp_path: Path) -> Path:
    root = tmp_path / "index"
    result = run("ingest", "--index", str(root), str(docs))
    assert result.exit_code == 0, result.stderr
    return root


def test_queries_file_that_is_not_utf8_is_a_one_line_error(index: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.txt"
    queries.write_bytes(b"tides\nbr\xfcckenbau\n")
    result = run("query", "--index", str(index), "--queries-file", str(queries), "--json")
    assert result.exit_code == 2
    assert "not UTF-8" in result.stderr and "line 2" in result.stderr
    assert "Traceback" not in result.stderr


def test_queries_file_with_bom_and_crlf_reads(index: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.txt"
    queries.write_bytes("\ufefftides\r\nbread\r\n".encode())
    result = run("query", "--index", str(index), "--queries-file", str(queries), "--json")
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["query"] for line in result.stdout.splitlines()] == ["tides", "bread"]


def test_list_shows_documents_and_filters_by_folder_and_glob(index: Path, docs: Path) -> None:
    listed = json.loads(run("list", "--index", str(index), "--json").stdout)
    assert [Path(d["path"]).name for d in listed] == ["bread.txt", "tea.md", "tides.txt"]
    assert {"path", "type", "sentences", "pages", "size", "added", "title"} <= set(listed[0])
    assert all(d["sentences"] >= 1 and d["pages"] is None for d in listed)
    under = json.loads(run("list", str(docs / "sea"), "--index", str(index), "--json").stdout)
    assert [Path(d["path"]).name for d in under] == ["tides.txt"]
    globbed = json.loads(run("list", "*.md", "--index", str(index), "--json").stdout)
    assert [Path(d["path"]).name for d in globbed] == ["tea.md"]
    table = run("list", "--index", str(index))
    assert "tides.txt" in table.stdout and "3 documents" in table.stderr


def test_list_shows_pages_of_a_pdf(built_index: Path) -> None:
    listed = json.loads(run("list", "*.pdf", "--index", str(built_index), "--json").stdout)
    assert listed and all(d["type"] == "pdf" and d["pages"] >= 1 for d in listed)


def test_remove_takes_folders_and_globs(index: Path, docs: Path) -> None:
    result = run("remove", str(docs / "home"), "--index", str(index))
    assert result.exit_code == 0, result.stderr
    assert "removed 2 documents" in result.stderr
    result = run("remove", "*/tides.txt", "--index", str(index))
    assert result.exit_code == 0, result.stderr
    assert json.loads(run("list", "--index", str(index), "--json").stdout) == []


def test_remove_of_something_not_indexed_names_it_and_points_to_list(index: Path) -> None:
    result = run("remove", "nowhere/", "--index", str(index))
    assert result.exit_code == 1
    assert "nowhere/" in result.stderr and "docsearch list" in result.stderr


def test_path_glob_matches_the_path_as_shown(
    index: Path, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(docs.parent)
    for glob in ("docs/sea/*", "./docs/sea/*", f"{docs}/sea/*"):
        result = run("query", "tides", "--index", str(index), "--path", glob, "--json")
        assert [Path(h["path"]).name for h in json.loads(result.stdout)] == ["tides.txt"], glob


def test_skipped_files_are_counted_per_type_and_named_with_v(index: Path, docs: Path) -> None:
    result = run("ingest", "--index", str(index), str(docs))
    assert "3 skipped (unsupported type: 2 .xlsx, 1 .mobi" in result.stderr
    assert "report.xlsx" not in result.stderr
    verbose = run("ingest", "-v", "--index", str(index), str(docs))
    assert "report.xlsx" in verbose.stderr and "book.mobi" in verbose.stderr


def test_quiet_and_verbose_work_after_the_subcommand(index: Path, docs: Path) -> None:
    quiet = run("ingest", "-q", "--index", str(index), str(docs))
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stderr == ""
    assert run("status", "-q", "--index", str(index)).exit_code == 0


def test_status_shows_the_absolute_path_and_a_human_size(
    index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(index.parent)
    out = run("status", "--index", "index").stdout
    assert f"index: {index}" in out
    assert "disk: " in out and ("KiB" in out or "MiB" in out)
    info = json.loads(run("status", "--index", "index", "--json").stdout)
    assert info["index"] == str(index) and isinstance(info["disk_bytes"], int)


def test_a_waiting_writer_says_for_whom(
    index: Path, docs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lock = WriteLock(index / "write.lock")
    lock.acquire()
    try:
        with caplog.at_level(logging.INFO, logger="indexer"):
            with pytest.raises(Exception, match="being written by"):
                DocSearch(index, wait_seconds=0.3).ingest([docs])
    finally:
        lock.release()
    waiting = [r.getMessage() for r in caplog.records if "waiting" in r.getMessage()]
    assert len(waiting) == 1 and "another writer in this process" in waiting[0]
    assert str(index) in waiting[0]


def test_progress_goes_to_stderr_as_lines_when_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    progress = _Progress(every_seconds=0)
    progress.update(1, 4)
    progress.encoded(4096)
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1].startswith("ingesting: 1/4 files read, 4,096 sentences encoded")
    quiet = _Progress(quiet=True, every_seconds=0)
    quiet.update(1, 4)
    assert capsys.readouterr().err == ""


def test_a_large_document_is_written_in_parts_like_a_small_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path
) -> None:
    import numpy as np

    from docsearch import ingest

    folder = tmp_path / "big"
    folder.mkdir()
    words = ["tide", "moon", "bread", "yeast", "river", "stone", "cloud", "wheel"]
    sentences = [
        f"The {words[i % 8]} number {i} rests near {words[(i * 3) % 8]}." for i in range(300)
    ]
    (folder / "big.txt").write_text(" ".join(sentences))
    whole = DocSearch(tmp_path / "whole", model=tiny_model_dir)
    whole.ingest([folder])
    monkeypatch.setattr(ingest, "ENCODE_CHUNK", 64)
    parts = DocSearch(tmp_path / "parts", model=tiny_model_dir)
    parts.ingest([folder])
    a, b = whole._open(create=False), parts._open(create=False)
    ids_a, ids_b = a.filter(types=["text"]), b.filter(types=["text"])
    assert ids_a is not None and ids_b is not None and len(ids_b[1]) == len(ids_a[1]) >= 300
    rows_a, rows_b = a.sentences(ids_a[1]), b.sentences(ids_b[1])
    assert [r.text for r in rows_a.values()] == [r.text for r in rows_b.values()]
    assert [r.ordinal for r in rows_b.values()] == list(range(len(rows_b)))
    assert np.array_equal(np.diff(ids_b[1]), np.ones(len(ids_b[1]) - 1))  # consecutive ids
    query = "number 123 rests"
    for mode in ("lexical", "dense"):  # the tiny model is untrained: hybrid means little
        assert whole.search(query, mode=mode)[0].text == parts.search(query, mode=mode)[0].text


def test_a_heading_in_the_context_does_not_run_into_the_next_sentence(built_index: Path) -> None:
    query = "In 2015 the LIGO detectors recorded gravitational waves from two black holes"
    out = run("query", query, "--index", str(built_index), "-k", "1", "--context", "2").stdout
    assert "near the horizon — Close to a black hole" in out
    assert "light-years away. Time and tides" in out
