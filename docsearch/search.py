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
    from indexer.lexical import PassageHit

MODES = ("hybrid", "dense", "lexical")
# Sentences fetched per wanted document: several sentences of one document often rank together.
FETCH_PER_DOCUMENT = 10
MIN_FETCH = 100
# Weight of the dense ranking in hybrid mode (the lexical one gets 1 - DENSE_WEIGHT); chosen on
# held-out development sets by benchmarks/fusion.py, see benchmarks/RESULTS.md.
DENSE_WEIGHT = 0.1
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


def _best_per_document(
    ranking: Sequence[tuple[int, float]], sentences: dict[int, StoredSentence]
) -> dict[int, tuple[int, float]]:
    """document id -> (its best sentence id, score) in one ranking; unknown ids are dropped."""
    best: dict[int, tuple[int, float]] = {}
    for sentence_id, score in ranking:
        sentence = sentences.get(sentence_id)
        if sentence is not None and sentence.document_id not in best:
            best[sentence.document_id] = (sentence_id, score)
    return best


def min_max(scores: dict[int, float]) -> dict[int, float]:
    """Rescale scores to [0, 1] over the candidates (all 1.0 when they are equal)."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    return {key: (v - low) / (high - low) if high > low else 1.0 for key, v in scores.items()}


def fuse(
    dense: Sequence[tuple[int, float]],
    lexical: Sequence[tuple[int, float]],
    sentences: dict[int, StoredSentence],
    dense_weight: float = DENSE_WEIGHT,
) -> list[tuple[int, float]]:
    """Fuse two rankings at the document level by a weighted sum of min-max normalised scores.

    Each document scores `w * dense + (1 - w) * lexical`, where each part is the document's
    best score in that ranking rescaled to [0, 1] over the candidates (0 when absent). Unlike
    reciprocal rank fusion, a confident lexical match is not dragged down by a weaker dense
    ranking (and vice versa); `w` was chosen on held-out development data (benchmarks/fusion.py).
    A document is shown by the sentence of the ranking that contributes more to its score.

    Returns:
        (sentence id, fused score in [0, 1]), best first.
    """
    best_dense = _best_per_document(dense, sentences)
    best_lexical = _best_per_document(lexical, sentences)
    dense_part = min_max({doc: score for doc, (_, score) in best_dense.items()})
    lexical_part = min_max({doc: score for doc, (_, score) in best_lexical.items()})
    fused: list[tuple[int, float]] = []
    for doc in best_dense.keys() | best_lexical.keys():
        d = dense_weight * dense_part.get(doc, 0.0)
        lex = (1 - dense_weight) * lexical_part.get(doc, 0.0)
        shown = best_dense[doc][0] if d > lex or doc not in best_lexical else best_lexical[doc][0]
        fused.append((shown, d + lex))
    return sorted(fused, key=lambda item: (-item[1], item[0]))


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
    passages: dict[int, PassageHit] = {}
    if mode in ("dense", "hybrid"):
        if query_vector is None:
            raise ValueError(f"mode {mode!r} needs a query vector")
        dense = index.search_vectors(
            query_vector[None, :], fetch, allowed_ids=None if allowed is None else allowed[1]
        )[0]
    if mode in ("lexical", "hybrid"):
        # A passage stands for its first sentence until it is shown (see `_show_best_sentence`).
        found = index.search_passages(
            query, fetch, allowed_document_ids=None if allowed is None else allowed[0]
        )
        passages = {p.first: p for p in found}
        lexical = [(p.first, p.score) for p in found]
    sentences = index.sentences([i for i, _ in dense] + [i for i, _ in lexical])
    if mode == "hybrid":
        ranked = fuse(dense, lexical, sentences)
    else:
        ranked = dense or lexical
    shown = _show_best_sentence(index, query, group_by_document(ranked, sentences, k), passages)
    around = index.contexts([s for s, _ in shown], context, context) if context else []
    return [
        _hit(s, score, *(around[i] if context else ((), ()))) for i, (s, score) in enumerate(shown)
    ]


def _show_best_sentence(
    index: Index,
    query: str,
    chosen: list[tuple[StoredSentence, float]],
    passages: dict[int, PassageHit],
) -> list[tuple[StoredSentence, float]]:
    """Show each hit that stands for a lexical passage by the passage's best-matching sentence.

    Looking the best sentence up costs an FTS5 query per passage, so it is done for the few
    hits shown, not for every candidate passage.
    """
    wanted = [passages[s.id] for s, _ in chosen if s.id in passages]
    if not wanted:
        return chosen
    best = {first: i for first, i in index.best_sentences(query, wanted).items() if i != first}
    replacements = index.sentences(list(best.values())) if best else {}
    return [(replacements.get(best.get(s.id, s.id), s), score) for s, score in chosen]


def _hit(
    sentence: StoredSentence, score: float, before: Sequence[str], after: Sequence[str]
) -> Hit:
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
