"""The optional teacher (all-MiniLM-L6-v2) encodes a sample of the corpus within a time budget.

Installed with `pip install "docsearch[teacher]"`; only `docsearch tune --teacher` needs it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np

from docsearch.errors import DocsearchError
from docsearch.training.teacher import TEACHER_DIM

log = logging.getLogger(__name__)

# Texts per teacher call: big enough to amortise overhead, small enough to stop on time.
CHUNK = 512


def load_teacher(device: str) -> object:
    """all-MiniLM-L6-v2 from its offline package.

    Raises:
        DocsearchError: the extra is not installed (the message says how to install it).
    """
    from docsearch.training.teacher import load_teacher as load

    try:
        return load("cuda" if device == "cuda" else "cpu")
    except ImportError as exc:
        raise DocsearchError(
            "tune --teacher needs the teacher model, an optional extra: "
            'pip install -c constraints.txt -e ".[teacher]" in a docsearch checkout (as the '
            'README says), or pip install "docsearch[teacher]"; or run tune without --teacher'
        ) from exc


def teacher_vectors(
    model: object,
    texts: list[str],
    seconds: float,
    *,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Encode a random sample of `texts` with the teacher until `seconds` have passed.

    Returns:
        rows: int64[m] indices into `texts` that were encoded; vectors: float32[m, 384].
    """
    order = np.random.default_rng(seed).permutation(len(texts))
    deadline = time.monotonic() + seconds
    rows: list[np.ndarray] = []
    vectors: list[np.ndarray] = []
    done = 0
    for start in range(0, len(order), CHUNK):
        if time.monotonic() >= deadline:
            break
        chunk = order[start : start + CHUNK]
        # Length-sorted inside the chunk: less padding, same result.
        chunk = chunk[np.argsort([len(texts[i]) for i in chunk], kind="stable")]
        encoded = model.encode(  # type: ignore[attr-defined]
            [texts[i] for i in chunk],
            batch_size=64,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        rows.append(chunk)
        vectors.append(np.asarray(encoded, dtype=np.float32))
        done += len(chunk)
        if progress is not None:
            progress(done, len(texts))
    if not rows:
        return np.empty(0, np.int64), np.empty((0, TEACHER_DIM), np.float32)
    log.info("teacher encoded %d of %d sentences", done, len(texts))
    return np.concatenate(rows).astype(np.int64), np.concatenate(vectors)
