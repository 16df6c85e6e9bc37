"""Quality measures used during training and by benchmarks/: STS Spearman, nDCG@k."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    ra, rb = _ranks(np.asarray(a, float)), _ranks(np.asarray(b, float))
    return float(np.corrcoef(ra, rb)[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    # Ties share the mean of their ranks.
    values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.zeros(len(values))
    np.add.at(sums, inverse, ranks)
    return (sums / counts)[inverse]


def read_sts(path: Path) -> tuple[list[str], list[str], list[float]]:
    """Read an STS Benchmark JSONL split: (sentence1s, sentence2s, gold scores 0-5)."""
    left, right, gold = [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            left.append(row["sentence1"])
            right.append(row["sentence2"])
            gold.append(float(row["score"]))
    return left, right, gold


def sts_spearman(
    encode: Callable[[list[str]], np.ndarray], left: list[str], right: list[str], gold: list[float]
) -> float:
    """Spearman correlation between cosine similarities of `encode`d pairs and gold scores.

    Args:
        encode: texts -> float32[n, dim] unit vectors.
    """
    a, b = encode(left), encode(right)
    return spearman((a * b).sum(1).tolist(), gold)


def sts_model_evaluator(path: Path, tokenizer: object) -> Callable[[object], float]:
    """A `training.train` evaluation: a model -> its STS Spearman on the split at `path`
    (encoded on the CPU through `Encoder`; the loop moves the model back to its device)."""
    from docsearch.encoder import Encoder

    left, right, gold = read_sts(path)

    def evaluate(model: object) -> float:
        encoder = Encoder(model, tokenizer, name="training", fingerprint="")  # type: ignore[arg-type]
        return sts_spearman(encoder.encode, left, right, gold)

    return evaluate


def ndcg_at_k(ranked: Sequence[str], relevant: dict[str, int], k: int = 10) -> float:
    """nDCG@k of one ranking with graded relevance (BEIR / trec_eval convention)."""
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(rel / math.log2(i + 2) for i, rel in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0
