"""Fault injection with real processes: `docsearch ingest` killed with SIGKILL at several points.

Each kill point is a state of the index directory that the test waits for (polling every
millisecond), then it kills the child. Whatever state the kill leaves, the index must either be
absent (a clear "no index" / "incomplete" error) or open with consistent counts, hold only whole
documents, answer queries, and a re-run must reach exactly the state of an uninterrupted run.

A plain `python -m docsearch ingest` commits once, at the end (it checkpoints every
CHECKPOINT_SENTENCES sentences), so killing it loses the run but must never corrupt. The
"frequent" children lower the checkpoint interval so that one run commits many times and kills
land between and inside commits.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from docsearch.cli import cli
from indexer import Index
from tests.robustness.children import child_env, docsearch_command

# One file of every format; with the tiny model about 1 000 sentences.
CORPUS = (
    "science/ocean_tides_and_the_moon.md",
    "science/volcanoes.txt",
    "science/bird_migration.html",
    "science/black_holes.pdf",
    "tech/sqlite_transactions_and_wal.rst",
)


def cli_run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def generations(root: Path) -> list[int]:
    """Generations of the vector files present in `root`."""
    names = os.listdir(root) if root.is_dir() else []
    return [
        int(name.split(".")[1])
        for name in names
        if name.startswith("vectors.") and name.endswith(".faiss") and name.split(".")[1].isdigit()
    ]


def temp_files(root: Path) -> list[str]:
    """Names of the temporary files (`.<target>.<pid>.<random>.tmp`) in `root`."""
    return [n for n in os.listdir(root) if n.endswith(".tmp")] if root.is_dir() else []


def writing(prefix: str, *, committed: int = 0) -> Callable[[Path], bool]:
    """True while a temporary file for a target starting with `prefix` is being written, after
    at least `committed` commits."""

    def ready(root: Path) -> bool:
        return max(generations(root), default=0) >= committed and any(
            name.startswith("." + prefix) for name in temp_files(root)
        )

    return ready


def manifest_exists(root: Path) -> bool:
    return (root / "manifest.json").exists()


@dataclass(frozen=True)
class KillPoint:
    """Kill the child `delay` seconds after `ready(index dir)` first holds."""

    name: str
    ready: Callable[[Path], bool]
    delay: float = 0.0
    frequent: bool = False


KILL_POINTS = [
    KillPoint("at-once", lambda root: True),
    KillPoint("index-folder-appears", lambda root: root.exists()),
    KillPoint("database-file-appears", lambda root: (root / "index.sqlite3").exists()),
    KillPoint("index-created", manifest_exists),
    KillPoint("index-created+0.3s", manifest_exists, 0.3),
    KillPoint("index-created+0.8s", manifest_exists, 0.8),
    KillPoint("writing-a-commit's-vector-file", writing("vectors.", committed=1), frequent=True),
    KillPoint("writing-a-commit's-postings-file", writing("lexical.", committed=1), frequent=True),
    KillPoint(
        "writing-the-manifest-after-a-commit", writing("manifest", committed=2), frequent=True
    ),
    KillPoint(
        "after-2-commits", lambda root: max(generations(root), default=0) >= 2, frequent=True
    ),
    KillPoint(
        "after-5-commits+10ms",
        lambda root: max(generations(root), default=0) >= 5,
        0.01,
        frequent=True,
    ),
]


@dataclass(frozen=True)
class Reference:
    """The result of an uninterrupted ingest."""

    documents: int
    sentences: int
    by_path: dict[str, tuple[str, int]]  # path -> (sha256, number of sentences)


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    with Index.open(root) as index:
        return {doc.path: (doc.sha256, doc.sentences) for doc in index.documents()}


def status(root: Path) -> Result:
    return cli_run("status", "--index", str(root), "--json")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, sample_docs: Path) -> Path:
    root = tmp_path_factory.mktemp("kill") / "docs"
    root.mkdir()
    for relative in CORPUS:
        shutil.copyfile(sample_docs / relative, root / Path(relative).name)
    return root


@pytest.fixture(scope="module")
def reference(
    corpus: Path, tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Reference:
    root = tmp_path_factory.mktemp("reference") / "index"
    result = cli_run("ingest", str(corpus), "--index", str(root), "--model", str(tiny_model_dir))
    assert result.exit_code == 0, result.stderr
    info = json.loads(status(root).stdout)
    return Reference(info["documents"], info["sentences"], snapshot(root))


def kill_at(point: KillPoint, child: subprocess.Popen[str], root: Path) -> str:
    """Kill the child at `point`; return what happened (for assertion messages)."""
    deadline = time.monotonic() + 90
    try:
        while child.poll() is None and time.monotonic() < deadline:
            if point.ready(root):
                time.sleep(point.delay)
                child.send_signal(signal.SIGKILL)
                break
            time.sleep(0.001)
        _, stderr = child.communicate(timeout=90)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if child.returncode == -signal.SIGKILL:
        return "killed"
    assert child.returncode == 0, stderr  # it finished before the point was reached
    return "finished before the kill point"


def describe(root: Path) -> str:
    """absent, incomplete, or the committed generation plus any files the kill left behind."""
    if not (root / "manifest.json").exists():
        return "incomplete" if (root / "index.sqlite3").exists() else "absent"
    uri = f"file:{root / 'index.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        (generation,) = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    strays = len(generations(root)) - 1
    left = f" and {strays} stray vector file(s)" if strays else ""
    left += f" and {len(temp_files(root))} temporary file(s)" if temp_files(root) else ""
    return f"generation {generation}{left}"


@pytest.fixture(scope="module")
def killed(
    corpus: Path, tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, str]]:
    """Index directory and "what happened" for every kill point, after its child died.

    All children run at once (one watcher thread each), so the module pays for the Python and
    torch start-up of one child, not ten, in wall time.
    """
    base = tmp_path_factory.mktemp("killed")
    env = child_env(base / "home")
    with ThreadPoolExecutor(len(KILL_POINTS)) as pool:
        futures = {}
        for point in KILL_POINTS:
            root = base / point.name / "index"
            root.parent.mkdir()
            command = docsearch_command(
                "ingest", corpus, "--index", root, "--model", tiny_model_dir,
                frequent_commits=point.frequent,
            )  # fmt: skip
            child = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            futures[point.name] = (root, pool.submit(kill_at, point, child, root))
        return {
            name: (root, f"{future.result()}, left {describe(root)}")
            for name, (root, future) in futures.items()
        }


@pytest.mark.parametrize("point", KILL_POINTS, ids=[p.name for p in KILL_POINTS])
def test_sigkill_during_ingest_never_corrupts(
    point: KillPoint,
    killed: dict[str, tuple[Path, str]],
    corpus: Path,
    reference: Reference,
    tiny_model_dir: Path,
) -> None:
    root, outcome = killed[point.name]
    state = describe(root)
    context = f"{point.name}: {outcome}"

    info = status(root)
    if state in ("absent", "incomplete"):
        assert info.exit_code == 1, context
        assert info.stderr.startswith("Error: ") and info.stderr.count("\n") == 1, context
        expected = "no index" if state == "absent" else "incomplete"
        assert expected in info.stderr, (context, info.stderr)
    else:
        assert info.exit_code == 0, (context, info.stderr)
        counts = json.loads(info.stdout)
        stored = snapshot(root)  # opening checks one vector per sentence row
        # Only whole documents, exactly as an uninterrupted run stores them.
        assert all(reference.by_path[path] == doc for path, doc in stored.items()), context
        assert counts["documents"] == len(stored), context
        assert counts["sentences"] == sum(n for _, n in stored.values()), context
        if not point.frequent:  # one commit per run: nothing or everything
            assert (counts["documents"], counts["sentences"]) in {
                (0, 0),
                (reference.documents, reference.sentences),
            }, context
        for mode in ("lexical", "dense"):
            hits = cli_run(
                "query", "black holes and gravity", "--index", str(root),
                "--model", str(tiny_model_dir), "--mode", mode, "--json",
            )  # fmt: skip
            assert hits.exit_code == 0, (context, hits.stderr)
            found = json.loads(hits.stdout)
            # Dense always finds something in a non-empty index; lexical needs shared words.
            assert all(h["path"] in stored for h in found), context
            if mode == "dense":
                assert bool(found) == bool(stored), context

    again = cli_run("ingest", str(corpus), "--index", str(root), "--model", str(tiny_model_dir))
    assert again.exit_code == 0, (context, again.stderr)
    final = json.loads(status(root).stdout)
    assert (final["documents"], final["sentences"]) == (reference.documents, reference.sentences)
    assert snapshot(root) == reference.by_path, context
    # The re-run tidied up: one vector file, no temporary files.
    assert len(generations(root)) == 1 and not temp_files(root), (context, os.listdir(root))


def test_two_ingests_started_at_once(
    corpus: Path, reference: Reference, tiny_model_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "index"
    env = child_env(tmp_path / "home")
    command = docsearch_command("ingest", corpus, "--index", root, "--model", tiny_model_dir)
    children = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [(child.wait(timeout=120), *child.communicate()) for child in children]
    # DocSearch waits up to 30 s for the write lock, also while the other process creates the
    # index: both succeed, and the second sees the first one's work as unchanged.
    for code, _, stderr in results:
        assert code == 0 and "Traceback" not in stderr, stderr
    summaries = sorted(stderr.splitlines()[-1].split(";")[0] for _, _, stderr in results)
    n = reference.documents
    assert summaries == [
        f"0 added, 0 updated, {n} unchanged, 0 removed, 0 skipped, 0 empty, 0 failed",
        f"{n} added, 0 updated, 0 unchanged, 0 removed, 0 skipped, 0 empty, 0 failed",
    ], summaries
    info = json.loads(status(root).stdout)
    assert (info["documents"], info["sentences"]) == (reference.documents, reference.sentences)
    assert snapshot(root) == reference.by_path
