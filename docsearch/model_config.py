"""The encoder's config and its files on disk (no torch here: the query path reads them)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, fields
from importlib import resources
from pathlib import Path

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.npz"
TOKENIZER_FILE = "tokenizer.model"
DEFAULT_MODEL = "bigru-minilm-v4"
# Consecutive windows of an over-long text share this many tokens (a quarter of the window at most).
WINDOW_OVERLAP = 16


@dataclass(frozen=True)
class EncoderConfig:
    """Every architecture choice of the encoder (saved as `config.json`)."""

    vocab_size: int
    embed_dim: int = 256
    hidden_dim: int = 256
    num_layers: int = 1
    out_dim: int = 384
    pooling: str = "mean"  # "mean" or "meanmax"
    max_tokens: int = 128
    dropout: float = 0.0
    # Queries get their own GRU and projection (weights `query_gru.*`, `query_project.*`)
    # over the shared embedding table; documents keep the main ones (training/query_tower.py).
    query_tower: bool = False

    @classmethod
    def from_json(cls, text: str) -> EncoderConfig:
        """Parse `config.json`, ignoring unknown keys so old code can read newer files."""
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_json(self) -> str:
        """Serialize to the JSON stored beside the weights."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def check_model_files(directory: Path) -> None:
    """Raise ModelNotFound unless `directory` holds the three model files."""
    from docsearch.errors import ModelNotFound

    for name in (CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE):
        if not (directory / name).is_file():
            raise ModelNotFound(
                f"no encoder model at {directory} (missing {name}); "
                "pass the directory of a trained model or leave it out to use the shipped one"
            )


def fingerprint(directory: Path) -> str:
    """A short hash of the model's files: equal fingerprints mean identical vectors.

    Hashing the 20 MB of weights costs ~20 ms, on every cold query; so the result is kept in
    `<home>/fingerprints.json` (see `docsearch.config.default_home`) with the files' sizes and
    modification times, and used again while those are unchanged (as make and git do).
    """
    files = [directory / name for name in (CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE)]
    stamp = [[f.stat().st_size, f.stat().st_mtime_ns] for f in files]
    key = str(directory.resolve())
    cache = _fingerprint_cache()
    known = cache.get(key)
    if isinstance(known, dict) and known.get("stamp") == stamp:
        return str(known["fingerprint"])
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.read_bytes())
    result = digest.hexdigest()[:16]
    cache.pop(key, None)
    cache[key] = {"stamp": stamp, "fingerprint": result}
    _save_fingerprint_cache(dict(list(cache.items())[-FINGERPRINTS_KEPT:]))
    return result


# The cache keeps the models seen last (every adapted model of every index is one).
FINGERPRINTS_KEPT = 64


def _fingerprint_cache_path() -> Path:
    from docsearch.config import default_home

    return default_home() / "fingerprints.json"


def _fingerprint_cache() -> dict[str, object]:
    try:
        cache = json.loads(_fingerprint_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


def _save_fingerprint_cache(cache: dict[str, object]) -> None:
    """Write the cache (a temp file renamed over it); a read-only home just goes without."""
    path = _fingerprint_cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def shipped_model_dir(name: str = DEFAULT_MODEL) -> Path:
    """The directory of a model shipped inside the package."""
    return Path(str(resources.files("docsearch") / "models" / name))


def window_overlap(max_tokens: int) -> int:
    """Tokens shared by consecutive windows for a model whose window is `max_tokens` long."""
    return min(WINDOW_OVERLAP, max_tokens // 4)
