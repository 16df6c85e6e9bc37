"""The one-time cost of upgrading an index written before passage vectors existed (session 19).

    python benchmarks/upgrade_index.py --index DIR [--index DIR ...]

Each index is copied (into the benchmark cache), its `passages.*.faiss` files are deleted (so
any index can stand for one an older docsearch wrote), and the copy is opened with a writer
that commits at once: the writer reads every stored sentence vector back, pools the passages
and writes them as the next generation (`IndexWriter._pool_stored_passages`). Reported per
index: sentences, passages, FAISS structure, seconds for that first write, peak RSS of the
process (a fresh one per index). Writes benchmarks/results/upgrade_index.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from machine import CACHE, write_result

REPO = Path(__file__).resolve().parents[1]


def upgrade(root: Path) -> dict[str, object]:
    """In this process: time the first write of the copy at `root`."""
    from indexer import Index

    for stale in root.glob("passages.*.faiss"):
        stale.unlink()
    started = time.perf_counter()
    with Index.open(root) as index:
        with index.writer():
            pass
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        documents, sentences = index.counts()
        structure = index.faiss_structure()[0]
        found = index.nearest_passages(_first_vector(index), 1)[0]  # the passages answer
    return {
        "sentences": sentences,
        "documents": documents,
        "structure": structure,
        "passages_files": sorted(p.name for p in root.glob("passages.*.faiss")),
        "first_write_seconds": round(seconds, 1),
        "peak_rss_mib": round(peak, 1),  # before the check below copies the vectors out
        "passages_searchable": bool(found),
    }


def _first_vector(index: Any) -> Any:
    """One stored sentence vector, as a query."""
    import numpy as np

    with index._reading() as store:  # noqa: SLF001 - a benchmark reads the stored vectors
        _, vectors = index._snapshots.vectors(store).contents()  # noqa: SLF001
    return np.ascontiguousarray(vectors[:1], dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, action="append", required=True)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(upgrade(args.child)))
        return
    results = {}
    for source in args.index:
        copy = CACHE / "upgrade_index" / source.name
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(source, copy)
        done = subprocess.run(
            [sys.executable, __file__, "--index", str(source), "--child", str(copy)],
            capture_output=True,
            text=True,
            check=True,
        )
        results[str(source)] = json.loads(done.stdout.strip().splitlines()[-1])
        shutil.rmtree(copy)
        print(source, results[str(source)], flush=True)
    write_result("upgrade_index", {"indexes": results})


if __name__ == "__main__":
    main()
