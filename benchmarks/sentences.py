"""Real sentences and queries for the speed benchmarks, split by docsearch's own splitter.

Sources: the checked-in `sample_docs/` and the SciFact abstracts and claims in
`../shared/data/eval/scifact/` (BEIR; abstracts of biomedical papers, claims written by experts).
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from pathlib import Path

from machine import REPO, SHARED_DATA

SAMPLE_DOCS = REPO / "sample_docs"
SCIFACT = SHARED_DATA / "eval" / "scifact"


def sample_doc_sentences() -> list[str]:
    """Every sentence of `sample_docs/` (all formats), in file order."""
    from docsearch.documents import find_files, read_file
    from docsearch.splitting import split_document

    out: list[str] = []
    for path in find_files([SAMPLE_DOCS]).files:
        out += [s.text for s in split_document(read_file(Path(path)))]
    return out


def scifact_abstracts() -> Iterator[tuple[str, str]]:
    """(doc id, "title\\n\\nabstract") for each SciFact corpus document."""
    with gzip.open(SCIFACT / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            yield row["_id"], f"{row['title']}\n\n{row['text']}\n"


def scifact_sentences(limit: int | None = None) -> list[str]:
    """Sentences of SciFact abstracts (titles included), in corpus order, up to `limit`."""
    from docsearch.documents import read_bytes
    from docsearch.splitting import split_document

    out: list[str] = []
    for doc_id, text in scifact_abstracts():
        out += [s.text for s in split_document(read_bytes(f"{doc_id}.txt", text.encode()))]
        if limit is not None and len(out) >= limit:
            return out[:limit]
    return out


def real_sentences(n: int, seed: int = 0) -> list[str]:
    """`n` real sentences: all of sample_docs plus SciFact, shuffled with `seed`.

    Raises:
        SystemExit: fewer than `n` sentences are available (SciFact holds about 50k).
    """
    pool = sample_doc_sentences()
    pool += scifact_sentences(max(0, n - len(pool)) + 1000)
    if len(pool) < n:
        raise SystemExit(f"only {len(pool)} real sentences available, asked for {n}")
    random.Random(seed).shuffle(pool)
    return pool[:n]


def scifact_claims(limit: int | None = None) -> list[str]:
    """SciFact claims (short scientific statements), the queries of the query benchmarks."""
    out = []
    with open(SCIFACT / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line)["text"])
            if limit is not None and len(out) >= limit:
                break
    return out
