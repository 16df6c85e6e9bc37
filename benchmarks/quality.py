"""Retrieval and similarity quality of docsearch, measured through the real engine, with references.

    python benchmarks/quality.py [--model DIR] [--no-references]

- SciFact (BEIR): each abstract (title + text) is a document ingested by `docsearch`; the 300
  test claims are queried in dense, lexical and hybrid mode; nDCG@10 over documents.
- Cranfield (session 6): the same for 1,398 aeronautics abstracts and 225 questions that
  paraphrase them (graded judgements). References for it are in ../shared/data/README.md.
- STS Benchmark test: Spearman correlation of the encoder's cosine similarity with gold scores.
- References on the same data: BM25 (bm25s) over whole documents, and all-MiniLM-L6-v2 with an
  exact FAISS index over ~200-word passages (a document scored by its best passage);
  `--minilm-sentences` adds MiniLM at sentence level through docsearch's own splitter (a
  document scored by its best sentence; ~50k sentences, slow on a CPU).

Needs the evaluation data in ../shared/data/eval and, for the references,
`pip install --group bench`.
Writes benchmarks/results/quality.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "data" / "eval"
CACHE = Path(os.environ.get("DOCSEARCH_BENCH_CACHE", "~/.cache/docsearch/bench")).expanduser()
RESULTS = REPO / "benchmarks" / "results"

sys.path.insert(0, str(REPO))
from docsearch.training.evaluation import ndcg_at_k, read_sts, sts_spearman  # noqa: E402


def load_scifact() -> tuple[dict[str, tuple[str, str]], dict[str, str], dict[str, dict[str, int]]]:
    """corpus id -> (title, text); test query id -> claim; qrels query id -> {doc id: grade}."""
    return load_beir("scifact")


def load_beir(
    name: str,
) -> tuple[dict[str, tuple[str, str]], dict[str, str], dict[str, dict[str, int]]]:
    """A BEIR-format set in ../shared/data/eval/<name>: corpus, test queries and qrels."""
    corpus = {}
    with gzip.open(EVAL / name / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            corpus[row["_id"]] = (row["title"], row["text"])
    qrels: dict[str, dict[str, int]] = {}
    with open(EVAL / name / "qrels" / "test.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            qid, did, score = line.split()
            qrels.setdefault(qid, {})[did] = int(score)
    queries = {}
    with open(EVAL / name / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["_id"] in qrels:
                queries[row["_id"]] = row["text"]
    return corpus, queries, qrels


def write_corpus_files(corpus: dict[str, tuple[str, str]], name: str = "scifact") -> Path:
    """One text file per abstract (title line, blank line, abstract), so ingest reads real files.

    Cranfield's text already begins with its title, so it is written alone; its two empty
    abstracts are left out (nothing to find).
    """
    folder = CACHE / f"{name}_docs"
    if name == "cranfield":
        corpus = {d: ("", x) for d, (_, x) in corpus.items() if x.strip()}
    if not folder.exists() or len(list(folder.iterdir())) != len(corpus):
        folder.mkdir(parents=True, exist_ok=True)
        for doc_id, (title, text) in corpus.items():
            head = f"{title}\n\n" if title else ""
            (folder / f"{doc_id}.txt").write_text(f"{head}{text}\n", encoding="utf-8")
    return folder


def mean_ndcg(rankings: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> float:
    return float(np.mean([ndcg_at_k(rankings.get(q, []), rel, 10) for q, rel in qrels.items()]))


def docsearch_scifact(model: Path | None, corpus, queries, qrels) -> dict[str, object]:
    return docsearch_beir("scifact", model, corpus, queries, qrels)


def docsearch_beir(name: str, model: Path | None, corpus, queries, qrels) -> dict[str, object]:
    """Ingest a BEIR set's documents as files and score dense, lexical and hybrid nDCG@10."""
    from docsearch import DocSearch

    folder = write_corpus_files(corpus, name)
    index_dir = CACHE / f"{name}_index"
    ds = DocSearch(index_dir, model=model, device="cpu")
    ds.rebuild()
    started = time.perf_counter()
    report = ds.ingest([folder])
    ingest_s = time.perf_counter() - started
    out: dict[str, object] = {
        "ingest_seconds": round(ingest_s, 1),
        "sentences": report.sentences,
        "documents": report.added,
    }
    qids = list(queries)
    for mode in ("dense", "lexical", "hybrid"):
        started = time.perf_counter()
        results = ds.search_many(
            [queries[q] for q in qids], k=10, mode=mode, context=0, per_document=1
        )
        seconds = time.perf_counter() - started
        rankings = {
            q: [Path(h.path).stem for h in hits] for q, hits in zip(qids, results, strict=False)
        }
        out[mode] = round(mean_ndcg(rankings, qrels), 4)
        out[f"{mode}_ms_per_query"] = round(1000 * seconds / len(qids), 2)
    ds.close()
    return out


def bm25_scifact(corpus, queries, qrels) -> float:
    import bm25s

    ids = list(corpus)
    texts = [f"{corpus[i][0]} {corpus[i][1]}" for i in ids]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    qids = list(queries)
    docs, _ = retriever.retrieve(
        bm25s.tokenize([queries[q] for q in qids], stopwords="en", show_progress=False),
        k=10,
        show_progress=False,
    )
    rankings = {q: [ids[j] for j in row] for q, row in zip(qids, docs, strict=False)}
    return round(mean_ndcg(rankings, qrels), 4)


def passages(text: str, words: int = 200) -> list[str]:
    tokens = text.split()
    return [" ".join(tokens[i : i + words]) for i in range(0, max(1, len(tokens)), words)]


def minilm(corpus, queries, qrels, sts, levels=("passage",)) -> dict[str, float]:
    """all-MiniLM-L6-v2: passage-level and sentence-level SciFact, and STS-B test."""
    import faiss

    from docsearch.documents import read_bytes
    from docsearch.splitting import split_document
    from docsearch.training.teacher import load_teacher

    model = load_teacher("cpu")

    def encode(texts: list[str]) -> np.ndarray:
        return model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)

    out: dict[str, float] = {}
    qids = list(queries)
    qv = encode([queries[q] for q in qids]).astype(np.float32)
    for level in levels:
        cache = CACHE / f"minilm_scifact_{level}.npz"
        owners, texts = [], []
        for doc_id, (title, text) in corpus.items():
            if level == "passage":
                units = passages(f"{title} {text}")
            else:
                doc = read_bytes(f"{doc_id}.txt", f"{title}\n\n{text}\n".encode())
                units = [s.text for s in split_document(doc)]
            owners += [doc_id] * len(units)
            texts += units
        if cache.exists():
            vectors = np.load(cache)["vectors"]
        else:
            vectors = encode(texts).astype(np.float32)
            np.savez(cache, vectors=vectors)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        _, rows = index.search(qv, 200)
        rankings = {}
        for q, row in zip(qids, rows, strict=False):
            ranked = list(dict.fromkeys(owners[j] for j in row if j >= 0))
            rankings[q] = ranked[:10]
        out[f"scifact_{level}"] = round(mean_ndcg(rankings, qrels), 4)
    out["stsb_test"] = round(sts_spearman(encode, *sts), 4)
    return out


def machine() -> dict[str, object]:
    import torch

    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--model", type=Path, default=None, help="encoder directory (default: shipped)"
    )
    parser.add_argument("--no-references", action="store_true", help="skip BM25 and MiniLM")
    parser.add_argument("--references-only", action="store_true", help="only BM25 and MiniLM")
    parser.add_argument("--minilm-sentences", action="store_true", help="also MiniLM per sentence")
    parser.add_argument("--out", type=Path, default=RESULTS / "quality.json")
    args = parser.parse_args()
    if not EVAL.exists():
        sys.exit(f"no evaluation data at {EVAL}")
    CACHE.mkdir(parents=True, exist_ok=True)

    sts = read_sts(EVAL / "stsb" / "sts-test.jsonl")
    corpus, queries, qrels = load_scifact()
    result: dict[str, object] = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    if not args.references_only:
        from docsearch.encoder import Encoder

        encoder = Encoder.load(args.model, device="cpu")
        result["model"] = encoder.name
        result["model_fingerprint"] = encoder.fingerprint
        result["docsearch"] = {
            "stsb_test": round(sts_spearman(encoder.encode, *sts), 4),
            "scifact": docsearch_scifact(args.model, corpus, queries, qrels),
            "cranfield": docsearch_beir("cranfield", args.model, *load_beir("cranfield")),
        }
    if not args.no_references:
        result["bm25s_scifact"] = bm25_scifact(corpus, queries, qrels)
        levels = ("passage", "sentence") if args.minilm_sentences else ("passage",)
        result["minilm"] = minilm(corpus, queries, qrels, sts, levels)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
