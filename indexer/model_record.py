"""Which encoder made an index's vectors: a `ModelRecord`, committed with the vectors it made.

The record lives in the meta table, so it changes in the same SQLite commit as the vectors
(see `indexer.generation`): a reader never pairs one model's vectors with another model's
record. `manifest.json` repeats it for people and tools; the database is the truth.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from indexer.errors import IndexCorrupt, ModelMismatch
from indexer.layout import Manifest
from indexer.store import MetadataStore

MODEL_KEY = "model"


@dataclass(frozen=True)
class ModelRecord:
    """The encoder of an index.

    Attributes:
        name: a human name, e.g. the model's directory name.
        fingerprint: content hash of the model files; equal fingerprints, equal vectors.
        directory: where the model lives relative to the index directory when the index holds
            its own (adapted) model; "" when it is a model outside the index.
        base_fingerprint: the model an adapted model was trained from; "" when not adapted.
    """

    name: str
    fingerprint: str
    directory: str = ""
    base_fingerprint: str = ""

    def to_json(self) -> str:
        """Serialise as compact JSON."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelRecord:
        """Parse `to_json` output.

        Raises:
            IndexCorrupt: the text is not a model record.
        """
        try:
            raw = json.loads(text)
            values = {f.name: raw.get(f.name, f.default) for f in fields(cls)}
            if not all(isinstance(v, str) for v in values.values()):
                raise TypeError("every field must be a string")
            return cls(**values)
        except (ValueError, TypeError, AttributeError) as exc:
            raise IndexCorrupt(f"the index's model record {text!r} is unreadable: {exc}") from exc


def read_model(store: MetadataStore, fallback: ModelRecord) -> ModelRecord:
    """The committed model record in the store's snapshot; `fallback` for indexes without one."""
    text = store.get_meta(MODEL_KEY)
    return fallback if text is None else ModelRecord.from_json(text)


def write_model(store: MetadataStore, record: ModelRecord) -> None:
    """Record `record` in the store's open transaction (committed with the next generation)."""
    store.set_meta(MODEL_KEY, record.to_json())


def check_model(root: Path | str, record: ModelRecord, fingerprint: str) -> None:
    """Raise ModelMismatch unless the index at `root` was built with `fingerprint`."""
    if fingerprint != record.fingerprint:
        raise ModelMismatch(
            f"index at {root} was built with model {record.name} (fingerprint "
            f"{record.fingerprint}); you loaded a model with fingerprint {fingerprint}; "
            "leave out --model (or DOCSEARCH_MODEL) to use the index's own model, or run "
            "`docsearch tune --reset` to re-encode the stored text with this one (a newer "
            "docsearch ships a newer model; nothing is re-read from disk), or "
            "`docsearch ingest --rebuild ...` to build the index again from its files"
        )


def manifest_model(manifest: Manifest) -> ModelRecord:
    """The model record that `manifest` states."""
    return ModelRecord(
        name=manifest.model_name,
        fingerprint=manifest.model_fingerprint,
        directory=manifest.model_dir,
        base_fingerprint=manifest.base_model_fingerprint,
    )


def with_model(manifest: Manifest, record: ModelRecord) -> Manifest:
    """`manifest` stating `record` as the index's model."""
    return replace(
        manifest,
        model_name=record.name,
        model_fingerprint=record.fingerprint,
        model_dir=record.directory,
        base_model_fingerprint=record.base_fingerprint,
    )
