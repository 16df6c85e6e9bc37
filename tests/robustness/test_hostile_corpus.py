"""Hostile files through the real CLI: each bad file is named once with its reason, the rest is
ingested, nothing already indexed is lost, and the exit status is 1.

Ingest uses the tiny test model to stay fast. With it, a 20 MB single-line file would take
minutes to *encode* (about 60 000 windows per MB), so the default run ingests a 256 KB single
line, reads and splits a 20 MB one without encoding it, and the 5 MB ingest is marked slow.
"""

from __future__ import annotations

import builtins
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from docsearch import documents, ingest
from docsearch.cli import cli
from docsearch.documents import read_file
from docsearch.ingest import printable_path
from docsearch.splitting import split_document
from indexer import Index
from tests.robustness.corpus import (
    BAD_UTF8_WORD,
    CP1252_WORD,
    ODD_NAME_WORD,
    UTF16_BE_WORD,
    UTF16_LE_WORD,
    build_hostile_corpus,
    long_line,
)

LONG_LINE_BYTES = 256 * 1024
PREVIOUS_TEXT = "The ferry crosses the fjord at dawn, loaded with bicycles."


def cli_run(*args: str) -> Result:
    """Run the CLI; an unexpected exception is a bug and fails the test with its traceback."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def indexed_paths(index: Path) -> dict[str, str]:
    """path -> sha256 of every indexed document."""
    with Index.open(index) as opened:
        return {doc.path: doc.sha256 for doc in opened.documents()}


def lexical_hits(index: Path, text: str, context: int = 1) -> list[dict[str, Any]]:
    result = cli_run(
        "query",
        text,
        "--index",
        str(index),
        "--mode",
        "lexical",
        "--json",
        "-k",
        "50",
        "--context",
        str(context),
    )
    assert result.exit_code == 0, result.stderr
    hits: list[dict[str, Any]] = json.loads(result.stdout)
    return hits


def test_hostile_corpus_fails_file_by_file_and_keeps_everything_else(
    sample_docs: Path, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = build_hostile_corpus(tmp_path / "docs", long_line_bytes=LONG_LINE_BYTES)
    index = tmp_path / "index"
    model = ("--index", str(index), "--model", str(tiny_model_dir))

    # Already in the index: a folder elsewhere and a file that is damaged before the next run.
    history = shutil.copytree(sample_docs / "history", tmp_path / "history")
    was_good = corpus.root / "was_good.txt"
    was_good.write_text(PREVIOUS_TEXT + "\n")
    first = cli_run("ingest", str(history), str(was_good), *model)
    assert first.exit_code == 0, first.stderr
    before = indexed_paths(index)
    assert str(was_good) in before and len(before) == 5
    was_good.write_bytes(bytes(range(256)) * 16)
    bad = {**corpus.bad, was_good: "binary"}

    # Root reads every file, so "permission denied" is simulated where the reader opens files;
    # a file that vanishes is deleted for real between listing and reading.
    unreadable = corpus.root / "secret.txt"
    unreadable.write_text("Nobody may read this file.\n")
    vanishing = corpus.root / "vanishing.md"
    vanishing.write_text("# Soon gone\n\nThis file is deleted before it is read.\n")
    bad[unreadable], bad[vanishing] = "permission denied", "vanished"

    def guarded_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if os.fspath(file) == str(unreadable):
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *args, **kwargs)

    def find_then_delete(paths: Any, exclude: Any = ()) -> Any:
        listing = documents.find_files(paths, exclude)
        assert vanishing in listing.files
        vanishing.unlink()
        return listing

    monkeypatch.setattr(documents, "open", guarded_open, raising=False)
    monkeypatch.setattr(ingest, "find_files", find_then_delete)
    started = time.monotonic()
    result = cli_run("ingest", str(corpus.root), *model, "--json")
    seconds = time.monotonic() - started
    monkeypatch.setattr(ingest, "find_files", documents.find_files)

    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.stderr
    for path, reason in bad.items():
        name = printable_path(path)
        named = [line for line in result.stderr.splitlines() if name + ":" in line]
        assert len(named) == 1 and result.stderr.count(name) == 1, (name, result.stderr)
        assert reason.lower() in named[0].lower(), named[0]
    for path in corpus.good:  # named only if its encoding had to be guessed (issue 18)
        named = [line for line in result.stderr.splitlines() if str(path) in line]
        assert all(line.startswith("WARNING: ") and "UTF-8" in line for line in named), named
    summary = json.loads(result.stdout)
    assert {item["path"] for item in summary["failed"]} == {printable_path(p) for p in bad}
    assert summary["added"] == len(corpus.good) and summary["skipped"] == []
    # Empty files are passed by and counted, not failures (issue 16, item 3).
    assert summary["empty"] == sorted(printable_path(p) for p in corpus.empty)
    assert f"{len(corpus.empty)} empty" in result.stderr
    assert not any("empty.txt" in item["path"] for item in summary["failed"])
    assert f"{len(bad)} failed" in result.stderr
    assert seconds < 60, f"the hostile ingest took {seconds:.0f} s"

    after = indexed_paths(index)
    assert after == {**before, **{str(p): after[str(p)] for p in corpus.good}}
    assert after[str(was_good)] == before[str(was_good)]  # the damaged file kept its old version
    assert lexical_hits(index, "fjord bicycles")[0]["path"] == str(was_good)

    # Every text encoding was decoded, not mangled.
    for word, name in [
        (UTF16_LE_WORD, "utf16_le.txt"),
        (UTF16_BE_WORD, "utf16_be.txt"),
        (BAD_UTF8_WORD, "bad_utf8.txt"),
        (ODD_NAME_WORD, "ünïcödé 文档.md"),
    ]:
        hits = lexical_hits(index, word)
        assert [Path(h["path"]).name for h in hits] == [name] and word in hits[0]["text"]
    # The tiny model cuts this sentence into windows; together they hold the decoded text.
    cp1252 = " ".join(
        " ".join([*h["before"], h["text"], *h["after"]])
        for h in lexical_hits(index, f"{CP1252_WORD} smart café", context=10)
    )
    assert all(part in cp1252 for part in (CP1252_WORD, "“smart”", "café – 5 €"))
    assert any(
        h["path"] == str(corpus.root / "new\nline.txt") for h in lexical_hits(index, "POSIX")
    )
    # The PDF encrypted with an empty user password is read like its plain copy.
    open_pdf = [h for h in lexical_hits(index, "gravitational waves") if h["path"].endswith(".pdf")]
    assert {Path(h["path"]).name for h in open_pdf} == {"black_holes.pdf", "open.pdf"}

    # Running it again changes nothing and reports the same failures.
    again = cli_run("ingest", str(corpus.root), *model, "--json")
    assert again.exit_code == 1
    repeat = json.loads(again.stdout)
    assert repeat["added"] == repeat["updated"] == repeat["removed"] == 0
    still_bad = {printable_path(p) for p in bad if p != vanishing}  # gone: no longer listed
    assert {item["path"] for item in repeat["failed"]} == still_bad
    assert indexed_paths(index) == after


def test_a_20_mb_single_line_is_read_and_split_in_bounded_pieces(tmp_path: Path) -> None:
    path = tmp_path / "one_line.txt"
    path.write_bytes(long_line(20_000_000))
    started = time.monotonic()
    document = read_file(path)
    sentences = split_document(document)
    assert time.monotonic() - started < 30
    assert "\n" not in document.text and len(document.text) > 19_000_000
    assert len(sentences) > 300_000 and max(len(s.text) for s in sentences) < 1000
    assert all(s.line == 1 for s in sentences[:: len(sentences) // 10])


@pytest.mark.slow
def test_a_5_mb_single_line_file_is_ingested(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "one_line.txt").write_bytes(long_line(5_000_000))
    result = cli_run(
        "ingest", str(tmp_path / "docs"), "--index", str(tmp_path / "index"),
        "--model", str(tiny_model_dir),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "1 added" in result.stderr
