"""`docsearch watch` as a real process: creates, edits, renames and deletes reach the index,
and SIGTERM stops it cleanly. Also the library's `Watcher` without watchdog (re-reading)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from docsearch import DocSearch
from docsearch.watch import Watcher

# How long a change may take to show before the test gives up (a bound on failure, not a
# speed check: benchmarks/watch_delay.py measures the delay).
PATIENCE = 60.0


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def paths_found(index: Path, query: str) -> set[str]:
    if not (index / "manifest.json").exists():
        return set()
    with DocSearch(index, device="cpu") as ds:
        return {Path(h.path).name for h in ds.search(query, k=5, mode="lexical")}


def test_watch_follows_creates_edits_renames_and_deletes(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "start.txt").write_text("Lighthouses guide ships at night.\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "docsearch", "watch", str(docs), "--index", str(index),
         "--debounce", "0.2"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DOCSEARCH_DEVICE": "cpu"},
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr or []), daemon=True)
    reader.start()
    try:
        eventually(lambda: any("following changes" in line for line in lines), "initial ingest")
        assert paths_found(index, "lighthouses") == {"start.txt"}

        (docs / "a.txt").write_text("Puffins nest on steep sea cliffs.\n")
        eventually(lambda: paths_found(index, "puffins") == {"a.txt"}, "create")

        (docs / "a.txt").write_text("Herons wade through shallow rivers.\n")
        eventually(lambda: paths_found(index, "herons") == {"a.txt"}, "edit")
        assert paths_found(index, "puffins") == set()

        (docs / "a.txt").rename(docs / "b.txt")
        eventually(lambda: paths_found(index, "herons") == {"b.txt"}, "rename")

        sub = docs / "sub"
        sub.mkdir()
        (sub / "c.txt").write_text("Otters crack shells on their bellies.\n")
        eventually(lambda: paths_found(index, "otters") == {"c.txt"}, "file in a new folder")

        (docs / "b.txt").unlink()
        eventually(lambda: paths_found(index, "herons") == set(), "delete")
        for child in sub.iterdir():
            child.unlink()
        sub.rmdir()
        eventually(lambda: paths_found(index, "otters") == set(), "folder delete")
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=PATIENCE)
        reader.join(timeout=5)
    assert code == 0, "".join(lines)
    assert any("stopped" in line for line in lines)
    assert any(line.startswith("watch: ") for line in lines), "each batch is logged"
    assert paths_found(index, "lighthouses") == {"start.txt"}


def test_without_watchdog_the_folders_are_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("watchdog", "watchdog.events", "watchdog.observers", "watchdog.observers.polling"):
        monkeypatch.setitem(sys.modules, name, None)  # `import watchdog...` raises ImportError
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "one.txt").write_text("Kites fly on windy hills.\n")
    batches = []
    with DocSearch(index, device="cpu") as ds:
        with Watcher(ds, [docs], debounce=0.1, on_batch=batches.append) as watcher:
            assert watcher._observer is None
            (docs / "two.txt").write_text("Snails carry their homes.\n")
            eventually(lambda: paths_found(index, "snails") == {"two.txt"}, "create by re-reading")
            (docs / "one.txt").unlink()
            eventually(lambda: paths_found(index, "kites") == set(), "delete by re-reading")
    assert batches and all(b.describe() for b in batches)


def test_a_file_that_fails_is_tried_again_a_few_times(tmp_path: Path) -> None:
    from docsearch.watch import RETRIES

    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    broken = docs / "half.pdf"
    broken.write_bytes(b"%PDF-1.4 half written")  # a PDF still being copied in
    with DocSearch(index, device="cpu") as ds:
        ds.add_text("seed.txt", "Seeds sprout in spring.")
        watcher = Watcher(ds, [docs])  # not started: batches applied by hand
        path = str(broken)
        tries = []
        pending = {path: RETRIES}
        while pending:
            watcher._apply(pending)
            pending, watcher._pending = dict(watcher._pending), {}
            tries.append(pending.get(path))
        assert tries == [RETRIES - 1, RETRIES - 2, None], "re-queued, then given up"


def test_a_batch_of_changes_and_removals_is_one_commit(tmp_path: Path) -> None:
    import json

    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "a.txt").write_text("Apples grow on trees.\n")
    (docs / "b.txt").write_text("Bees make honey.\n")
    with DocSearch(index, device="cpu") as ds:
        ds.ingest([docs])
        before = json.loads((index / "manifest.json").read_text())["generation"]
        (docs / "c.txt").write_text("Cedars are tall.\n")
        (docs / "a.txt").unlink()
        report = ds.ingest([docs / "c.txt"], prune=False, remove=[str(docs / "a.txt")])
        assert (report.added, report.removed) == (1, 1)
        assert {Path(d.path).name for d in ds.documents()} == {"b.txt", "c.txt"}
    after = json.loads((index / "manifest.json").read_text())["generation"]
    assert after == before + 1
