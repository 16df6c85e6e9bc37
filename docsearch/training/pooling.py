"""Passages as the mean of their sentences' vectors, in training as the dense benchmarks pool them.

A passage's pooled vector is the L2-normalised sum of the unit vectors of its sentences, cut by
the engine's own splitter: the unit `benchmarks/dense_units.py` calls `passage_pooled`, which
costs an index nothing to build (its sentences are encoded anyway). A text of one sentence pools
to its own vector, so questions and sentences pass through unchanged.

Training through the pool (session 18) teaches passages with sentence-length sequences: a
passage of ~200 words is ~10 GRU runs of ~25 tokens rather than one of ~256, which on two CPU
cores is the difference between ~17 s and a few seconds a step (model card, run 22).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from docsearch.encoder import pool
from docsearch.splitting import clean, split_spans
from docsearch.training.train import pad_batch

if TYPE_CHECKING:
    from docsearch.encoder import Encoder
    from docsearch.model import BiGRUEncoder
    from docsearch.tokenizer import Tokenizer


class SentenceSplits:
    """Each text's sentences by the engine's splitter (the text itself when it finds none),
    remembered, since training draws the same passages again and again."""

    def __init__(self) -> None:
        self._sentences: dict[str, list[str]] = {}

    def __call__(self, text: str) -> list[str]:
        found = self._sentences.get(text)
        if found is None:
            found = [clean(text[a:b]) for a, b in split_spans(text)] or [text]
            self._sentences[text] = found
        return found

    def flatten(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """Every sentence of `texts` in order, and the index of the text each belongs to."""
        sentences: list[str] = []
        owner: list[int] = []
        for i, text in enumerate(texts):
            parts = self(text)
            sentences.extend(parts)
            owner.extend([i] * len(parts))
        return sentences, np.asarray(owner, dtype=np.int64)


def pooled_forward(
    model: BiGRUEncoder,
    tokenizer: Tokenizer,
    splits: SentenceSplits,
    texts: Sequence[str],
    max_tokens: int,
    device: torch.device,
) -> torch.Tensor:
    """float32[len(texts), dim] pooled unit vectors, with gradients through every sentence."""
    sentences, owner = splits.flatten(texts)
    ids, lengths = pad_batch(tokenizer.encode(sentences), max_tokens)
    vectors = model(ids.to(device), lengths.to(device))
    summed = torch.zeros(len(texts), vectors.shape[1], device=device, dtype=vectors.dtype)
    summed = summed.index_add(0, torch.from_numpy(owner).to(device), vectors)
    return torch.nn.functional.normalize(summed, dim=-1)


def pooled_encode(encoder: Encoder, texts: Sequence[str], splits: SentenceSplits) -> np.ndarray:
    """float32[len(texts), dim]: `pooled_forward` without gradients, through `Encoder.encode`."""
    sentences, owner = splits.flatten(texts)
    return pool(encoder.encode(sentences, batch_size=128), owner, len(texts))
