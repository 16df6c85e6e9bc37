"""docsearch deletes only what it created and never mixes its index with a user's files."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from docsearch import DocSearch
from docsearch.cli import cli
from indexer import Index, NotAnIndex

TIDES = "Tides rise twice a day."


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_rebuild_of_an_index_inside_the_documents_keeps_the_documents(tmp_path: Path) -> None:
    docs = tmp_path / "d"
    docs.mkdir()
    index = docs / "index"
    (docs / "a.txt").write_text(TIDES)
    assert run("ingest", "--index", str(index), str(docs)).exit_code == 0
    result = run("ingest", "--index", str(index), "--rebuild", str(docs))
    assert result.exit_code == 0, result.stderr
    assert (docs / "a.txt").read_text() == TIDES
    info = json.loads(run("status", "--index", str(index), "--json").stdout)
    assert info["documents"] == 1  # the index's own files were not ingested


def test_index_in_a_folder_of_documents_is_refused_with_exit_2(tmp_path: Path) -> None:
    docs = tmp_path / "d"
    docs.mkdir()
    (docs / "a.txt").write_text(TIDES)
    result = run("ingest", "--index", str(docs), str(docs))
    assert result.exit_code == 2
    assert "not a docsearch index" in result.stderr and "a.txt" in result.stderr
    assert sorted(p.name for p in docs.iterdir()) == ["a.txt"]  # nothing created there


def test_rebuild_never_deletes_a_folder_that_is_not_an_index(tmp_path: Path) -> None:
    docs = tmp_path / "d"
    docs.mkdir()
    (docs / "a.txt").write_text(TIDES)
    result = run("ingest", "--index", str(docs), "--rebuild", str(docs))
    assert result.exit_code == 2
    assert (docs / "a.txt").read_text() == TIDES


def test_rebuild_deletes_only_its_own_files_beside_a_users_file(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "a.txt").write_text(TIDES)
    DocSearch(index).ingest([docs])
    mine = index / "notes.txt"
    mine.write_text("my own file, put here after the index was made")
    try:
        DocSearch(index).rebuild()
    except NotAnIndex as error:
        assert "notes.txt" in str(error)
    else:
        raise AssertionError("rebuild went ahead in a folder holding a user's file")
    assert mine.read_text().startswith("my own file")
    assert Index.exists(index)  # the index was left whole, not half deleted


def test_rebuild_removes_every_index_file_and_starts_empty(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "a.txt").write_text(TIDES)
    DocSearch(index).ingest([docs])
    DocSearch(index).rebuild()
    assert not Index.exists(index)
    assert [p.name for p in index.iterdir()] == ["write.lock"]
    report = DocSearch(index).ingest([docs])
    assert report.added == 1


def test_an_empty_folder_may_become_an_index(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    index.mkdir()
    (docs / "a.txt").write_text(TIDES)
    assert DocSearch(index).ingest([docs]).added == 1


def test_an_empty_file_is_passed_by_not_a_failure(tmp_path: Path) -> None:
    docs = tmp_path / "d"
    docs.mkdir()
    (docs / "a.txt").write_text(TIDES)
    (docs / "placeholder.txt").write_text("")
    result = run("ingest", "--index", str(tmp_path / "index"), str(docs), "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["added"] == 1 and report["failed"] == []
    assert [Path(p).name for p in report["empty"]] == ["placeholder.txt"]
    assert "1 empty" in result.stderr
    # A document that became empty loses its old text from the index.
    (docs / "a.txt").write_text("")
    again = json.loads(
        run("ingest", "--index", str(tmp_path / "index"), str(docs), "--json").stdout
    )
    assert again["removed"] == 1 and len(again["empty"]) == 2
