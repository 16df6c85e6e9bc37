"""Batched, no-grad inference with the BiGRU encoder: list[str] -> float32[n, dim]."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from docsearch.errors import DocsearchError
from docsearch.model import TOKENIZER_FILE, BiGRUEncoder, fingerprint, load_model
from docsearch.model_config import shipped_model_dir, window_overlap
from docsearch.splitting import window_spans
from docsearch.tokenizer import Tokenizer

log = logging.getLogger(__name__)
# Encodes that change torch's thread count (see `Encoder._encode_ids`) run one at a time.
_STREAMS_LOCK = threading.Lock()


def resolve_device(device: str) -> torch.device:
    """Turn `auto|cpu|cuda` into a torch device (auto picks CUDA when present).

    Raises:
        DocsearchError: CUDA was asked for but is not available.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DocsearchError(
            "--device cuda was given but no CUDA GPU is available; use --device cpu"
        )
    return torch.device(device)


class Encoder:
    """A loaded sentence encoder.

    Args:
        model: the network (switched to eval mode here).
        tokenizer: its sentencepiece tokenizer.
        name: a human name (directory name of the model).
        fingerprint: content hash of the model files; the index manifest records it.
        device: where the network runs.
    """

    def __init__(
        self,
        model: BiGRUEncoder,
        tokenizer: Tokenizer,
        *,
        name: str,
        fingerprint: str,
        device: torch.device | None = None,
    ) -> None:
        self.device = device or torch.device("cpu")
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.name = name
        self.fingerprint = fingerprint

    @classmethod
    def load(cls, model_dir: str | Path | None = None, *, device: str = "auto") -> Encoder:
        """Load a saved model; without `model_dir`, the model shipped in the package.

        Raises:
            ModelNotFound: `model_dir` holds no model.
        """
        directory = Path(model_dir) if model_dir is not None else shipped_model_dir()
        model = load_model(directory)
        tokenizer = Tokenizer.load(directory / TOKENIZER_FILE)
        return cls(
            model,
            tokenizer,
            name=directory.name,
            fingerprint=fingerprint(directory),
            device=resolve_device(device),
        )

    @property
    def dim(self) -> int:
        """Length of each output vector."""
        return self.model.config.out_dim

    @property
    def max_tokens(self) -> int:
        """The longest input encoded as one window; longer text is cut into overlapping windows."""
        return self.model.config.max_tokens

    def windows(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the overlapping windows that together cover `text`.

        One span (the whole text) when it fits in `max_tokens` tokens.
        """
        spans = self.tokenizer.token_spans(text)
        if len(spans) <= self.max_tokens:
            return [(0, len(text))]
        cuts = window_spans(len(spans), self.max_tokens, window_overlap(self.max_tokens))
        return [(spans[a][0], spans[b - 1][1]) for a, b in cuts]

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        show_progress: bool = False,
        queries: bool = False,
    ) -> np.ndarray:
        """Encode texts into unit vectors.

        Texts longer than `max_tokens` are encoded window by window and the windows' vectors
        averaged, so nothing is truncated.

        Args:
            texts: n strings (empty strings get a vector too).
            batch_size: sentences per forward pass; default 32 on the CPU (small batches
                side by side on the threads: 4,003 sentences/s against 3,677 at 128 and 2,978
                at 256 on 2 threads, benchmarks/RESULTS.md), 256 on a GPU.
            show_progress: log progress every few batches.
            queries: the texts are search queries (the model's query tower encodes them, where
                it has one; see `encode_queries`).

        Returns:
            float32[n, dim], each row of unit L2 norm.
        """
        ids = self.tokenizer.encode(list(texts))
        pieces: list[list[int]] = []
        owner: list[int] = []
        for i, row in enumerate(ids):
            for a, b in window_spans(len(row), self.max_tokens, window_overlap(self.max_tokens)):
                pieces.append(row[a:b] or [0])
                owner.append(i)
        if batch_size is None:
            batch_size = 32 if self.device.type == "cpu" else 256
        vectors = self._encode_ids(pieces, batch_size, show_progress, queries)
        if len(pieces) == len(texts):
            return vectors
        return pool(vectors, np.asarray(owner), len(texts))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode search queries: `encode(texts, queries=True)`."""
        return self.encode(texts, queries=True)

    def _encode_ids(
        self, pieces: list[list[int]], batch_size: int, show_progress: bool, queries: bool
    ) -> np.ndarray:
        out = np.zeros((len(pieces), self.dim), np.float32)
        forward = self.model.encode_queries if queries else self.model
        # Sorting by length keeps padding to a minimum (2-3x faster than random order).
        order = np.argsort([len(p) for p in pieces], kind="stable")
        batches = list(_chunks(order, batch_size))

        def encode(n: int) -> None:
            batch = batches[n]
            lengths = torch.tensor([len(pieces[i]) for i in batch])
            ids = torch.zeros((len(batch), int(lengths.max())), dtype=torch.long)
            for row, i in enumerate(batch):
                ids[row, : len(pieces[i])] = torch.tensor(pieces[i])
            with torch.inference_mode():
                vectors = forward(ids.to(self.device), lengths.to(self.device))
            out[batch] = vectors.float().cpu().numpy()
            if show_progress and n % 20 == 0:
                log.debug("encoded %d/%d", min((n + 1) * batch_size, len(pieces)), len(pieces))

        streams = torch.get_num_threads() if self.device.type == "cpu" else 1
        if streams < 2 or len(batches) < 2:
            for n in range(len(batches)):
                encode(n)
            return out
        # A GRU step is a small matrix product that one core does about as fast as two, so on
        # the CPU whole batches run side by side, one per thread, each on one torch thread:
        # 1.4x the sentences/s of one batch at a time on two threads (benchmarks/RESULTS.md).
        with _STREAMS_LOCK:
            torch.set_num_threads(1)
            try:
                with ThreadPoolExecutor(streams, thread_name_prefix="encode") as pool:
                    list(pool.map(encode, range(len(batches))))
            finally:
                torch.set_num_threads(streams)
        return out


def pool(vectors: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """float32[n, dim]: the rows of `vectors` summed by `owner` (row i belongs to `owner[i]`),
    each sum L2-normalised (a long text's windows, or a passage's sentences)."""
    summed = np.zeros((n, vectors.shape[1]), np.float32)
    np.add.at(summed, owner, vectors)
    normalised: np.ndarray = summed / np.linalg.norm(summed, axis=1, keepdims=True).clip(1e-12)
    return normalised


def _chunks(order: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(order), size):
        yield order[start : start + size]
