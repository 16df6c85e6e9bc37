"""Warm query latency per mode and FAISS structure at 10k, 100k and 1M sentences, with recall.

    python benchmarks/query_latency.py                        # full: 10k, 100k, 1M sentences
    python benchmarks/query_latency.py --sizes 3000,8000 --base 1000 --queries 20 --flat-max 5000
                                                              # smoke test (IVF from 5000 on)

Building: `--base` real sentences (sample_docs + SciFact, split by docsearch) are encoded with
the shipped model. An index of n sentences holds those real sentences and vectors first, then
synthetic rows: the text of a random real sentence i and the vector
normalise(v_i + U(0, mix) * v_j + noise * g), with v_j another real vector and g a Gaussian of
norm ~1, so vectors cluster around real sentences and the lexical index holds real text.
Rows go straight through `indexer` (documents of 50 sentences), not through the encoder.

Each size is built once with the exact "Flat" structure; the "auto" variant is a copy whose
vectors are passed through `indexer.auto_factory.adapt`, the same call a checkpoint makes
(below `--flat-max` it stays flat and is not measured twice). Indexes are cached in the
benchmark cache (~/.cache/docsearch/bench/query_latency, or $DOCSEARCH_BENCH_CACHE) and reused;
--rebuild builds them again.

Measuring: for every index a fresh Python process opens `DocSearch`, warms up, then times
`search()` for each query in each mode (modes interleaved per query) and reports p50/p90/p99,
the query-encoding share and its own peak RSS. Queries are SciFact claims, which are not in
the index. Recall@10 and @100 (docsearch fetches 100 sentences per query) of "auto" against
exact search are measured on the same query vectors, each found id judged by its exact float32
score (the "auto" IVF stores float16 vectors) with ties counted as hits, together with the
FAISS search time alone, on one OpenMP thread (as docsearch searches) and on all.

Writes benchmarks/results/query_latency.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from machine import CACHE, peak_rss_mib, percentile_ms, write_result
from sentences import real_sentences, scifact_claims

MODES = ("dense", "lexical", "hybrid")
SENTENCES_PER_DOCUMENT = 50


# -- building ----------------------------------------------------------------------------------


def encoded_base(n: int, threads: int) -> tuple[list[str], np.ndarray, Any]:
    """`n` real sentences, their vectors float32[n, dim] (cached) and the loaded encoder."""
    import torch

    from docsearch.encoder import Encoder

    torch.set_num_threads(threads)
    encoder = Encoder.load(device="cpu")
    texts = real_sentences(n)
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
    cache = CACHE / f"base_vectors_{encoder.fingerprint}_{n}_{digest}.npy"
    if cache.is_file():
        vectors = np.load(cache)
    else:
        started = time.perf_counter()
        vectors = encoder.encode(texts)
        print(f"encoded {n} base sentences in {time.perf_counter() - started:.1f} s", flush=True)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, vectors)
    return texts, vectors, encoder


def index_fields(encoder: Any) -> dict[str, Any]:
    """What `Index.create` / `PgIndex.create` record of the model that made the vectors."""
    from docsearch.api import __version__

    return {
        "dim": encoder.dim,
        "model_name": encoder.name,
        "model_fingerprint": encoder.fingerprint,
        "tokenizer_version": encoder.tokenizer.version,
        "docsearch_version": __version__,
    }


def synthetic(
    base: np.ndarray, count: int, rng: np.random.Generator, mix: float, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    """(base row of each new vector int64[count], vectors float32[count, dim]) near real ones."""
    n, dim = base.shape
    rows = rng.integers(n, size=count)
    partners = rng.integers(n, size=count)
    weights = rng.uniform(0.0, mix, size=(count, 1)).astype(np.float32)
    vectors = base[rows] + weights * base[partners]
    vectors += (noise / np.sqrt(dim)) * rng.standard_normal((count, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return rows, np.ascontiguousarray(vectors, dtype=np.float32)


def build_flat(
    root: Path, n: int, texts: list[str], base: np.ndarray, encoder: Any, args: Any
) -> float:
    """Create the exact index of `n` sentences at `root`; return the seconds it took."""
    from indexer import DocumentRecord, Index, SentenceRecord

    if root.exists():
        shutil.rmtree(root)
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    index = Index.create(root, **index_fields(encoder), faiss_factory="Flat")
    with index, index.writer() as writer:
        done = 0
        while done < n:
            count = min(SENTENCES_PER_DOCUMENT, n - done)
            if done + count <= len(base):  # the real sentences first, as they are
                rows = np.arange(done, done + count)
                vectors = np.ascontiguousarray(base[rows])
            else:
                rows, vectors = synthetic(base, count, rng, args.mix, args.noise)
            records = [
                SentenceRecord(texts[r], 0, len(texts[r]), i + 1) for i, r in enumerate(rows)
            ]
            path = f"/bench/doc{done // SENTENCES_PER_DOCUMENT:07d}.txt"
            writer.add_document(DocumentRecord(path, f"sha-{done}", 1000, "text"), records, vectors)
            done += count
            if done % 200_000 == 0:
                print(f"  {done} rows", flush=True)
    return time.perf_counter() - started


def derive_auto(flat_root: Path, auto_root: Path, flat_max: int) -> dict[str, Any]:
    """Copy the flat index and give the copy the structure "auto" chooses for its size."""
    from indexer import AutoFactory
    from indexer.auto_factory import adapt
    from indexer.faiss_index import FaissIndex
    from indexer.layout import IndexLayout

    if auto_root.exists():
        shutil.rmtree(auto_root)
    shutil.copytree(flat_root, auto_root)
    layout = IndexLayout(auto_root)
    manifest = layout.read_manifest()
    out: dict[str, Any] = {}
    # The sentence vectors, then the passage vectors (session 19), as a checkpoint adapts both.
    for key, path in (
        ("", layout.vectors(manifest.generation)),
        ("passages_", layout.passage_vectors(manifest.generation)),
    ):
        flat = FaissIndex.load(path, factory="Flat")
        auto = FaissIndex(flat.dim, "auto")
        auto.add(*flat.contents())
        del flat
        started = time.perf_counter()
        adapt(auto, AutoFactory(flat_max=flat_max))
        out[f"{key}adapt_seconds"] = round(time.perf_counter() - started, 2)
        out[f"{key}structure"] = auto.current_factory
        auto.save(path)
    layout.write_manifest(dataclasses.replace(manifest, faiss_factory="auto"))
    return out


def disk(root: Path, sentences: int) -> dict[str, Any]:
    """Bytes of the vector file, the database (WAL included) and the whole directory."""
    sizes = {p.name: p.stat().st_size for p in root.iterdir() if p.is_file()}
    vectors = sum(v for k, v in sizes.items() if k.endswith(".faiss"))
    database = sum(v for k, v in sizes.items() if k.startswith("index.sqlite3"))
    total = sum(sizes.values())
    return {
        "vectors_bytes": vectors,
        "database_bytes": database,
        "total_bytes": total,
        "bytes_per_million_sentences": round(total / sentences * 1e6),
    }


# -- measuring ---------------------------------------------------------------------------------


def measure_here(
    index_dir: Path, queries: list[str], modes: list[str], k: int, warmup: int, budget_s: float
) -> dict[str, Any]:
    """Run in a fresh process: warm library latency per mode, and this process's peak RSS.

    Stops early, after the query that crosses `budget_s` seconds of timed searching, so that
    one slow mode cannot hold the run for hours; `queries_timed` says how many ran.
    """
    from docsearch import DocSearch

    started = time.perf_counter()
    ds = DocSearch(index_dir, device="cpu")
    ds.search(queries[0], k=k, mode="hybrid")
    first_s = time.perf_counter() - started  # open, map the vectors, load the query encoder
    for query in queries[:warmup]:
        for mode in modes:
            ds.search(query, k=k, mode=mode)
    index = ds._open(create=False)  # noqa: SLF001 - the benchmark times the encoding alone
    seconds: dict[str, list[float]] = {mode: [] for mode in modes}
    encoding: list[float] = []
    deadline = time.perf_counter() + budget_s
    for query in queries:
        if time.perf_counter() > deadline:
            break
        for mode in modes:
            t = time.perf_counter()
            ds.search(query, k=k, mode=mode)
            seconds[mode].append(time.perf_counter() - t)
        t = time.perf_counter()
        ds._query_vectors(index, [query])  # noqa: SLF001
        encoding.append(time.perf_counter() - t)
    factory, nprobe = index.faiss_structure()
    out: dict[str, Any] = {
        "faiss_structure": factory,
        "nprobe": nprobe,
        "first_query_seconds": round(first_s, 3),
        "queries_timed": len(encoding),
        "query_encoding_ms": {
            "p50": percentile_ms(encoding, 50),
            "p99": percentile_ms(encoding, 99),
        },
        "torch_imported": "torch" in sys.modules,
        "peak_rss_mib": peak_rss_mib(),
    }
    for mode, values in seconds.items():
        out[mode] = {f"p{q}_ms": percentile_ms(values, q) for q in (50, 90, 99)}
        out[mode]["mean_ms"] = round(1000 * sum(values) / len(values), 3)
    ds.close()
    return out


def measure(index_dir: Path, queries_file: Path, args: Any) -> dict[str, Any]:
    """`measure_here` in a fresh interpreter, so that its RSS is the query's alone."""
    command = [
        sys.executable,
        __file__,
        "--measure",
        str(index_dir),
        "--queries-file",
        str(queries_file),
        "--modes",
        args.modes,
        "--k",
        str(args.k),
        "--warmup",
        str(args.warmup),
        "--budget-s",
        str(args.budget_s),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"measuring {index_dir} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def exact_scores_of(flat: Any, queries: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """float32[q, k]: the exact inner product of each query with the vector of each found id
    (-inf for padding), from the flat index's float32 copy."""
    out = np.full(ids.shape, -np.inf, dtype=np.float32)
    stored_ids, vectors = flat.contents()
    order = np.argsort(stored_ids)
    for row, (query, found) in enumerate(zip(queries, ids, strict=True)):
        for col, i in enumerate(found):
            if i >= 0:
                at = order[np.searchsorted(stored_ids, i, sorter=order)]
                out[row, col] = float(query @ vectors[at])
    return out


def faiss_only(layouts: dict[str, Path], query_vectors: np.ndarray) -> dict[str, Any]:
    """FAISS alone: time per query (k = 100, as docsearch fetches) and recall of "auto".

    Each single-query search is timed as `FaissIndex.search` runs it (one OpenMP thread) and,
    to check that choice, with every OpenMP thread allowed.
    """
    import indexer.faiss_index
    from indexer.auto_factory import recall_at_k
    from indexer.faiss_index import FaissIndex
    from indexer.layout import IndexLayout

    loaded = {}
    for name, root in layouts.items():
        layout = IndexLayout(root)
        manifest = layout.read_manifest()
        path = layout.vectors(manifest.generation)
        loaded[name] = FaissIndex.load(path, factory=manifest.faiss_factory, mmap=True)
    out: dict[str, Any] = {}
    if "auto" in loaded:
        exact_scores, _ = loaded["flat"].search(query_vectors, 100)
        found_scores, found_ids = loaded["auto"].search(query_vectors, 100)
        # The auto index stores float16 vectors, so its scores are off by up to ~5e-4: judge
        # each found id by its exact float32 score instead (ties within 1e-5 count as hits).
        true_scores = exact_scores_of(loaded["flat"], query_vectors, found_ids)
        for k in (10, 100):
            recall = recall_at_k(found_ids, true_scores, exact_scores, k)
            out[f"recall@{k}"] = round(recall, 4)
    single_thread_max = indexer.faiss_index.SINGLE_THREAD_MAX_QUERIES
    for name, index in loaded.items():
        for threads, limit in (("one_thread", single_thread_max), ("all_threads", 0)):
            indexer.faiss_index.SINGLE_THREAD_MAX_QUERIES = limit
            seconds = []
            for row in range(len(query_vectors)):
                t = time.perf_counter()
                index.search(query_vectors[row : row + 1], 100)
                seconds.append(time.perf_counter() - t)
            out[f"faiss_{name}_{threads}_ms"] = {
                "p50": percentile_ms(seconds, 50),
                "p99": percentile_ms(seconds, 99),
            }
    indexer.faiss_index.SINGLE_THREAD_MAX_QUERIES = single_thread_max
    return out


# -- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="sentences per index")
    parser.add_argument("--queries", type=int, default=200, help="SciFact claims timed per index")
    parser.add_argument("--warmup", type=int, default=10, help="untimed queries per mode first")
    parser.add_argument(
        "--budget-s", type=float, default=300, help="stop timing an index after this many seconds"
    )
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--k", type=int, default=10, help="documents per query")
    parser.add_argument("--base", type=int, default=20_000, help="real sentences encoded")
    parser.add_argument("--mix", type=float, default=0.5, help="max weight of the partner vector")
    parser.add_argument("--noise", type=float, default=0.4, help="norm of the Gaussian noise")
    parser.add_argument("--flat-max", type=int, default=None, help="AutoFactory.flat_max")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (base encoding)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild cached indexes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="default results/query_latency.json")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--queries-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]

    if args.measure is not None:  # the child process of `measure`
        queries = json.loads(args.queries_file.read_text())
        timings = measure_here(args.measure, queries, modes, args.k, args.warmup, args.budget_s)
        print(json.dumps(timings))
        return

    from indexer import AutoFactory

    flat_max = args.flat_max or AutoFactory().flat_max
    sizes = [int(s) for s in args.sizes.split(",") if s]
    texts, base, encoder = encoded_base(args.base, args.threads)
    queries = scifact_claims(args.queries)
    query_vectors = encoder.encode_queries(queries)
    folder = CACHE / "query_latency" / f"{encoder.fingerprint}-{args.base}-{args.mix}-{args.noise}"
    folder.mkdir(parents=True, exist_ok=True)
    queries_file = folder / "queries.json"
    queries_file.write_text(json.dumps(queries))

    result: dict[str, Any] = {
        "queries": len(queries),
        "k": args.k,
        "modes": modes,
        "base_sentences": args.base,
        "mix": args.mix,
        "noise": args.noise,
        "flat_max": flat_max,
        "sizes": {},
    }
    for n in sizes:
        entry: dict[str, Any] = {}
        flat_root, auto_root = folder / f"{n}" / "flat", folder / f"{n}" / f"auto-{flat_max}"
        if args.rebuild or not (flat_root / "manifest.json").is_file():
            print(f"building {n} sentences (Flat)", flush=True)
            entry["build_seconds"] = round(build_flat(flat_root, n, texts, base, encoder, args), 1)
        layouts = {"flat": flat_root}
        if n >= flat_max:
            if args.rebuild or not (auto_root / "manifest.json").is_file():
                print(f"deriving the auto structure of {n}", flush=True)
                entry["auto_build"] = derive_auto(flat_root, auto_root, flat_max)
            layouts["auto"] = auto_root
        else:
            entry["auto"] = "same as flat (below flat_max)"
        entry["faiss_only"] = faiss_only(layouts, query_vectors)
        for name, root in layouts.items():
            print(f"measuring {n} {name}", flush=True)
            entry[name] = {**measure(root, queries_file, args), "disk": disk(root, n)}
        result["sizes"][str(n)] = entry
        print(json.dumps({n: entry}, indent=1), flush=True)
    result["builder_peak_rss_mib"] = peak_rss_mib()
    path = write_result("query_latency", result, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
