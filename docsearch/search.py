"""Dense, lexical and hybrid retrieval: sentence hits -> ranked documents -> Hits."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from docsearch.config import MODES
from docsearch.errors import DocsearchError, EmptyQuery
from docsearch.fusion import Places, fuse, query_dense_weight, select_hits, with_passages
from docsearch.hits import Hit
from docsearch.selection import glob_forms

if TYPE_CHECKING:
    from indexer import Index, StoredSentence
    from indexer.lexical import PassageHit

# Sentences fetched per wanted document: several sentences of one document often rank together.
FETCH_PER_DOCUMENT = 10
MIN_FETCH = 100
MAX_QUERY_CHARS = 10_000


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
    """Drop control characters and cap the length.

    Raises:
        EmptyQuery: nothing is left, or only punctuation and symbols (no letter or digit,
            so neither ranking has anything to go on).
    """
    cleaned = "".join(ch if ch.isprintable() else " " for ch in query[:MAX_QUERY_CHARS]).strip()
    if not any(ch.isalnum() for ch in cleaned):
        raise EmptyQuery("the query is empty; give some words to search for")
    return cleaned


@dataclass(frozen=True)
class Restriction:
    """What the filters let through: None = everything, else document and sentence ids."""

    allowed: tuple[np.ndarray, np.ndarray] | None

    @classmethod
    def of(cls, index: Index, filters: Filters) -> Restriction:
        """Resolve `filters` against the index (one SQL query, none without filters)."""
        if filters.is_empty:
            return cls(None)
        globs = None if filters.path_glob is None else glob_forms(filters.path_glob)
        return cls(index.filter(globs, filters.types))

    @property
    def nothing(self) -> bool:
        """True when the filters exclude every document."""
        return self.allowed is not None and len(self.allowed[1]) == 0

    @property
    def document_ids(self) -> np.ndarray | None:
        return None if self.allowed is None else self.allowed[0]

    @property
    def sentence_ids(self) -> np.ndarray | None:
        return None if self.allowed is None else self.allowed[1]


def fetch_size(k: int) -> int:
    """Candidates fetched from each ranking for k documents."""
    return max(MIN_FETCH, k * FETCH_PER_DOCUMENT)


def dense_candidates(
    index: Index, query_vector: np.ndarray, k: int, restriction: Restriction
) -> list[tuple[int, int, float]]:
    """(sentence id, document id, score) of the sentences nearest to the query vector, best
    first, each document scored by its best sentence and its best passage (`with_passages`)."""
    sentences, passages = index.nearest_sentences_and_passages(
        query_vector[None, :], fetch_size(k), allowed_ids=restriction.sentence_ids
    )
    return with_passages(sentences[0], passages[0])


def lexical_candidates(
    index: Index,
    query: str,
    k: int,
    restriction: Restriction,
) -> list[PassageHit]:
    """The passages ranked best by BM25, best first (independent of the dense ranking, so it
    can run in another thread), scored over the query's ceiling (`Index.lexical_ceiling`).

    The first k, the likely hits, come with the sentence to show (`PassageHit.shown`): looked
    up here, that work overlaps with encoding the query instead of following it.
    """
    passages, ceiling = index.search_passages_scaled(
        query, fetch_size(k), allowed_document_ids=restriction.document_ids
    )
    if ceiling > 0:  # 0 only for a query without words, which matches nothing
        passages = [replace(p, score=p.score / ceiling) for p in passages]
    best = index.best_sentences(query, passages[:k])
    return [
        replace(p, shown=best.get(p.first, p.first)) if i < k else p for i, p in enumerate(passages)
    ]


def rank(
    index: Index,
    query: str,
    nearest: list[tuple[int, int, float]],
    passages: list[PassageHit],
    *,
    k: int,
    mode: str,
    context: int = 1,
    per_document: int = 1,
) -> list[Hit]:
    """Fuse (in hybrid mode) the candidates, keep each document's best sentence (and up to
    `per_document` places in all, see `select_hits`), build Hits.

    A lexical passage stands for its first sentence until it is shown (`_show_best_sentence`).
    """
    dense = [(i, score) for i, _, score in nearest]
    lexical = [(p.first, p.score) for p in passages]
    document_of = {i: document for i, document, _ in nearest}
    document_of.update((p.first, p.document) for p in passages)
    weight = query_dense_weight(query, lexical)  # one per query: documents and their places
    if mode == "hybrid":
        ranked = fuse(dense, lexical, document_of, weight)
    else:
        ranked = dense or lexical
    by_first = {p.first: p for p in passages}
    places = Places.of(dense, passages, mode, weight) if per_document > 1 else None

    def select(document_of: Mapping[int, int]) -> list[tuple[int, float]]:
        return select_hits(ranked, document_of, k, per_document, places)

    shown, gone = _shown_rows(index, query, select(document_of), document_of, by_first)
    if gone:  # removed since the candidates were read: the next documents take their places
        document_of = {i: d for i, d in document_of.items() if d not in gone}
        shown, _ = _shown_rows(index, query, select(document_of), document_of, by_first)
    around = index.contexts([s for s, _ in shown], context, context) if context else []
    return [
        _hit(s, score, *(around[i] if context else ((), ()))) for i, (s, score) in enumerate(shown)
    ]


def _shown_rows(
    index: Index,
    query: str,
    grouped: list[tuple[int, float]],
    document_of: Mapping[int, int],
    passages: dict[int, PassageHit],
) -> tuple[list[tuple[StoredSentence, float]], set[int]]:
    """The full rows (text, document fields) of the sentences shown for the chosen hits.

    Returns:
        (row, score) per hit, best first, and the documents whose sentences no longer exist
        (removed after the candidates were read; their hits are left out).
    """
    chosen = _show_best_sentence(index, query, grouped, passages)
    rows = index.sentences([i for i, _ in chosen])
    gone = {document_of[g] for (g, _), (i, _) in zip(grouped, chosen, strict=True) if i not in rows}
    return [(rows[i], score) for i, score in chosen if i in rows], gone


def check_mode(mode: str) -> None:
    """Raise DocsearchError for an unknown search mode."""
    if mode not in MODES:
        raise DocsearchError(f"unknown search mode {mode!r}; choose one of {', '.join(MODES)}")


def search(
    index: Index,
    queries: Sequence[str],
    encode: Callable[[list[str]], np.ndarray],
    *,
    k: int,
    mode: str,
    filters: Filters,
    context: int,
    workers: Executor,
    per_document: int = 1,
) -> list[list[Hit]]:
    """Rank documents for each query.

    The lexical ranking of each query is handed to `workers` first, and runs while the
    queries are encoded and searched densely in this thread: SQLite, FAISS and NumPy release
    the GIL, so in hybrid mode the two rankings overlap on a multi-core machine. (Ranking a
    large index's passages in parts on several threads was measured too, and was slower: at
    1M sentences lexical p50 89 ms in two parts against 69 ms in one.)

    Args:
        index: an open index.
        queries: cleaned query texts (see `clean_query`).
        encode: texts -> float32[n, dim] unit vectors (not called in `lexical` mode).
        k: number of documents wanted per query.
        mode: `hybrid`, `dense` or `lexical` (see `check_mode`).
        filters: path glob / type restrictions.
        context: neighbouring sentences to attach before and after each hit.
        workers: threads for the lexical rankings.
        per_document: most hits from one document (see `select_hits`).
    """
    restriction = Restriction.of(index, filters)
    if restriction.nothing:
        return [[] for _ in queries]
    lexical = [
        workers.submit(lexical_candidates, index, q, k, restriction)
        for q in (queries if mode != "dense" else [])
    ]
    try:
        dense: list[list[tuple[int, int, float]]] = [[] for _ in queries]
        if mode != "lexical":
            vectors = encode(list(queries))
            dense = [dense_candidates(index, v, k, restriction) for v in vectors]
        passages = [job.result() for job in lexical] or [[] for _ in queries]
    finally:
        for job in lexical:
            job.cancel()
    return [
        rank(
            index,
            q,
            dense[i],
            passages[i],
            k=k,
            mode=mode,
            context=context,
            per_document=per_document,
        )
        for i, q in enumerate(queries)
    ]


def _show_best_sentence(
    index: Index,
    query: str,
    chosen: list[tuple[int, float]],
    passages: dict[int, PassageHit],
) -> list[tuple[int, float]]:
    """Show each hit that stands for a lexical passage by the passage's best-matching sentence.

    Finding it costs a look at the passage's sentences, so it is done only for the hits shown
    whose passage does not know it yet (see `lexical_candidates`).
    """
    shown = {p.first: p.shown for p in passages.values() if p.shown is not None}
    wanted = [passages[i] for i, _ in chosen if i in passages and i not in shown]
    if wanted:
        shown.update(index.best_sentences(query, wanted))
    return [(shown.get(i, i), score) for i, score in chosen]


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
