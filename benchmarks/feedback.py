"""Dense pseudo-relevance feedback (Rocchio on vectors), through the engine, on the dev indexes.

    python benchmarks/feedback.py [--out FILE]

Session 20's question: can the shipped model's dense side borrow what the hybrid ranking finds?
For each query of each dev set (`dense_dev.py`'s five, indexes built with the shipped model):
the engine's hybrid ranking (`docsearch.search.search`) gives the top m documents; each one's
pooled passage nearest to the query (the index's passages, pooled from its stored sentence
vectors) is averaged into a feedback vector f; the query vector becomes q + beta * f
(normalised) and is searched again, in dense and in hybrid mode. m in {1, 3, 5}, beta in
{0.5, 1, 2}; without feedback as the baseline. Metrics as `dense_dev.py` (nDCG@10 for Cranfield
and SciFact, MRR@10 for the FAQs). Two searches per query: a prototype to measure, not a
feature. Writes benchmarks/results/feedback.json (~1.5 minutes on two cores).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from machine import RESULTS, machine_info

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import dense_dev  # noqa: E402
import dense_units  # noqa: E402
import query_side  # noqa: E402

SETTINGS = [(m, beta) for m in (1, 3, 5) for beta in (0.5, 1.0, 2.0)]


def feedback_vectors(
    stored: dense_units.StoredIndex,
    passages: np.ndarray,
    owner: np.ndarray,
    query_vectors: np.ndarray,
    first_pass: list,
    m: int,
) -> np.ndarray:
    """Per query: the mean of its top m documents' pooled passages nearest to it, normalised
    (`passages`: the index's passages pooled from its sentence vectors, `owner`: their
    documents)."""
    out = []
    for vector, hits in zip(query_vectors, first_pass, strict=True):
        chosen = []
        for hit in hits[:m]:
            rows = np.flatnonzero(owner == stored.doc[stored.sentence_row[hit.sentence_id]])
            chosen.append(passages[rows[np.argmax(passages[rows] @ vector)]])
        mean = np.mean(chosen, axis=0)
        out.append(mean / np.linalg.norm(mean))
    return np.array(out, np.float32)


def measure(encoder, name: str, sets) -> dict[str, object]:
    """Dense and hybrid scores without feedback and at each setting, on one set."""
    from docsearch.search import clean_query
    from indexer import Index

    metric, folder, queries, relevant = sets[name]
    stored = dense_units.StoredIndex(folder)
    passages = np.stack([dense_units.pooled(stored.vectors[a:b]) for _, a, b in stored.passages])
    owner = np.array([doc for doc, _, _ in stored.passages])
    qids = [q for q in queries if q in relevant]
    texts = [clean_query(queries[q]) for q in qids]
    vectors = encoder.encode_queries(texts)
    index = Index.open(folder)

    def run(query_vectors: np.ndarray, mode: str) -> list:
        return query_side.engine_hits(index, texts, query_vectors, mode)

    def scored(hits: list) -> float:
        return query_side.mean_score(metric, qids, hits, relevant)

    try:
        first = run(vectors, "hybrid")
        out: dict[str, object] = {"dense": scored(run(vectors, "dense")), "hybrid": scored(first)}
        for m, beta in SETTINGS:
            moved = vectors + beta * feedback_vectors(stored, passages, owner, vectors, first, m)
            moved /= np.linalg.norm(moved, axis=1, keepdims=True)
            out[f"m{m}_beta{beta}"] = {
                "dense": scored(run(moved, "dense")),
                "hybrid": scored(run(moved, "hybrid")),
            }
    finally:
        index.close()
    print(name, json.dumps(out), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "feedback.json")
    args = parser.parse_args()
    from docsearch.encoder import Encoder

    encoder = Encoder.load(None, device="cpu")
    sets = dense_dev.built_dev_sets()
    result: dict[str, object] = {"machine": machine_info(), "model": encoder.name}
    for name in sets:
        result[name] = measure(encoder, name, sets)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
