"""Sweep of `docsearch tune` hyper-parameters on SciFact, with the teacher's vectors cached.

    python benchmarks/tune_sweep.py [teacher] [base] '{"seconds": 300, "lr": 0.012, ...}' ...
    python benchmarks/tune_sweep.py '{"as_tune": true, "seconds": 360, "embedding_lr_scale": 10}'

Chooses the settings of `docsearch.tuning.trainer` cheaply: the teacher encodes the 50,165
abstract sentences of the tune.py base index once (cached in the benchmark cache), then each
JSON spec trains a copy of the shipped model for `seconds` with those TuneConfig fields
(`"keep": true` uses the base model's own vectors of `n` sentences as targets instead: the
self-supervised mode) and reports dense nDCG@10 of the 300 test claims (exact search in NumPy,
a document scored by its best sentence), the mean cosine to the teacher on 2,000 corpus
sentences (fit) and on the claims, and STS-B test.

Targets by default are the raw teacher vectors of all (or `n` random) sentences, the setting of
session 2. `"as_tune": true` gives the targets `docsearch tune --teacher` makes (session 14's
screen of `embedding_lr_scale`): the teacher's vectors of the first `n` (default 16,384, what
the teacher encodes in its 20% of 15 minutes) sentences in `coverage_order`, moved into the base
model's space by `in_base_space` with the spec's `teacher_map` and `teacher_whitening`; unset
TuneConfig fields then default to `WITH_TEACHER`'s. No held-out validation and no switch-over:
the sweep measures the loop alone, `tune.py` the whole of tune.

Claims and qrels are only measured, never trained on. `teacher` / `base` print the teacher's
and the untuned model's scores first. Run benchmarks/tune.py once before (it builds the base
index). Appends to benchmarks/results/tune_sweep.jsonl.
"""

import copy
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from quality import EVAL, RESULTS, load_scifact, mean_ndcg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from docsearch.encoder import Encoder  # noqa: E402
from docsearch.model_config import fingerprint, shipped_model_dir  # noqa: E402
from docsearch.training.evaluation import read_sts, sts_spearman  # noqa: E402
from docsearch.tuning.pairs import PairBatcher  # noqa: E402
from docsearch.tuning.run import in_base_space, read_corpus  # noqa: E402
from docsearch.tuning.teacher import coverage_order, load_teacher, teacher_vectors  # noqa: E402
from docsearch.tuning.trainer import WITH_TEACHER, Targets, TuneConfig, train_until  # noqa: E402
from indexer import Index  # noqa: E402

CACHE = Path.home() / ".cache/docsearch/bench"
TUNE_TEACHER_SENTENCES = 16_384


def as_tune_targets(
    base: Encoder, texts: list[str], teacher: np.ndarray, n: int, config: TuneConfig
) -> Targets:
    """What `docsearch tune --teacher` trains on: the first n sentences in coverage order, their
    teacher vectors moved into the base model's space."""
    rows = coverage_order(texts, config.seed)[:n]
    chosen = [texts[i] for i in rows]
    moved = in_base_space(
        teacher[rows],
        base.encode(chosen),
        how=config.teacher_map,
        whitening=config.teacher_whitening,
    )
    return Targets(chosen, moved)


def cached_teacher(texts: list[str], claims: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The teacher's vectors of every corpus sentence and of the claims (computed once)."""
    sentences_path = CACHE / "scifact_teacher_sentences.npy"
    claims_path = CACHE / "scifact_teacher_claims.npy"
    if not sentences_path.exists():
        teacher = load_teacher("cpu")
        rows, vectors = teacher_vectors(teacher, texts, float("inf"))
        full = np.zeros((len(texts), vectors.shape[1]), np.float32)
        full[rows] = vectors
        np.save(sentences_path, full)
        np.save(claims_path, teacher.encode(claims, normalize_embeddings=True))
    return np.load(sentences_path), np.load(claims_path)


def main() -> None:
    index = Index.open(CACHE / f"tune_base_{fingerprint(shipped_model_dir())}")  # SciFact's
    corpus = read_corpus(index)
    paths = {d.id: Path(d.path).stem for d in index.documents()}
    doc_of = np.array([paths[int(i)] for i in corpus.document_ids])
    _, queries, qrels = load_scifact()
    qids = list(queries)
    claims = [queries[q] for q in qids]
    teacher, teacher_claims = cached_teacher(corpus.texts, claims)
    sts = read_sts(EVAL / "stsb" / "sts-test.jsonl")

    def dense_ndcg(sentence_vectors: np.ndarray, claim_vectors: np.ndarray) -> float:
        scores = claim_vectors @ sentence_vectors.T
        rankings = {}
        for row, q in enumerate(qids):
            ranked: list[str] = []
            for j in np.argsort(-scores[row])[:300]:
                if doc_of[j] not in ranked:
                    ranked.append(doc_of[j])
                if len(ranked) == 10:
                    break
            rankings[q] = ranked
        return mean_ndcg(rankings, qrels)

    def evaluate(encoder: Encoder) -> dict[str, float]:
        sentence_vectors = encoder.encode(corpus.texts)
        claim_vectors = encoder.encode_queries(claims)
        sample = np.random.default_rng(1).choice(len(corpus.texts), 2000, replace=False)
        fit = (sentence_vectors[sample] * teacher[sample]).sum(1).mean()
        return {
            "dense": round(dense_ndcg(sentence_vectors, claim_vectors), 4),
            "fit_cos": round(float(fit), 3),
            "claims_cos": round(float((claim_vectors * teacher_claims).sum(1).mean()), 3),
            "stsb": round(sts_spearman(encoder.encode, *sts), 4),
        }

    base = Encoder.load(None, device="cpu")
    if "teacher" in sys.argv:
        print("teacher dense", round(dense_ndcg(teacher, teacher_claims), 4), flush=True)
    if "base" in sys.argv:
        print("base", evaluate(base), flush=True)
    for spec in [a for a in sys.argv[1:] if a.startswith("{")]:
        fields = json.loads(spec)
        seconds, n, keep, as_tune = (
            fields.pop("seconds", 480),
            fields.pop("n", None),
            fields.pop("keep", False),
            fields.pop("as_tune", False),
        )
        if as_tune:
            config = dataclasses.replace(WITH_TEACHER, **fields)
            n_tune = TUNE_TEACHER_SENTENCES if n is None else n
            targets = as_tune_targets(base, corpus.texts, teacher, n_tune, config)
        else:
            config = TuneConfig(**fields)
            rng = np.random.default_rng(0)
            everything = np.arange(len(corpus.texts))
            rows = everything if n is None else rng.choice(len(corpus.texts), n, False)
            texts = [corpus.texts[i] for i in rows]
            targets = Targets(texts, base.encode(texts) if keep else teacher[rows])
        model = copy.deepcopy(base.model)
        started = time.time()
        steps = train_until(
            model,
            base.tokenizer,
            PairBatcher(corpus),
            targets,
            seconds,
            config,
            device=torch.device("cpu"),
        )
        tuned = Encoder(model.eval(), base.tokenizer, name="sweep", fingerprint="")
        line = json.dumps(
            {
                "cfg": spec,
                "steps": steps,
                "train_s": round(time.time() - started),
                **evaluate(tuned),
            }
        )
        print(line, flush=True)
        with open(RESULTS / "tune_sweep.jsonl", "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
