"""A model's query side through the engine, against the dev indexes as they stand.

    python benchmarks/query_side.py [--model DIR ...] [--out FILE]

A query tower (`docsearch/training/query_tower.py`) changes how queries are encoded and leaves
the documents' vectors as they are, so it can be measured on the indexes `quality.py` and
`debian_faq.py` left in the bench cache (built with the shipped model) without encoding a
document again: each query goes through `docsearch.search.search`, the engine's own dense and
hybrid ranking (sentence and passage vectors, FAISS, BM25, fusion), with the model's
`encode_queries`. A model whose documents side differs from the index's is refused (a few
stored sentences are encoded again and compared).

Sets: Cranfield and SciFact (nDCG@10), the sqlite3-doc, git-doc and zsh-doc FAQs (MRR@10), as
`dense_dev.py` names them. Takes ~1 minute a model on two cores. Writes
benchmarks/results/query_side.json (one entry per model; the shipped model is measured too).
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from machine import RESULTS, machine_info

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import dense_dev  # noqa: E402
import dense_units  # noqa: E402

MODES = ("dense", "hybrid")
CHECKED_SENTENCES = 64


def check_documents_side(encoder, folder: Path) -> None:
    """Exit unless `encoder` gives the index's stored vectors for a few of its sentences."""
    stored = dense_units.StoredIndex(folder).vectors[:CHECKED_SENTENCES]
    texts = dense_dev.sentence_texts(folder)[:CHECKED_SENTENCES]
    cosine = np.sum(encoder.encode(texts) * stored, axis=1)
    if float(cosine.min()) < 0.999:
        sys.exit(
            f"{encoder.name}: its documents side is not the one that built {folder} "
            f"(cosine {cosine.min():.3f}); measure it with dense_dev.py instead"
        )


def engine_hits(index, texts: list[str], vectors: np.ndarray, mode: str) -> list:
    """The engine's 10 best documents (`search.search`) for each query text, whose query
    vectors are given (row i for `texts[i]`)."""
    from docsearch.search import Filters, search

    encoded = dict(zip(texts, vectors, strict=True))
    with ThreadPoolExecutor(1) as workers:
        return search(
            index,
            texts,
            lambda asked: np.stack([encoded[t] for t in asked]),
            k=10,
            mode=mode,
            filters=Filters(),
            context=0,
            workers=workers,
        )


def mean_score(metric: str, qids: list[str], hits: list, relevant) -> float:
    """The set's metric over its queries' hits, by document file stem."""
    totals = [
        dense_units.score(metric, [Path(h.path).stem for h in found], relevant[q])
        for q, found in zip(qids, hits, strict=True)
    ]
    return round(float(np.mean(totals)), 4)


def measure(encoder, sets) -> dict[str, float]:
    """Dense and hybrid score of `encoder`'s queries on each set, through `search.search`."""
    from docsearch.search import clean_query
    from indexer import Index

    out: dict[str, float] = {}
    for name, (metric, folder, queries, relevant) in sets.items():
        check_documents_side(encoder, folder)
        qids = [q for q in queries if q in relevant]
        texts = [clean_query(queries[q]) for q in qids]
        vectors = encoder.encode_queries(texts)
        index = Index.open(folder)
        try:
            for mode in MODES:
                hits = engine_hits(index, texts, vectors, mode)
                out[f"{mode}_{name}"] = mean_score(metric, qids, hits, relevant)
        finally:
            index.close()
        print(name, {m: out[f"{m}_{name}"] for m in MODES}, flush=True)
    for mode in MODES:
        out[f"{mode}_mean"] = round(float(np.mean([out[f"{mode}_{n}"] for n in sets])), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--model", type=Path, action="append", default=[], help="a model folder (repeatable)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "query_side.json")
    args = parser.parse_args()
    from docsearch.encoder import Encoder

    sets = dense_dev.built_dev_sets()
    result: dict[str, object] = json.loads(args.out.read_text()) if args.out.exists() else {}
    for model in [None, *args.model]:
        encoder = Encoder.load(model, device="cpu")
        key = "shipped " + encoder.name if model is None else str(model)
        result[key] = measure(encoder, sets)
        print(key, json.dumps(result[key]), flush=True)
    result["machine"] = machine_info()
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
