"""Encode a few queries with NumPy alone, so a cold `docsearch query` never imports torch.

Importing torch costs about a second; a query is a handful of tokens, for which a NumPy
GRU is just as fast. The result equals `Encoder.encode_queries` within float tolerance (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from docsearch.model_config import (
    CONFIG_FILE,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
    EncoderConfig,
    check_model_files,
    fingerprint,
    window_overlap,
)
from docsearch.splitting import window_spans
from docsearch.tokenizer import Tokenizer


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class QueryEncoder:
    """The BiGRU forward pass in NumPy, for one text at a time.

    Args:
        directory: a saved model (config.json, weights.npz, tokenizer.model).

    Raises:
        ModelNotFound: a model file is missing.
    """

    def __init__(self, directory: Path) -> None:
        check_model_files(directory)
        self.config = EncoderConfig.from_json((directory / CONFIG_FILE).read_text("utf-8"))
        with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as arrays:
            self.weights = {k: arrays[k].astype(np.float32) for k in arrays.files}
        self.tokenizer = Tokenizer.load(directory / TOKENIZER_FILE)
        # Queries go through the query tower's GRU and projection where the model has one.
        self.prefix = "query_" if self.config.query_tower else ""
        self.name = directory.name
        self.fingerprint = fingerprint(directory)

    @property
    def dim(self) -> int:
        """Length of each output vector."""
        return self.config.out_dim

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode queries one by one (long ones window by window, like `Encoder.encode`),
        through the model's query tower where it has one.

        Returns:
            float32[n, dim] unit vectors.
        """
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, ids in enumerate(self.tokenizer.encode(list(texts))):
            windows = window_spans(
                len(ids), self.config.max_tokens, window_overlap(self.config.max_tokens)
            )
            summed = sum(self._encode_ids(ids[a:b] or [0]) for a, b in windows)
            out[i] = summed / max(float(np.linalg.norm(summed)), 1e-12)
        return out

    def _encode_ids(self, ids: list[int]) -> np.ndarray:
        x = self.weights["embed.weight"][ids]  # (seq, embed)
        for layer in range(self.config.num_layers):
            forward, backward = self._bigru(x, f"l{layer}")
            x = np.concatenate([forward, backward], axis=1)  # (seq, 2*hidden)
        pooled = x.mean(0)
        if self.config.pooling == "meanmax":
            pooled = np.concatenate([pooled, x.max(0)])
        project = f"{self.prefix}project"
        y: np.ndarray = np.einsum("oi,i->o", self.weights[f"{project}.weight"], pooled)
        y += self.weights[f"{project}.bias"]
        return y / max(float(np.linalg.norm(y)), 1e-12)

    def _bigru(self, x: np.ndarray, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """Both GRU directions of a layer, stepped together (torch gate order r, z, n).

        Args:
            x: float32[seq, in].

        Returns:
            forward and backward outputs, float32[seq, hidden] each, in token order.
        """
        w, gru = self.weights, f"{self.prefix}gru"
        suffixes = (layer, f"{layer}_reverse")
        w_ih = [w[f"{gru}.weight_ih_{s}"] for s in suffixes]
        w_hh = np.stack([w[f"{gru}.weight_hh_{s}"] for s in suffixes])  # (2, 3*hidden, hidden)
        b_hh = np.stack([w[f"{gru}.bias_hh_{s}"] for s in suffixes])  # (2, 3*hidden)
        hidden = w_hh.shape[2]
        # einsum, not BLAS, for every product here: they are too small to share between
        # cores, and a multi-threaded BLAS call costs ~10x more when another core is busy;
        # worse, BLAS threads keep spinning after each call and slow the lexical ranking that
        # runs beside the encoder in hybrid mode (hybrid p50 at 100k: 18 ms with BLAS, 12 ms
        # with one BLAS thread). The two directions step together: half the NumPy calls.
        gates_x = np.stack(  # (2, seq, 3*hidden): every token's input projection at once
            [
                np.einsum("ti,gi->tg", x, w_ih[0]) + w[f"{gru}.bias_ih_{suffixes[0]}"],
                np.einsum("ti,gi->tg", x[::-1], w_ih[1]) + w[f"{gru}.bias_ih_{suffixes[1]}"],
            ]
        )
        h = np.zeros((2, hidden), np.float32)
        out = np.empty((len(x), 2, hidden), np.float32)
        rz, n_ = slice(0, 2 * hidden), slice(2 * hidden, None)
        for t in range(len(x)):  # few NumPy calls per step: each costs ~1 us of overhead
            gh = np.einsum("dgh,dh->dg", w_hh, h) + b_hh
            gx = gates_x[:, t]
            gates = _sigmoid(gx[:, rz] + gh[:, rz])  # r and z together
            n = np.tanh(gx[:, n_] + gates[:, :hidden] * gh[:, n_])
            h = n + gates[:, hidden:] * (h - n)  # (1 - z) * n + z * h
            out[t] = h
        return out[:, 0], out[::-1, 1]
