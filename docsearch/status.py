"""What `DocSearch.status` reports about an index (and `docsearch status`, the HTTP and MCP
status calls show)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class IndexStatus:
    """An index's counts, model and size.

    Attributes:
        index: the index directory, absolute.
        documents, sentences: what it holds.
        model, model_fingerprint, model_dir: the encoder its vectors come from.
        adapted: whether that is a model `docsearch tune` adapted to this index;
            adapted_from the fingerprint of its base, tune_validation the held-out scores tune
            chose it by ({"base": ..., "adapted": ...}); both None otherwise.
        dim: vector length. faiss_factory: the FAISS layout. format_version: on-disk format.
        disk_bytes: the size of the index directory's files.
    """

    index: str
    documents: int
    sentences: int
    model: str
    model_fingerprint: str
    model_dir: str
    adapted: bool
    adapted_from: str | None
    dim: int
    faiss_factory: str
    format_version: int
    disk_bytes: int
    tune_validation: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (`docsearch status --json`)."""
        return asdict(self)
