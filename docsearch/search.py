"""Dense, lexical and hybrid retrieval: sentence hits -> ranked documents -> Hits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from docsearch.errors import DocsearchError, EmptyQuery

if TYPE_CHECKING:
    from indexer import Index, StoredSentence

MODES = ("hybrid", "dense", "lexical")
# Sentences fetched per wanted document: several sentences of one document often rank together.
FETCH_PER_DOCUMENT = 10
MIN_FETCH = 100
# Reciprocal-rank-fusion constant and the weight of the dense ranking against the lexical one.
RRF_K = 60
DENSE_WEIGHT = 1.0
LEXICAL_WEIGHT = 1.0
MAX_QUERY_CHARS = 10_000


@dataclass(frozen=True)
class Hit:
    """One matching document, represented by its best sentence.

    Attributes:
        path: the document's path (or upload name).
        score: higher is better; cosine similarity in `dense` mode, BM25 in `lexical`,
            a fused rank score in `hybrid`.
        text: the matching sentence.
        page: 1-based page for paged documents (PDF), else None.
        line: 1-based line of the sentence's start (within the page for PDFs).
        sentence_id: the sentence's id (== its vector id).
        type: the document type (`text`, `markdown`, `html`, `rst`, `pdf`).
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

    def to_json(self) -> str:
        """One JSON object."""
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass(frozen=True)
class Filters:
    """Restrict a search to documents matching `path_glob` and of a type in `types`."""

    path_glob: str | None = None
    types: tuple[str, ...] | None = None

    @property
    def is_empty(self) -> bool:
        """True when nothing is filtered out."""
        return self.path_glob is None and not self.types


def clean_query(query: str) -> str:
    """Drop control characters and cap the length; raise EmptyQuery when nothing is left."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in query[:MAX_QUERY_CHARS]).strip()
    if not cleaned:
        raise EmptyQuery("the query is empty; give some words to search for")
    return cleaned


def group_by_document(
    ranked: Sequence[tuple[int, float]], sentences: dict[int, StoredSentence], k: int
) -> list[tuple[StoredSentence, float]]:
    """Keep each document's best sentence, in score order, up to k documents.

    Args:
        ranked: (sentence id, score) best first; ids missing from `sentences` (deleted since the
            vectors were read) are dropped.
    """
    best: dict[int, tuple[StoredSentence, float]] = {}
    for sentence_id, score in ranked:
        sentence = sentences.get(sentence_id)
        if sentence is not None and sentence.document_id not in best:
            best[sentence.document_id] = (sentence, score)
    return sorted(best.values(), key=lambda item: -item[1])[:k]


def fuse(
    dense: Sequence[tuple[int, float]],
    lexical: Sequence[tuple[int, float]],
    sentences: dict[int, StoredSentence],
) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion of two sentence rankings, at the document level.

    A document's rank in each list is the rank of its best sentence there; its representative
    sentence is its best lexical sentence when it has one (it shows the query's words), else
    its best dense sentence.

    Returns:
        (sentence id, fused score), best first.
    """
    scores: dict[int, float] = {}
    representative: dict[int, int] = {}
    for ranking, weight in ((lexical, LEXICAL_WEIGHT), (dense, DENSE_WEIGHT)):
        seen: set[int] = set()
        for sentence_id, _ in ranking:
            sentence = sentences.get(sentence_id)
            if sentence is None or sentence.document_id in seen:
                continue
            seen.add(sentence.document_id)
            rank = len(seen)
            scores[sentence.document_id] = scores.get(sentence.document_id, 0.0) + weight / (
                RRF_K + rank
            )
            representative.setdefault(sentence.document_id, sentence_id)
    ordered = sorted(scores, key=lambda doc: -scores[doc])
    return [(representative[doc], scores[doc]) for doc in ordered]


def search(
    index: Index,
    query_vector: np.ndarray | None,
    query: str,
    *,
    k: int,
    mode: str,
    filters: Filters = Filters(),
    context: int = 1,
) -> list[Hit]:
    """Rank documents for one query.

    Args:
        index: an open index.
        query_vector: float32[dim] unit vector of the query (None in `lexical` mode).
        query: the query text (for lexical matching).
        k: number of documents wanted.
        mode: `hybrid`, `dense` or `lexical`.
        filters: path glob / type restrictions.
        context: neighbouring sentences to attach before and after each hit.

    Raises:
        DocsearchError: unknown mode.
    """
    if mode not in MODES:
        raise DocsearchError(f"unknown search mode {mode!r}; choose one of {', '.join(MODES)}")
    fetch = max(MIN_FETCH, k * FETCH_PER_DOCUMENT)
    allowed = None if filters.is_empty else index.filter(filters.path_glob, filters.types)
    if allowed is not None and len(allowed[1]) == 0:
        return []
    dense: list[tuple[int, float]] = []
    lexical: list[tuple[int, float]] = []
    if mode in ("dense", "hybrid"):
        if query_vector is None:
            raise ValueError(f"mode {mode!r} needs a query vector")
        dense = index.search_vectors(
            query_vector[None, :], fetch, allowed_ids=None if allowed is None else allowed[1]
        )[0]
    if mode in ("lexical", "hybrid"):
        lexical = index.search_lexical(
            query, fetch, allowed_document_ids=None if allowed is None else allowed[0]
        )
    sentences = index.sentences([i for i, _ in dense] + [i for i, _ in lexical])
    if mode == "hybrid":
        ranked = fuse(dense, lexical, sentences)
    else:
        ranked = dense or lexical
    return [_hit(index, s, score, context) for s, score in group_by_document(ranked, sentences, k)]


def _hit(index: Index, sentence: StoredSentence, score: float, context: int) -> Hit:
    before, after = index.context(sentence, before=context, after=context) if context else ([], [])
    return Hit(
        path=sentence.path,
        score=round(float(score), 6),
        text=sentence.text,
        page=sentence.page,
        line=sentence.line,
        sentence_id=sentence.id,
        type=sentence.type,
        title=sentence.title,
        before=tuple(before),
        after=tuple(after),
        metadata=dict(sentence.metadata or {}),
    )
