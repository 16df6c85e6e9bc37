"""Choose how `hybrid` mode fuses the dense and lexical rankings, on held-out development data.

    python benchmarks/fusion.py [--model DIR]

Development sets (never used in training; see docsearch/training/data.py DEV_ROWS):
- PubMedQA dev: the last 200 questions, each answered by its own abstract, among all 1,000;
- arXiv dev: the last 200 titles, each matching its own abstract, among all 1,000 abstracts.
SciFact test is reported beside them for information only; the choice is made on dev.

For each query the dense and lexical candidate lists come from the real index (docsearch
ingest), and every fusion rule is scored (nDCG@10 over documents) on the same candidates.
Writes benchmarks/results/fusion.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from quality import CACHE, EVAL, RESULTS, load_scifact, mean_ndcg  # noqa: E402

TRAIN = EVAL.parent / "train"
DEV_ROWS = 200
FETCH = 100


def dev_sets() -> dict[str, tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]]:
    """name -> (doc id -> text, query id -> query, qrels) for PubMedQA and arXiv dev."""
    sets = {}
    for name, file, query_key, text_of in (
        (
            "pubmedqa_dev",
            "pubmedqa_labeled.jsonl.gz",
            "question",
            lambda r: " ".join(r["contexts"]),
        ),
        ("arxiv_dev", "arxiv_cs_abstracts.jsonl.gz", "title", lambda r: r["abstract"]),
    ):
        with gzip.open(TRAIN / file, "rt", encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        docs = {str(i): text_of(r) for i, r in enumerate(rows)}
        dev = range(len(rows) - DEV_ROWS, len(rows))
        queries = {str(i): rows[i][query_key] for i in dev}
        qrels = {str(i): {str(i): 1} for i in dev}
        sets[name] = (docs, queries, qrels)
    corpus, queries, qrels = load_scifact()
    sets["scifact_test"] = ({d: f"{t}\n\n{x}" for d, (t, x) in corpus.items()}, queries, qrels)
    return sets


def candidates(name: str, docs: dict[str, str], queries: dict[str, str], model: Path | None):
    """Per query: dense and lexical (doc id, score) lists, best first, one entry per document."""
    from docsearch import DocSearch

    folder = CACHE / f"fusion_{name}"
    if not folder.exists():
        folder.mkdir(parents=True)
        for doc_id, text in docs.items():
            (folder / f"{doc_id}.txt").write_text(text + "\n", encoding="utf-8")
    ds = DocSearch(CACHE / f"fusion_{name}_index", model=model, device="cpu")
    ds.rebuild()
    ds.ingest([folder])
    index = ds._open(create=False)
    qids = list(queries)
    vectors = ds.encoder.encode([queries[q] for q in qids])
    out = {}
    for q, vector in zip(qids, vectors, strict=False):
        dense = index.search_vectors(vector[None, :], FETCH)[0]
        lexical = index.search_lexical(queries[q], FETCH)
        sentences = index.sentences([i for i, _ in dense] + [i for i, _ in lexical])
        out[q] = tuple(_per_document(ranking, sentences) for ranking in (dense, lexical))
    ds.close()
    return out


def _per_document(ranking, sentences) -> list[tuple[str, float]]:
    best: dict[str, float] = {}
    for sentence_id, score in ranking:
        s = sentences.get(sentence_id)
        if s is not None:
            best.setdefault(Path(s.path).stem, score)
    return list(best.items())


def rrf(dense_weight: float, k: int = 60) -> Callable:
    def fuse(dense, lexical):
        scores: dict[str, float] = {}
        for ranking, weight in ((dense, dense_weight), (lexical, 1.0)):
            for rank, (doc, _) in enumerate(ranking, 1):
                scores[doc] = scores.get(doc, 0.0) + weight / (k + rank)
        return sorted(scores, key=lambda d: -scores[d])

    return fuse


def normalized(dense_weight: float) -> Callable:
    """Convex combination of min-max normalised scores (a missing score counts as the minimum)."""

    def fuse(dense, lexical):
        def norm(ranking):
            if not ranking:
                return {}
            values = np.array([s for _, s in ranking])
            low, high = values.min(), values.max()
            return {d: (s - low) / (high - low) if high > low else 1.0 for d, s in ranking}

        nd, nl = norm(dense), norm(lexical)
        docs = set(nd) | set(nl)
        scores = {
            d: dense_weight * nd.get(d, 0.0) + (1 - dense_weight) * nl.get(d, 0.0) for d in docs
        }
        return sorted(docs, key=lambda d: -scores[d])

    return fuse


def rules() -> dict[str, Callable]:
    out: dict[str, Callable] = {
        "dense": lambda d, lex: [x for x, _ in d],
        "lexical": lambda d, lex: [x for x, _ in lex],
    }
    for w in (0.25, 0.5, 0.75, 1.0):
        out[f"rrf_w{w}"] = rrf(w)
    for w in (0.2, 0.3, 0.4, 0.5, 0.6):
        out[f"norm_w{w}"] = normalized(w)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    table: dict[str, dict[str, float]] = {}
    for name, (docs, queries, qrels) in dev_sets().items():
        cands = candidates(name, docs, queries, args.model)
        for rule, fuse in rules().items():
            rankings = {q: fuse(d, lex)[:10] for q, (d, lex) in cands.items()}
            table.setdefault(rule, {})[name] = round(mean_ndcg(rankings, qrels), 4)
        print(name, {r: v[name] for r, v in table.items()}, flush=True)
    dev_names = ("pubmedqa_dev", "arxiv_dev")
    for scores in table.values():
        scores["dev_mean"] = round(float(np.mean([scores[n] for n in dev_names])), 4)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fusion.json").write_text(json.dumps(table, indent=2) + "\n")
    print(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
