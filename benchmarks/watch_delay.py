"""How long a change takes to reach the index under `docsearch watch` (the library's Watcher).

    python benchmarks/watch_delay.py [--changes 20] [--debounce 1.0]

A folder of 200 small text files is ingested and followed; then, one at a time, a file is
created, edited, renamed or deleted (in turn), and the time from the file-system call to the
moment a lexical search sees the change is taken (polled every 10 ms in this process, as
another reader would). The delay is the debounce (the quiet time a batch waits for) plus the
batch's ingest or removal and commit. Reported for the default debounce and for 0.2 s.
Writes benchmarks/results/watch_delay.json.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from machine import CACHE, percentile_ms, write_result

WORDS = "tide harbour moon ship rope sail anchor chart keel mast".split()


def visible(ds, word: str, name: str | None) -> bool:  # type: ignore[no-untyped-def]
    names = {Path(h.path).name for h in ds.search(word, k=5, mode="lexical")}
    return name in names if name is not None else not names


def wait_for(ds, word: str, name: str | None, started: float) -> float:  # type: ignore[no-untyped-def]
    while not visible(ds, word, name):
        if time.perf_counter() - started > 120:
            raise RuntimeError(f"change never visible: {word} {name}")
        time.sleep(0.01)
    return time.perf_counter() - started


def run(changes: int, debounce: float) -> dict[str, object]:
    from docsearch import DocSearch
    from docsearch.watch import Watcher

    root = Path(tempfile.mkdtemp(prefix="watch_delay_", dir=CACHE))
    docs = root / "docs"
    docs.mkdir()
    for i in range(200):
        (docs / f"base{i}.txt").write_text(f"Base file {i} about {WORDS[i % len(WORDS)]}s.\n")
    delays: dict[str, list[float]] = {"create": [], "edit": [], "rename": [], "delete": []}
    try:
        with DocSearch(root / "index", device="cpu") as ds:
            with Watcher(ds, [docs], debounce=debounce):
                for n in range(changes):
                    word = f"marker{n}x"
                    path = docs / f"new{n}.txt"
                    kind = ("create", "edit", "rename", "delete")[n % 4]
                    if kind != "create":  # the file to change, made and indexed first
                        path.write_text(f"Old words {word}old.\n")
                        wait_for(ds, f"{word}old", path.name, time.perf_counter())
                    started = time.perf_counter()
                    if kind == "create":
                        path.write_text(f"The {word} arrives.\n")
                        delays[kind].append(wait_for(ds, word, path.name, started))
                    elif kind == "edit":
                        path.write_text(f"The {word} is new here.\n")
                        delays[kind].append(wait_for(ds, word, path.name, started))
                    elif kind == "rename":
                        path.rename(docs / f"moved{n}.txt")
                        delays[kind].append(wait_for(ds, f"{word}old", f"moved{n}.txt", started))
                    else:
                        path.unlink()
                        delays[kind].append(wait_for(ds, f"{word}old", None, started))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    every = [d for values in delays.values() for d in values]
    return {
        "debounce_s": debounce,
        "changes": len(every),
        "p50_ms": percentile_ms(every, 50),
        "max_ms": round(1000 * max(every), 1),
        "p50_ms_by_kind": {k: percentile_ms(v, 50) for k, v in delays.items() if v},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--debounce", type=float, default=1.0)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    runs = [run(args.changes, args.debounce), run(args.changes, 0.2)]
    for r in runs:
        print(r, flush=True)
    write_result("watch_delay", {"benchmark": "watch_delay", "runs": runs})


if __name__ == "__main__":
    main()
