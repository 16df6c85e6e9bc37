"""Cold `docsearch query`: wall time from process start to answer, and where it goes.

    python benchmarks/cold_query.py                 # full: 20 runs per mode
    python benchmarks/cold_query.py --runs 3        # smoke test

An index of `sample_docs/` is built first (`docsearch ingest`, in a temporary directory). Then
the installed `docsearch` command (the console script next to this Python, else
`python -m docsearch`) is started `--runs` times per mode, each time a new process, and timed
from just before the process is spawned until it has exited; queries rotate through a few
questions. The OS file cache is warm (the index was just written and is read again each run),
as it is for a user who queries twice: this is the cost of starting Python, importing, opening
the index and answering. Also recorded: each run's peak RSS (`wait4`), whether torch was
imported, the top imports by `python -X importtime`, and a cProfile of one cold query.

Writes benchmarks/results/cold_query.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import CACHE, REPO, write_result

QUERIES = (
    "how do tides work?",
    "why does bread dough rise",
    "what keeps a SQLite reader from blocking a writer",
    "training plan for a first marathon",
    "how do vaccines teach the immune system",
)
MODES = ("hybrid", "dense", "lexical")


def command_prefix() -> list[str]:
    """How a user starts docsearch from this environment."""
    script = Path(sys.executable).with_name("docsearch")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "docsearch"]


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, str, str, int]:
    """Spawn, wait; return (seconds, the child's peak RSS in MiB, stdout, stderr, exit status)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env, text=True)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return seconds, usage.ru_maxrss / 1024, out.read(), err.read(), process.returncode


def importtime(argv_tail: list[str], env: dict[str, str], top: int) -> dict[str, Any]:
    """Top imports by cumulative and by own time, from `python -X importtime`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "docsearch", *argv_tail],
        capture_output=True,
        text=True,
        env=env,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        rows.append((name, int(own), int(cumulative)))
    top_level = [r for r in rows if not r[0].startswith(" ")]  # imported by __main__ directly
    by_own = sorted(rows, key=lambda r: -r[1])[:top]
    return {
        "total_ms": round(sum(r[1] for r in rows) / 1000, 1),
        "torch_imported": any(r[0].strip() == "torch" for r in rows),
        "top_cumulative_ms": {
            r[0].strip(): round(r[2] / 1000, 1)
            for r in sorted(top_level, key=lambda r: -r[2])[:top]
        },
        "top_self_ms": {r[0].strip(): round(r[1] / 1000, 1) for r in by_own},
    }


def profile(argv_tail: list[str], env: dict[str, str], folder: Path, top: int) -> dict[str, Any]:
    """cProfile of one cold query: the `top` functions by cumulative and by own time."""
    out = folder / "cold_query.prof"
    subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "docsearch", *argv_tail],
        capture_output=True,
        env=env,
        check=True,
    )
    summary: dict[str, Any] = {}
    for key in ("cumulative", "tottime"):
        buffer = io.StringIO()
        pstats.Stats(str(out), stream=buffer).sort_stats(key).print_stats(top)
        lines = [ln.rstrip() for ln in buffer.getvalue().splitlines() if ln.strip()]
        start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls")), 0)
        summary[key] = lines[start:]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="cold starts per mode")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--top", type=int, default=25, help="rows of importtime and profile")
    parser.add_argument("--docs", type=Path, default=REPO / "sample_docs", help="corpus to index")
    parser.add_argument("--out", type=Path, default=None, help="default results/cold_query.json")
    args = parser.parse_args()

    CACHE.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="cold_query_", dir=CACHE))
    index_dir = folder / "index"
    env = {**os.environ, "DOCSEARCH_INDEX": str(index_dir), "DOCSEARCH_HOME": str(folder / "home")}
    prefix = command_prefix()
    try:
        # Ingest in a child too: this process stays small, because a child's ru_maxrss starts
        # from its parent's resident size at fork.
        started = time.perf_counter()
        ingest = subprocess.run(
            [*prefix, "ingest", str(args.docs), "--device", "cpu"], env=env, capture_output=True
        )
        if ingest.returncode != 0:
            raise SystemExit(f"`docsearch ingest` failed:\n{ingest.stderr.decode()[-3000:]}")
        status_run = subprocess.run(
            [*prefix, "status", "--json"], env=env, capture_output=True, text=True, check=True
        )
        status = json.loads(status_run.stdout)
        print(f"indexed {status['sentences']} sentences in {time.perf_counter() - started:.1f} s")

        modes = [m for m in args.modes.split(",") if m]
        result: dict[str, Any] = {
            "command": prefix,
            "index": {
                k: status[k] for k in ("documents", "sentences", "faiss_factory", "disk_bytes")
            },
            "runs": args.runs,
            "modes": {},
        }
        first = run_once([*prefix, "query", QUERIES[0]], env)  # also checks that it works
        if first[4] != 0:
            raise SystemExit(f"`docsearch query` failed:\n{first[3]}")
        for mode in modes:
            seconds, peaks = [], []
            for i in range(args.runs):
                query = QUERIES[i % len(QUERIES)]
                s, peak, _, stderr, code = run_once([*prefix, "query", query, "--mode", mode], env)
                if code != 0:
                    raise SystemExit(f"`docsearch query --mode {mode}` failed:\n{stderr}")
                seconds.append(s)
                peaks.append(peak)
            result["modes"][mode] = {
                "median_s": round(statistics.median(seconds), 3),
                "min_s": round(min(seconds), 3),
                "max_s": round(max(seconds), 3),
                "peak_rss_mib": round(statistics.median(peaks), 1),
            }
            print(f"{mode}: {result['modes'][mode]}", flush=True)
        startup = [run_once([sys.executable, "-c", "pass"], env)[0] for _ in range(5)]
        result["python_startup_s"] = round(statistics.median(startup), 3)
        tail = ["query", QUERIES[0]]
        result["importtime"] = importtime(tail, env, args.top)
        result["profile"] = profile(tail, env, folder, args.top)
        path = write_result("cold_query", result, args.out)
        print(f"torch imported: {result['importtime']['torch_imported']}")
        print(f"wrote {path}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
