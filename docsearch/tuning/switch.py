"""Switch an index to another model: store the model in the index, re-encode, commit atomically.

An adapted model lives in `<index>/models/<fingerprint>/` (for an index in PostgreSQL, in the
database, with a local copy under the index's `model_home`). The switch re-encodes every sentence
while holding the index's write lock and commits the new vectors together with the new model
record (`IndexWriter.replace_model`): a process killed before that commit leaves the old model
serving the old vectors, and at worst an unused model folder that the next switch deletes.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from docsearch.model import BiGRUEncoder, save_model
from docsearch.model_config import fingerprint

if TYPE_CHECKING:
    from docsearch.encoder import Encoder
    from indexer import Index
    from indexer.model_record import ModelRecord

log = logging.getLogger(__name__)

MODELS_DIR = "models"


def store_model(index_root: Path, model: BiGRUEncoder, tokenizer_bytes: bytes) -> str:
    """Save `model` under `<index_root>/models/<fingerprint>/` (whole or not at all).

    Call it while holding the index's write lock (see `switch_model`).

    Returns:
        the model's directory relative to `index_root`, e.g. "models/3f2a...".
    """
    models = index_root / MODELS_DIR
    staging = models / f".staging-{uuid.uuid4().hex}"
    save_model(model.cpu(), tokenizer_bytes, staging)
    relative = f"{MODELS_DIR}/{fingerprint(staging)}"
    final = index_root / relative
    if final.exists():  # the same weights were stored before
        shutil.rmtree(staging)
    else:
        staging.rename(final)
    return relative


def switch_model(
    index: Index,
    encoder: Encoder,
    record_for: Callable[[Path], ModelRecord],
    *,
    wait_seconds: float = 30.0,
    progress: Callable[[int, int], None] | None = None,
) -> ModelRecord:
    """Re-encode every sentence with `encoder` and make it the index's model, atomically.

    Args:
        index: the index to switch.
        encoder: the new model.
        record_for: called with the index's `model_home` while the write lock is held (so no
            other switch deletes what it stores); stores the model there if it belongs in the
            index and returns its record (the index's writer keeps it with the vectors).
        wait_seconds: how long to wait for another writer.
        progress: called with (sentences done, total).

    Returns:
        the record of the index's new model.
    """
    total = index.counts()[1]
    with index.writer(wait_seconds=wait_seconds) as writer:
        record = record_for(index.model_home)
        ids: list[np.ndarray] = []
        vectors: list[np.ndarray] = []
        done = 0
        for page in writer.sentence_texts():
            ids.append(page.ids)
            vectors.append(encoder.encode(page.texts))
            done += len(page.ids)
            if progress is not None:
                progress(done, max(total, done))
        all_ids = np.concatenate(ids) if ids else np.empty(0, np.int64)
        all_vectors = np.concatenate(vectors) if vectors else np.empty((0, encoder.dim), np.float32)
        writer.replace_model(record, all_ids, np.ascontiguousarray(all_vectors))
        writer.checkpoint()
        remove_unused_models(index.model_home, keep=record.directory)
    return record


def remove_unused_models(index_root: Path, keep: str) -> None:
    """Delete model folders of the index other than `keep` (call while holding the write lock)."""
    models = index_root / MODELS_DIR
    if not models.is_dir():
        return
    for path in models.iterdir():
        if f"{MODELS_DIR}/{path.name}" != keep:
            shutil.rmtree(path, ignore_errors=True)
            log.debug("deleted unused model %s", path)
