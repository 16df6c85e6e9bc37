"""Readers keep answering while another process writes, and never see half a commit.

A writer process ingests a folder with a commit every 100 sentences. Meanwhile reader threads
share one `DocSearch` object (lexical and dense searches, status) and a second reader process
runs `docsearch status` and `docsearch query` (through the CLI entry point) back to back.
Every commit ends at a document boundary, in listing order, so every state a reader may see is
"the first i new documents, whole": the counts it reports must be one of those.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from docsearch import DocSearch
from docsearch.cli import cli
from indexer import Index
from tests.robustness.children import child_env, docsearch_command

READER_THREADS = 3
ALREADY_INDEXED = ("history/the_silk_road.txt", "home/cheese_making.txt")
# What the writer adds: about 1 000 sentences with the tiny model, so about ten commits.
WRITTEN = (
    "science/ocean_tides_and_the_moon.md",
    "science/volcanoes.txt",
    "science/bird_migration.html",
    "science/black_holes.pdf",
    "tech/sqlite_transactions_and_wal.rst",
)
QUERIES = ("how do tides work", "volcanoes and magma", "write-ahead log")


# The second reader process: `docsearch status --json` and `docsearch query --json` through the
# real CLI entry point, over and over in one process (no start-up cost per call), until the stop
# file appears. Prints "status <documents> <sentences>" per status; any error ends it with exit 1.
READER_PROCESS = """
import contextlib, io, json, os, sys
from docsearch.cli import cli
index, model, stop = sys.argv[1:4]

def run(*args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli.main(list(args), prog_name="docsearch", standalone_mode=False)
    return json.loads(out.getvalue())

while not os.path.exists(stop):
    info = run("status", "--index", index, "--json")
    print("status", info["documents"], info["sentences"], flush=True)
    for mode in ("lexical", "dense", "hybrid"):
        hits = run("query", "how do tides work", "--index", index, "--model", model,
                   "--mode", mode, "--json", "-k", "3")
        assert all(hit["path"] and hit["text"] for hit in hits)
"""


def ingest(paths: list[Path], index: Path, model: Path) -> None:
    args = ["ingest", *map(str, paths), "--index", str(index), "--model", str(model)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr


@pytest.fixture()
def setup(sample_docs: Path, tiny_model_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(index already holding two documents, folder the writer will ingest)."""
    index = tmp_path / "index"
    first = []
    for relative in ALREADY_INDEXED:
        first.append(Path(shutil.copyfile(sample_docs / relative, tmp_path / Path(relative).name)))
    ingest(first, index, tiny_model_dir)
    folder = tmp_path / "new"
    folder.mkdir()
    for relative in WRITTEN:
        shutil.copyfile(sample_docs / relative, folder / Path(relative).name)
    return index, folder


def committed_states(index: Path, folder: Path) -> set[tuple[int, int]]:
    """(documents, sentences) after each possible commit of the writer, from the final index."""
    with Index.open(index) as opened:
        stored = opened.documents()
    old = [d for d in stored if not d.path.startswith(str(folder))]
    new = sorted((d for d in stored if d.path.startswith(str(folder))), key=lambda d: d.path)
    documents, sentences = len(old), sum(d.sentences for d in old)
    states = {(documents, sentences)}
    for doc in new:
        documents, sentences = documents + 1, sentences + doc.sentences
        states.add((documents, sentences))
    return states


def test_readers_never_fail_or_see_half_a_commit(
    setup: tuple[Path, Path], tiny_model_dir: Path, tmp_path: Path
) -> None:
    index, folder = setup
    env = child_env(tmp_path / "home")
    done = threading.Event()
    errors: list[str] = []
    seen: list[tuple[int, int]] = []
    searches = [0]
    ds = DocSearch(index, model=tiny_model_dir, wait_seconds=0)

    def read_in_thread(worker: int) -> None:
        try:
            while not done.is_set():
                info = ds.status()
                seen.append((info.documents, info.sentences))
                for mode in ("lexical", "dense", "hybrid"):
                    hits = ds.search(QUERIES[worker % len(QUERIES)], k=3, mode=mode)
                    assert all(hit.text and hit.path for hit in hits)
                    searches[0] += 1
                time.sleep(0.005)  # leave the writer some CPU on a small machine
        except Exception as exc:  # any error is a failure; record it for the assertion
            errors.append(f"thread {worker}: {type(exc).__name__}: {exc}")

    stop = tmp_path / "stop"
    reader_process = subprocess.Popen(
        [sys.executable, "-c", READER_PROCESS, str(index), str(tiny_model_dir), str(stop)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    readers = [threading.Thread(target=read_in_thread, args=(i,)) for i in range(READER_THREADS)]
    for reader in readers:
        reader.start()
    writer = subprocess.run(
        docsearch_command(
            "ingest", folder, "--index", index, "--model", tiny_model_dir, frequent_commits=True
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    time.sleep(0.2)  # let the readers see the final state too
    done.set()
    stop.touch()
    for reader in readers:
        reader.join(timeout=60)
    out, err = reader_process.communicate(timeout=60)
    assert reader_process.returncode == 0, err
    process_seen = [tuple(map(int, line.split()[1:])) for line in out.splitlines()]
    assert "Traceback" not in err and len(process_seen) >= 2, (out, err)

    assert writer.returncode == 0, writer.stderr
    assert not errors, errors[:5]
    states = committed_states(index, folder)
    assert len(states) == len(WRITTEN) + 1
    assert set(seen) <= states and set(process_seen) <= states, (sorted(states), set(seen))
    assert len(set(seen)) >= 2, "the reader threads never saw a commit happen"
    assert max(seen) == max(states) and searches[0] > 0
    ds.close()
