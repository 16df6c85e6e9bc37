"""Which unit should dense retrieval score? Measured on indexes built by the other scripts.

    python benchmarks/dense_units.py [--model DIR]

For each dev set whose index `quality.py` or `debian_faq.py` left in the bench cache
(Cranfield, SciFact, the sqlite3-doc and git-doc FAQs), the stored sentence vectors, their
documents and the engine's passages are read back, every query is scored exactly (no FAISS
approximation) and documents are ranked by:

- `sentence`: the best sentence (what the engine does today);
- `window3`: the best window of three consecutive sentences, vectors averaged;
- `passage_pooled`: the best passage (the lexical side's passages), sentence vectors averaged;
- `passage_encoded`: the best passage, its text encoded whole by the model;
- `top3`: the mean of the document's three best sentences (fewer if it has fewer);
- `max_plus_top3`: half the best sentence plus half the `top3` mean;
- `sentence_or_passage`: the better of the best sentence and the best pooled passage;
- `sentence_or_passage_encoded`: the better of the best sentence and the best passage encoded
  whole (session 17);
- `sentence_rrf_passage`: reciprocal-rank fusion (k = 60) of the document rankings by best
  sentence and by best passage encoded whole, each on its own scale (session 17).

With `--model` (a model other than the one that built the indexes) the sentences are encoded
again by it (session 17; before, its queries met the indexes' v4 sentence vectors), and the
zsh-doc FAQ is measured too.

`--hybrid` (session 17) measures instead what each unit does inside the engine's hybrid: the
model's 100 best sentences, or passages (encoded whole, each shown by its first sentence), or
both with a document scored by the mean of its best sentence's and best passage's cosines (one
missing from a side takes that side's lowest), fused with the index's lexical candidates by the
engine's rule (`docsearch.fusion.fuse`, as `dense_dev.py` does), and the dense ranking of those
candidates alone; results under the key "hybrid_by_unit". With `--pooled` (session 18) the
passages are pooled from the model's sentence vectors instead of encoded whole (key
"hybrid_by_unit_pooled").

Queries are encoded as the engine encodes them (`Encoder.encode_queries`). `--teacher` (session
16) measures all-MiniLM-L6-v2 instead, on the zsh-doc FAQ too, with its own vectors of the
sentences and of the passages encoded whole: `sentence`, `passage_encoded` and
`sentence_or_passage_encoded` (a document by the best of its sentences and passages), the
ceiling of a student of it under each unit (~20 minutes more than `dense_dev.py --teacher`,
whose sentence vectors it shares; results under the key "teacher" of the same JSON). Metrics as in
`quality.py` / `debian_faq.py`: nDCG@10 for Cranfield and SciFact, MRR@10 for the FAQs.
Writes benchmarks/results/dense_units.json.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from machine import CACHE, RESULTS, machine_info

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import debian_faq  # noqa: E402
import quality  # noqa: E402

UNITS = (
    "sentence",
    "window3",
    "passage_pooled",
    "passage_encoded",
    "top3",
    "max_plus_top3",
    "sentence_or_passage",
    "sentence_or_passage_encoded",
    "sentence_rrf_passage",
)


def dev_sets() -> dict[str, tuple[str, Path, dict[str, str], dict[str, dict[str, int]]]]:
    """name -> (metric, index folder, queries {id: text}, relevant {query id: {stem: grade}})."""
    out = {}
    for name in ("cranfield", "scifact"):
        _, queries, qrels = quality.load_beir(name)
        out[name] = ("ndcg10", CACHE / f"{name}_index", queries, qrels)
    for package, parse, source in (
        ("sqlite3-doc", debian_faq.sqlite_faq, "faq.html"),
        ("git-doc", debian_faq.git_faq, "gitfaq.txt"),
    ):
        items = parse(debian_faq.unpacked(package) / source)
        queries = {ident: question for ident, question, _ in items}
        relevant = {ident: {f"faq-answer-{ident}": 1} for ident, _, _ in items}
        out[package] = ("mrr10", CACHE / f"debian_{package}_index", queries, relevant)
    return out


class StoredIndex:
    """An index's sentence vectors with their documents, order and passages, read back."""

    def __init__(self, folder: Path) -> None:
        from indexer.faiss_index import FaissIndex

        generation = json.loads((folder / "manifest.json").read_text())["generation"]
        ids, vectors = FaissIndex.load(folder / f"vectors.{generation}.faiss").contents()
        db = sqlite3.connect(folder / "index.sqlite3")
        rows = db.execute(
            "SELECT s.id, s.document_id, s.ordinal, d.path FROM sentences s "
            "JOIN documents d ON d.id = s.document_id ORDER BY s.document_id, s.ordinal"
        ).fetchall()
        passages = db.execute(
            "SELECT document_id, first_sentence_id, last_sentence_id FROM passages"
        ).fetchall()
        self.passage_texts = [
            " ".join(
                t
                for (t,) in db.execute(
                    "SELECT text FROM sentences WHERE id BETWEEN ? AND ? ORDER BY id", (a, b)
                )
            )
            for _, a, b in passages
        ]
        db.close()
        row_of = {int(i): n for n, i in enumerate(ids)}
        order = np.array([row_of[r[0]] for r in rows])
        self.vectors = vectors[order].astype(np.float32)
        self.sentence_row = {r[0]: n for n, r in enumerate(rows)}
        self.sentence_ids = np.array([r[0] for r in rows], np.int64)  # of each row
        self.doc = np.array([r[1] for r in rows])
        self.stem = {r[1]: Path(r[3]).stem for r in rows}
        self.passages = [
            (doc, self.sentence_row[a], self.sentence_row[b] + 1) for doc, a, b in passages
        ]


def pooled(vectors: np.ndarray) -> np.ndarray:
    summed = vectors.sum(0)
    return summed / max(float(np.linalg.norm(summed)), 1e-12)


def unit_vectors(stored: StoredIndex, encode_texts: Callable[[list[str]], np.ndarray]):
    """unit name -> (float32[units, dim], document of each unit), for the pooled units."""
    windows, window_doc = [], []
    for n in range(len(stored.doc)):
        lo, hi = n - 1, n + 2
        same = [
            m for m in range(max(0, lo), min(len(stored.doc), hi)) if stored.doc[m] == stored.doc[n]
        ]
        windows.append(pooled(stored.vectors[same]))
        window_doc.append(stored.doc[n])
    passage_doc = np.array([doc for doc, _, _ in stored.passages])
    passage_pooled = np.stack([pooled(stored.vectors[a:b]) for _, a, b in stored.passages])
    return {
        "window3": (np.stack(windows), np.array(window_doc)),
        "passage_pooled": (passage_pooled, passage_doc),
        "passage_encoded": (encode_texts(stored.passage_texts), passage_doc),
    }


def rank_documents(scores: np.ndarray, owner: np.ndarray, rule: str, k: int = 10) -> list[int]:
    """Documents ranked by their units' scores under `rule` (max, top3, max_plus_top3)."""
    order = np.argsort(-scores)
    best: dict[int, list[float]] = {}
    for n in order[: max(2000, 50 * k)]:
        best.setdefault(int(owner[n]), []).append(float(scores[n]))
    if rule == "max":
        value = {d: s[0] for d, s in best.items()}
    elif rule == "top3":
        value = {d: float(np.mean(s[:3])) for d, s in best.items()}
    else:
        value = {d: 0.5 * s[0] + 0.5 * float(np.mean(s[:3])) for d, s in best.items()}
    return sorted(value, key=lambda d: -value[d])[:k]


def score(metric: str, ranked: list[str], relevant: dict[str, int]) -> float:
    if metric == "ndcg10":
        return float(quality.ndcg_at_k(ranked, relevant, 10))
    for rank, stem in enumerate(ranked[:10], 1):
        if stem in relevant:
            return 1.0 / rank
    return 0.0


def rrf(first: list[int], second: list[int], k: int = 10, c: int = 60) -> list[int]:
    """Reciprocal-rank fusion of two document rankings, the best k."""
    value: dict[int, float] = {}
    for ranking in (first, second):
        for rank, doc in enumerate(ranking, 1):
            value[doc] = value.get(doc, 0.0) + 1.0 / (c + rank)
    return sorted(value, key=lambda d: -value[d])[:k]


def measure(
    encoder, name: str, metric: str, folder: Path, queries, relevant, reencode: bool = False
) -> dict[str, float]:
    import dense_dev

    stored = StoredIndex(folder)
    if reencode:
        stored.vectors = encoder.encode(dense_dev.sentence_texts(folder)).astype(np.float32)
    units = unit_vectors(stored, lambda texts: encoder.encode(texts))
    qids = [q for q in queries if q in relevant]
    query_vectors = encoder.encode_queries([queries[q] for q in qids])
    out = {}
    for unit in UNITS:
        if unit in ("sentence_or_passage", "sentence_or_passage_encoded"):
            passages = units[
                "passage_pooled" if unit == "sentence_or_passage" else "passage_encoded"
            ]
            vectors = np.concatenate([stored.vectors, passages[0]])
            owner = np.concatenate([stored.doc, passages[1]])
            rule = "max"
        elif unit == "sentence_rrf_passage":
            vectors, owner, rule = stored.vectors, stored.doc, "rrf"
        elif unit in units:
            vectors, owner, rule = *units[unit], "max"
        else:
            vectors, owner = stored.vectors, stored.doc
            rule = {"sentence": "max"}.get(unit, unit)
        totals = []
        for q, v in zip(qids, query_vectors, strict=True):
            if rule == "rrf":
                passage, passage_doc = units["passage_encoded"]
                ranked = rrf(
                    rank_documents(vectors @ v, owner, "max", k=100),
                    rank_documents(passage @ v, passage_doc, "max", k=100),
                )
            else:
                ranked = rank_documents(vectors @ v, owner, rule)
            totals.append(score(metric, [stored.stem[d] for d in ranked], relevant[q]))
        out[unit] = round(float(np.mean(totals)), 4)
    out["sentences"] = len(stored.doc)
    out["passages"] = len(stored.passages)
    print(name, metric, json.dumps(out), flush=True)
    return out


def measure_teacher(teacher, metric: str, folder: Path, queries, relevant) -> dict[str, float]:
    """The teacher's dense scores by unit (see the module docstring)."""
    import dense_dev

    stored = StoredIndex(folder)
    sentences = teacher.encode(dense_dev.sentence_texts(folder))
    passages = teacher.encode(stored.passage_texts)
    passage_doc = np.array([doc for doc, _, _ in stored.passages])
    units = {
        "sentence": (sentences, stored.doc),
        "passage_encoded": (passages, passage_doc),
        "sentence_or_passage_encoded": (
            np.concatenate([sentences, passages]),
            np.concatenate([stored.doc, passage_doc]),
        ),
    }
    qids = [q for q in queries if q in relevant]
    query_vectors = teacher.encode_queries([queries[q] for q in qids])
    out: dict[str, float] = {}
    for unit, (vectors, owner) in units.items():
        totals = [
            score(
                metric,
                [stored.stem[d] for d in rank_documents(vectors @ v, owner, "max")],
                relevant[q],
            )
            for q, v in zip(qids, query_vectors, strict=True)
        ]
        out[unit] = round(float(np.mean(totals)), 4)
    out["passages"] = len(stored.passages)
    return out


HYBRID_UNITS = ("sentence", "passage", "sentence_passage_mean")


def candidates_by_unit(
    sentence_scores: np.ndarray,
    passage_scores: np.ndarray,
    ids: np.ndarray,
    first: np.ndarray,
    document_of: dict[int, int],
    fetch: int,
    mixes: tuple[float, ...] = (),
) -> dict[str, list[tuple[int, float]]]:
    """unit -> dense candidates (sentence id, score), best first, as `fuse` takes them; `ids`
    are the sentence ids of the sentence rows, `first` those of each passage's first sentence
    (the sentence a passage is shown by)."""
    by_sentence = [(int(ids[r]), float(sentence_scores[r])) for r in top(sentence_scores, fetch)]
    by_passage = [(int(first[r]), float(passage_scores[r])) for r in top(passage_scores, fetch)]
    best_sentence: dict[int, tuple[int, float]] = {}
    best_passage: dict[int, tuple[int, float]] = {}
    for best, ranked in ((best_sentence, by_sentence), (best_passage, by_passage)):
        for i, cosine in ranked:
            best.setdefault(document_of[i], (i, cosine))
    floor_s = min(c for _, c in best_sentence.values())
    floor_p = min(c for _, c in best_passage.values())
    mean = [
        (
            (best_sentence.get(d) or best_passage[d])[0],
            0.5 * (best_sentence.get(d, (0, floor_s))[1] + best_passage.get(d, (0, floor_p))[1]),
        )
        for d in best_sentence.keys() | best_passage.keys()
    ]
    mean.sort(key=lambda item: -item[1])
    out = {"sentence": by_sentence, "passage": by_passage, "sentence_passage_mean": mean}
    for mix in mixes:  # session 19: the sentence's share other than a half
        mixed = [
            (
                (best_sentence.get(d) or best_passage[d])[0],
                mix * best_sentence.get(d, (0, floor_s))[1]
                + (1 - mix) * best_passage.get(d, (0, floor_p))[1],
            )
            for d in best_sentence.keys() | best_passage.keys()
        ]
        out[f"sentence_passage_mix{mix}"] = sorted(mixed, key=lambda item: -item[1])
    return out


def top(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the k best scores, best first."""
    rows = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
    return rows[np.argsort(-scores[rows])]


def measure_hybrid(
    encoder,
    metric: str,
    folder: Path,
    queries,
    relevant,
    pooled_passages: bool = False,
    mixes: tuple[float, ...] = (),
    weights: tuple[float, ...] = (),
) -> dict[str, float]:
    """Dense and hybrid by unit (see the module docstring); with `weights`, also the hybrid
    of the sentence-passage mean at each of these fixed dense weights."""
    import dense_dev

    from docsearch.fusion import fuse

    stored = StoredIndex(folder)
    document_of = {int(i): int(d) for i, d in zip(stored.sentence_ids, stored.doc, strict=True)}
    sentences = encoder.encode(dense_dev.sentence_texts(folder), batch_size=128)
    if pooled_passages:
        passages = np.stack([pooled(sentences[a:b]) for _, a, b in stored.passages])
    else:
        passages = encoder.encode(stored.passage_texts, batch_size=64)
    qids = [q for q in queries if q in relevant]
    lexical = dense_dev.lexical_candidates(folder, [queries[q] for q in qids])
    query_vectors = encoder.encode_queries([queries[q] for q in qids])
    ids = stored.sentence_ids
    first = np.array([ids[a] for _, a, _ in stored.passages])
    totals: dict[str, list[float]] = {}

    def add(key: str, ranked: list[tuple[int, float]], q: str) -> None:
        stems = list(dict.fromkeys(stored.stem[document_of[i]] for i, _ in ranked))
        totals.setdefault(key, []).append(score(metric, stems, relevant[q]))

    for n, (q, v) in enumerate(zip(qids, query_vectors, strict=True)):
        units = candidates_by_unit(
            sentences @ v, passages @ v, ids, first, document_of, dense_dev.FETCH, mixes
        )
        for unit, dense in units.items():
            add(f"dense_{unit}", dense, q)
            add(f"hybrid_{unit}", fuse(dense, lexical[n], document_of), q)
        for weight in weights:
            mean = units["sentence_passage_mean"]
            add(
                f"hybrid_sentence_passage_mean_w{weight}",
                fuse(mean, lexical[n], document_of, weight),
                q,
            )
    return {key: round(float(np.mean(values)), 4) for key, values in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=None, help="encoder (default: shipped)")
    parser.add_argument("--out", type=Path, default=RESULTS / "dense_units.json")
    parser.add_argument("--teacher", action="store_true", help="all-MiniLM-L6-v2 instead")
    parser.add_argument("--hybrid", action="store_true", help="each unit in the engine's hybrid")
    parser.add_argument(
        "--pooled", action="store_true", help="with --hybrid: passages pooled from sentences"
    )
    parser.add_argument(
        "--mixes",
        default="",
        help="with --hybrid: also these shares of the sentence in the sentence-passage mean "
        "(e.g. 0.3,0.7); results under the key hybrid_by_unit_mixes",
    )
    parser.add_argument(
        "--weights",
        default="",
        help="with --hybrid: also the sentence-passage mean fused at these fixed dense weights",
    )
    args = parser.parse_args()
    import dense_dev  # imports this module: not at the top

    if args.teacher and not args.hybrid:
        teacher = dense_dev.TeacherEncoder()
        found = json.loads(args.out.read_text()) if args.out.exists() else {}
        found["teacher"] = {"machine": machine_info()}
        for name, (metric, folder, queries, relevant) in dense_dev.dev_sets().items():
            found["teacher"][name] = measure_teacher(teacher, metric, folder, queries, relevant)
            print(name, json.dumps(found["teacher"][name]), flush=True)
            args.out.write_text(json.dumps(found, indent=2) + "\n")
        return
    from docsearch.encoder import Encoder

    encoder = dense_dev.TeacherEncoder() if args.teacher else Encoder.load(args.model, device="cpu")
    if args.hybrid:
        found = json.loads(args.out.read_text()) if args.out.exists() else {}
        mixes = tuple(float(m) for m in args.mixes.split(",") if m)
        weights = tuple(float(w) for w in args.weights.split(",") if w)
        key = "hybrid_by_unit_pooled" if args.pooled else "hybrid_by_unit"
        key = "hybrid_by_unit_mixes" if mixes else key
        key = f"teacher_{key}" if args.teacher else key
        found[key] = {"machine": machine_info(), "model": encoder.name}
        for name, (metric, folder, queries, relevant) in dense_dev.dev_sets().items():
            measured = measure_hybrid(
                encoder, metric, folder, queries, relevant, args.pooled, mixes, weights
            )
            found[key][name] = measured
            print(name, json.dumps(measured), flush=True)
            args.out.write_text(json.dumps(found, indent=2) + "\n")
        return
    result: dict[str, object] = {"machine": machine_info(), "model": encoder.name}
    sets = dense_dev.dev_sets() if args.model else dev_sets()
    for name, (metric, folder, queries, relevant) in sets.items():
        if not (folder / "manifest.json").exists():
            print(f"{name}: no index at {folder}; run quality.py / debian_faq.py first")
            continue
        result[name] = measure(
            encoder, name, metric, folder, queries, relevant, reencode=args.model is not None
        )
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
