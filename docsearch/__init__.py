"""docsearch: semantic search over your own documents.

Public API: `DocSearch` (open an index, ingest, search, remove), `Hit`, `IngestReport`,
`Encoder` (the sentence encoder) and the error classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from docsearch.api import DocSearch, __version__
from docsearch.errors import DocsearchError, EmptyQuery, ModelNotFound, UnreadableDocument
from docsearch.hits import Hit
from docsearch.ingest import IngestReport
from indexer.errors import IndexerError, IndexLocked, IndexNotFound, ModelMismatch

if TYPE_CHECKING:
    from docsearch.encoder import Encoder

__all__ = [
    "DocSearch",
    "DocsearchError",
    "EmptyQuery",
    "Encoder",
    "Hit",
    "IndexLocked",
    "IndexNotFound",
    "IndexerError",
    "IngestReport",
    "ModelMismatch",
    "ModelNotFound",
    "UnreadableDocument",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # Encoder pulls in torch (~1 s); importing it lazily keeps `import docsearch` cheap.
    if name == "Encoder":
        from docsearch.encoder import Encoder

        return Encoder
    raise AttributeError(f"module 'docsearch' has no attribute {name!r}")
