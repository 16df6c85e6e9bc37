"""The encoders a `DocSearch` uses, loaded on demand and kept per model directory.

- the torch `Encoder` for ingest, tune and batches of queries (importing torch costs ~1 s);
- the NumPy `QueryEncoder` for a few queries on the CPU, so a one-shot `docsearch query`
  never imports torch.

Which model directory an index needs (its adapted model, the configured one or the shipped
one) is `DocSearch.model_dir`'s business; this module only loads and keeps them.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docsearch.config import Settings

if TYPE_CHECKING:
    import numpy as np

    from docsearch.encoder import Encoder
    from docsearch.query_encoder import QueryEncoder

# Up to this many queries at once are encoded with NumPy when torch is not loaded yet.
NUMPY_QUERY_LIMIT = 16


class Encoders:
    """Load and keep the encoders of one model directory at a time.

    Args:
        settings: `device` and `threads` apply to the torch encoder.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._torch: tuple[Path, Encoder] | None = None
        self._numpy: tuple[Path, QueryEncoder] | None = None

    def encoder(self, directory: Path) -> Encoder:
        """The torch encoder of `directory` (loaded on first use, then kept)."""
        with self._lock:
            if self._torch is None or self._torch[0] != directory:
                self._torch = (directory, self.load(directory))
            return self._torch[1]

    def load(self, directory: Path) -> Encoder:
        """A fresh torch encoder of `directory`, on the configured device and threads."""
        from docsearch.encoder import Encoder

        if self.settings.threads:
            import torch

            torch.set_num_threads(self.settings.threads)
        return Encoder.load(directory, device=self.settings.device)

    def for_queries(self, directory: Path, n: int) -> Any:
        """What should encode `n` queries: the torch encoder when it is loaded already, on a
        GPU or for many queries; else the NumPy one (both have `encode_queries` and
        `fingerprint`)."""
        with self._lock:
            loaded = self._torch is not None and self._torch[0] == directory
            if loaded or n > NUMPY_QUERY_LIMIT or self.settings.device == "cuda":
                return self.encoder(directory)
            if self._numpy is None or self._numpy[0] != directory:
                from docsearch.query_encoder import QueryEncoder

                self._numpy = (directory, QueryEncoder(directory))
            return self._numpy[1]

    def query_vectors(self, directory: Path, queries: list[str]) -> np.ndarray:
        """float32[n, dim] vectors of `queries` (see `for_queries`)."""
        encoder = self.for_queries(directory, len(queries))
        vectors: np.ndarray = encoder.encode_queries(queries)
        return vectors

    def forget(self) -> None:
        """Drop the loaded encoders (the index switched models)."""
        with self._lock:
            self._torch = self._numpy = None
