"""Ingest of one large document: is the time linear in its size, and is memory bounded?

    python benchmarks/large_document.py                    # 1, 10 and 50 MB
    python benchmarks/large_document.py --sizes 1 2        # smoke test

Each size is one plain-text file of Gutenberg sentences (../shared/data/train/gutenberg,
detokenized, repeated in a shuffled order until the size is reached), written as a single
line (the worst case: no line breaks to help the splitter), generated into the benchmark cache
(~/.cache/docsearch/bench/large), never into the repository. Every size is ingested into a
fresh index by `docsearch ingest` in its own process, so its peak memory is its own; the
seconds, MB/s, sentences/s and peak RSS (VmHWM of the child) are recorded.

Writes benchmarks/results/large_document.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ingest_speed import GUTENBERG, detokenize
from machine import CACHE, write_result

_CHILD = """
import json, sys, time
from docsearch import DocSearch
from machine import peak_rss_mib
started = time.monotonic()
report = DocSearch(sys.argv[1]).ingest([sys.argv[2]])
seconds = time.monotonic() - started
print(json.dumps({"seconds": seconds, "sentences": report.sentences,
                  "failed": report.failed, "peak_rss_mib": peak_rss_mib()}))
"""


def make_document(megabytes: int, seed: int = 0) -> Path:
    """A single-line text file of about `megabytes` MB (cached)."""
    path = CACHE / "large" / f"one-line-{megabytes}mb.txt"
    if path.exists():
        return path
    lines = []
    for book in sorted(GUTENBERG.glob("*.txt.gz")):
        with gzip.open(book, "rt", encoding="utf-8") as f:
            lines += [detokenize(line.strip()) for line in f if len(line.split()) >= 4]
    rng = random.Random(seed)
    target, parts, size = megabytes * 1_000_000, [], 0
    while size < target:
        rng.shuffle(lines)
        for line in lines:
            parts.append(line)
            size += len(line) + 1
            if size >= target:
                break
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(" ".join(parts), encoding="utf-8")
    return path


def ingest_in_child(document: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        here = Path(__file__).resolve().parent
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(Path(tmp) / "index"), str(document)],
            check=True,
            capture_output=True,
            text=True,
            cwd=here,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50], help="MB")
    args = parser.parse_args()
    rows = []
    for megabytes in args.sizes:
        document = make_document(megabytes)
        started = time.monotonic()
        result = ingest_in_child(document)
        mb = document.stat().st_size / 1e6
        row = {
            "megabytes": round(mb, 2),
            "seconds": round(result["seconds"], 1),
            "process_seconds": round(time.monotonic() - started, 1),
            "mb_per_s": round(mb / result["seconds"], 3),
            "sentences": result["sentences"],
            "sentences_per_s": round(result["sentences"] / result["seconds"]),
            "peak_rss_mib": result["peak_rss_mib"],
            "failed": result["failed"],
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    path = write_result("large_document", {"shape": "one line of text", "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
