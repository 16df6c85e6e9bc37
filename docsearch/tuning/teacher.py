"""The optional teacher (all-MiniLM-L6-v2) encodes a sample of the corpus within a time budget.

Installed with `pip install "docsearch[teacher]"`; only `docsearch tune --teacher` needs it.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import re
import time
from collections.abc import Callable

import numpy as np

from docsearch.errors import DocsearchError
from docsearch.training.teacher import TEACHER_DIM

log = logging.getLogger(__name__)

# Texts per teacher call: big enough to amortise overhead, small enough to stop on time.
CHUNK = 512
# The words `coverage_order` counts: three letters or more (shorter ones are mostly common).
WORD = re.compile(r"\w{3,}")
# Texts `coverage_order` orders at most (the rest keep their shuffled order).
COVERAGE_LIMIT = 200_000


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


def coverage_order(texts: list[str], seed: int = 0, limit: int = COVERAGE_LIMIT) -> np.ndarray:
    """A permutation of `texts` that meets the corpus's words as early as it can.

    Greedy maximum coverage over word types (lazy: a text's count of unseen words only falls,
    so a stale count is an upper bound): the text bringing the most words not yet seen comes
    next, until every word has been seen; the remaining texts follow in a seeded shuffle, which
    also breaks ties. A teacher that stops early has then taught the student the most words.
    """
    shuffled = np.random.default_rng(seed).permutation(len(texts))
    words = [frozenset(WORD.findall(texts[i].lower())) for i in shuffled]
    heap = [(-len(w), n) for n, w in enumerate(words) if w]
    heapq.heapify(heap)
    seen: set[str] = set()
    first: list[int] = []
    while heap:
        _, n = heapq.heappop(heap)
        new = len(words[n] - seen)
        if not new:
            continue
        if heap and new < -heap[0][0]:
            heapq.heappush(heap, (-new, n))  # stale: count again when it comes up
            continue
        first.append(n)
        seen |= words[n]
    chosen = set(first)
    rest = [n for n in range(len(texts)) if n not in chosen]
    return shuffled[np.array(first + rest, dtype=np.int64)]


def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX); elsewhere it is emulated
    and slower than fp32."""
    import torch

    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def teacher_vectors(
    model: object,
    texts: list[str],
    seconds: float,
    *,
    seed: int = 0,
    order: str = "random",
    precision: str = "fp32",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Encode a sample of `texts` with the teacher until `seconds` have passed.

    The sample is drawn in a seeded random `order`, or ("coverage") by `coverage_order`.
    `precision` "bf16" runs a CPU teacher under bf16 autocast (1.85x on AVX512-BF16, cosine
    0.99999 to fp32: benchmarks/teacher_speed.py); "auto" does so where `native_bf16`.

    Returns:
        rows: int64[m] indices into `texts` that were encoded; vectors: float32[m, 384].
    """
    if order not in ("random", "coverage"):
        raise ValueError(f"order must be 'random' or 'coverage', not {order!r}")
    if precision not in ("fp32", "bf16", "auto"):
        raise ValueError(f"precision must be 'fp32', 'bf16' or 'auto', not {precision!r}")
    deadline = time.monotonic() + seconds  # ordering the texts is part of the budget
    on_cpu = str(getattr(model, "device", "cpu")).startswith("cpu")
    bf16 = on_cpu and (precision == "bf16" or (precision == "auto" and native_bf16()))
    if order == "coverage":
        sequence = coverage_order(texts, seed)
    else:
        sequence = np.random.default_rng(seed).permutation(len(texts))
    rows: list[np.ndarray] = []
    vectors: list[np.ndarray] = []
    done = 0
    for start in range(0, len(sequence), CHUNK):
        if time.monotonic() >= deadline:
            break
        chunk = sequence[start : start + CHUNK]
        # Length-sorted inside the chunk: less padding, same result.
        chunk = chunk[np.argsort([len(texts[i]) for i in chunk], kind="stable")]
        with _autocast(bf16):
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


def _autocast(bf16: bool) -> contextlib.AbstractContextManager[object]:
    """bf16 autocast on the CPU, or nothing."""
    if not bf16:
        return contextlib.nullcontext()
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16)
