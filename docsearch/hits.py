"""`Hit`: one search result, as the library, the CLI's `--json`, HTTP and MCP give it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Hit:
    """One matching document, represented by its best sentence.

    Attributes:
        path: the document's path (or upload name).
        score: higher is better; in `dense` mode the mean cosine similarity of the sentence
            and of its document's best passage, BM25 in `lexical`, a weighted sum in `hybrid`.
        text: the matching sentence.
        page: 1-based page for paged documents, else None: a PDF page, a slide (`pptx`,
            `odp`), a chapter (`epub`), a message (`mbox`) or a cell (`notebook`); see
            `docsearch.documents.PAGE_MEANS`.
        line: 1-based line of the sentence's start (within the page for PDFs).
        sentence_id: the sentence's id (== its vector id).
        type: the document type (a value of `docsearch.documents.SUPPORTED_TYPES`).
        title: the document title, when it has one.
        before, after: neighbouring sentences for context.
        metadata: what was attached to the document when it was added.
    """

    path: str
    score: float
    text: str
    page: int | None
    line: int
    sentence_id: int
    type: str
    title: str | None = None
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the `--json` output)."""
        data = asdict(self)
        data["before"], data["after"] = list(self.before), list(self.after)
        return data
