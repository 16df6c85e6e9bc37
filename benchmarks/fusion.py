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
    """Per query: the raw dense and lexical rankings from the real index, and their sentences."""
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
    for q, vector in zip(qids, vectors, strict=True):
        dense = index.search_vectors(vector[None, :], FETCH)[0]
        lexical = index.search_lexical(queries[q], FETCH)
        out[q] = (dense, lexical, index.sentences([i for i, _ in dense] + [i for i, _ in lexical]))
    ds.close()
    return out


def _documents(ranking, sentences) -> list[str]:
    """Document ids (file stems) in ranking order, each once."""
    return list(dict.fromkeys(Path(sentences[i].path).stem for i, _ in ranking if i in sentences))


def rrf(dense_weight: float, k: int = 60) -> Callable:
    """Weighted reciprocal rank fusion (the rejected alternative, kept for comparison)."""

    def fuse(dense, lexical, sentences):
        scores: dict[str, float] = {}
        for ranking, weight in ((dense, dense_weight), (lexical, 1.0)):
            for rank, doc in enumerate(_documents(ranking, sentences), 1):
                scores[doc] = scores.get(doc, 0.0) + weight / (k + rank)
        return sorted(scores, key=lambda d: -scores[d])

    return fuse


def normalized(dense_weight: float) -> Callable:
    """The engine's own fusion (docsearch.search.fuse) with the given dense weight."""
    from docsearch.search import fuse as engine_fuse

    def fuse(dense, lexical, sentences):
        document_of = {i: s.document_id for i, s in sentences.items()}
        return _documents(engine_fuse(dense, lexical, document_of, dense_weight), sentences)

    return fuse


def rules() -> dict[str, Callable]:
    out: dict[str, Callable] = {
        "dense": lambda d, lex, s: _documents(d, s),
        "lexical": lambda d, lex, s: _documents(lex, s),
    }
    for w in (0.25, 0.5, 1.0):
        out[f"rrf_w{w}"] = rrf(w)
    for w in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        out[f"norm_w{w}"] = normalized(w)
    return out


def choose(table: dict[str, dict[str, float]]) -> str:
    """The pre-registered rule: the best dev mean among the normalised rules; rules within 0.002
    of it count as tied, and a tie goes to the smallest dense weight (the lexical ranking is the
    stronger one alone on these sets)."""
    norm = {r: v["dev_mean"] for r, v in table.items() if r.startswith("norm_")}
    best = max(norm.values())
    tied = [r for r, v in norm.items() if v >= best - 0.002]
    return min(tied, key=lambda r: float(r.split("_w")[1]))


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
            rankings = {q: fuse(d, lex, s)[:10] for q, (d, lex, s) in cands.items()}
            table.setdefault(rule, {})[name] = round(mean_ndcg(rankings, qrels), 4)
        print(name, {r: v[name] for r, v in table.items()}, flush=True)
    dev_names = ("pubmedqa_dev", "arxiv_dev")
    for scores in table.values():
        scores["dev_mean"] = round(float(np.mean([scores[n] for n in dev_names])), 4)
    table["chosen"] = {"rule": choose(table)}  # type: ignore[dict-item]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fusion.json").write_text(json.dumps(table, indent=2) + "\n")
    print(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
