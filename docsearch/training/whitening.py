"""Whitening: a last, linear step that spreads the encoder's vectors evenly over all directions.

A distilled student's vectors crowd into a few directions, so cosine similarity is dominated by
what all sentences share. Subtracting the mean and rescaling every principal direction to unit
variance (Su et al. 2021, "Whitening sentence representations"), here only part of the way
(`STRENGTH`), fixes that. The statistics come from the projections (before L2 normalisation) of
a sample of training texts, and the transform is folded into the final linear layer, so the
model's files, its size and its speed do not change:

    z = M^T (A p + c - mean) = (M^T A) p + M^T (c - mean)

Measured on the development sets (model cards of bigru-minilm-v3 and v4): it raised STS-B
dev and every dense retrieval dev score of bigru-minilm-v2; vectors spread evenly need more
IVF lists probed for the same recall (benchmarks/RESULTS.md, query latency). Training that
continues from a whitened model with distillation pulls it back towards the teacher's space;
start such runs from the unwhitened one.
"""

from __future__ import annotations

import numpy as np
import torch

from docsearch.model import BiGRUEncoder
from docsearch.tokenizer import Tokenizer
from docsearch.training.train import pad_batch

# Partial whitening, chosen on the development sets for bigru-minilm-v2 (mean of STS-B dev and
# three dense retrieval dev sets): 0.794 unwhitened, 0.812 / 0.828 / 0.831 / 0.826 at strength
# 0.25 / 0.5 / 0.75 / 1. Full whitening also spreads vectors so evenly that IVF search needs
# more lists probed for the same recall.
STRENGTH = 0.75
# Added to every variance so that a direction the sample never varies in is not blown up.
EPSILON = 1e-6


def fit_whitening(vectors: np.ndarray, strength: float = STRENGTH) -> tuple[np.ndarray, np.ndarray]:
    """The mean and the matrix M such that `(vectors - mean) @ M` has identity covariance
    (`strength` 1), or each principal direction's variance v scaled to v ** (1 - strength).

    Args:
        vectors: float[n, d], n more than twice d.
        strength: 0 only centres (and rotates), 1 whitens fully.

    Returns:
        (float64[d] mean, float64[d, d] M).
    """
    data = np.asarray(vectors, np.float64)
    if data.shape[0] <= 2 * data.shape[1]:
        raise ValueError(
            f"whitening {data.shape[1]} dimensions needs more samples than {data.shape[0]}"
        )
    mean = data.mean(0)
    variances, directions = np.linalg.eigh(np.cov((data - mean).T))
    return mean, directions * (np.maximum(variances, 0.0) + EPSILON) ** (-strength / 2)


def whiten_unit(vectors: np.ndarray, strength: float = STRENGTH) -> np.ndarray:
    """Unit vectors after partial whitening fitted on themselves (strength 0: unchanged).

    Used on a teacher's vectors before they become a whitened student's targets, so that the
    targets have the geometry the student's own vectors have.
    """
    if strength == 0:
        return vectors
    return whitened_unit(vectors, *fit_whitening(vectors.astype(np.float64), strength))


def whitened_unit(vectors: np.ndarray, mean: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """`(vectors - mean) @ matrix` (`fit_whitening`'s map, fitted on these or other vectors)
    as float32 unit vectors."""
    out: np.ndarray = (vectors - mean) @ matrix
    out /= np.linalg.norm(out, axis=1, keepdims=True).clip(1e-12)
    return out.astype(np.float32)


@torch.no_grad()
def projections(
    model: BiGRUEncoder, tokenizer: Tokenizer, texts: list[str], batch_size: int = 256
) -> np.ndarray:
    """The model's vectors of `texts` before L2 normalisation: float32[n, out_dim]."""
    model.eval()
    rows = tokenizer.encode(texts)
    out = []
    for i in range(0, len(rows), batch_size):
        ids, lengths = pad_batch(rows[i : i + batch_size], model.config.max_tokens)
        out.append(model.projected(ids, lengths).float().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.out_dim), np.float32)


@torch.no_grad()
def fold_whitening(model: BiGRUEncoder, mean: np.ndarray, matrix: np.ndarray) -> None:
    """Make the model's projection output `(projection - mean) @ matrix` (in place)."""
    weight = model.project.weight.double()  # (out, in): projection = weight @ p + bias
    bias = model.project.bias.double()
    m = torch.from_numpy(np.asarray(matrix, np.float64))
    mu = torch.from_numpy(np.asarray(mean, np.float64))
    model.project.weight.copy_((m.T @ weight).float())
    model.project.bias.copy_((m.T @ (bias - mu)).float())
