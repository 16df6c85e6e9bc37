"""Dense, lexical and hybrid retrieval: sentence hits -> ranked documents -> Hits."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from docsearch.config import MODES
from docsearch.errors import DocsearchError, EmptyQuery
from docsearch.selection import glob_forms

if TYPE_CHECKING:
    from indexer import Index, StoredSentence
    from indexer.lexical import PassageHit

# Sentences fetched per wanted document: several sentences of one document often rank together.
FETCH_PER_DOCUMENT = 10
MIN_FETCH = 100
# Weight of the dense part in hybrid mode (the lexical one gets 1 - DENSE_WEIGHT); chosen on
# development sets of both kinds (words shared; words paraphrased: Cranfield and two Debian
# FAQs) by benchmarks/fusion.py for the shipped model: 0.3 for v4 with calibrated fusion
# (session 6; no weight meets issue 14's rule on git-doc's FAQ; min-max fusion had 0.1 for v1,
# 0.2 for v2, 0.3 for v3 and v4), see benchmarks/RESULTS.md.
DENSE_WEIGHT = 0.3
MAX_QUERY_CHARS = 10_000


@dataclass(frozen=True)
class Hit:
    """One matching document, represented by its best sentence.

    Attributes:
        path: the document's path (or upload name).
        score: higher is better; cosine similarity in `dense` mode, BM25 in `lexical`,
            a fused rank score in `hybrid`.
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


def group_by_document(
    ranked: Sequence[tuple[int, float]], document_of: Mapping[int, int], k: int
) -> list[tuple[int, float]]:
    """Keep each document's best sentence, in score order, up to k documents.

    Args:
        ranked: (sentence id, score) best first.
        document_of: sentence id -> document id; ids missing from it (deleted since the
            vectors were read) are dropped.

    Returns:
        (sentence id, score) of each document's best sentence, best first.
    """
    best = _best_per_document(ranked, document_of)
    return sorted(best.values(), key=lambda item: -item[1])[:k]


def _best_per_document(
    ranking: Sequence[tuple[int, float]], document_of: Mapping[int, int]
) -> dict[int, tuple[int, float]]:
    """document id -> (its best sentence id, score) in one ranking; unknown ids are dropped."""
    best: dict[int, tuple[int, float]] = {}
    for sentence_id, score in ranking:
        document = document_of.get(sentence_id)
        if document is not None and document not in best:
            best[document] = (sentence_id, score)
    return best


def fuse(
    dense: Sequence[tuple[int, float]],
    lexical: Sequence[tuple[int, float]],
    document_of: Mapping[int, int],
    dense_weight: float = DENSE_WEIGHT,
) -> list[tuple[int, float]]:
    """Fuse two rankings at the document level on scores that keep their meaning.

    Each document scores `w * cosine + (1 - w) * lexical`: `cosine` is its best sentence's
    cosine similarity to the query, as it is; `lexical` is its best passage's BM25 over the
    query's ceiling (1.0: each query word once in a passage of average length; see
    `lexical_candidates`). Neither is stretched over the candidates, so a weak keyword match
    stays weak even when it is the best one found (min-max normalisation, the rule before,
    made it 1.0 and let it outrank a close paraphrase). A document missing from the dense
    candidates takes their lowest cosine (it lies below all of them); one missing from the
    lexical candidates scores 0 there. `w` is chosen on development data by
    benchmarks/fusion.py. A document is shown by the sentence of the larger part.

    Returns:
        (sentence id, fused score), best first.
    """
    best_dense = _best_per_document(dense, document_of)
    best_lexical = _best_per_document(lexical, document_of)
    floor = min((score for _, score in best_dense.values()), default=0.0)
    fused: list[tuple[int, float]] = []
    for doc in best_dense.keys() | best_lexical.keys():
        d = dense_weight * (best_dense[doc][1] if doc in best_dense else floor)
        lex = (1 - dense_weight) * (best_lexical[doc][1] if doc in best_lexical else 0.0)
        by_dense = doc in best_dense and (doc not in best_lexical or d > lex)
        shown = (best_dense if by_dense else best_lexical)[doc][0]
        fused.append((shown, d + lex))
    return sorted(fused, key=lambda item: (-item[1], item[0]))


# Places of one document closer than this many sentences count as one place (`select_hits`).
NEAR_SENTENCES = 2


@dataclass(frozen=True)
class Places:
    """Every candidate place of the documents, scored on its own: the unit of `per_document`.

    A place is a lexical passage (a range of sentence ids, with the best cosine of the dense
    candidates inside it) or a dense sentence outside every candidate passage. In hybrid mode
    it scores like `fuse` scores a document, from its own parts; otherwise by its own ranking.

    Attributes:
        ranked: (id standing for the place, score), best first: a passage's first sentence
            (or its dense sentence, when that part is the larger) or the dense sentence.
        spans: that id -> (first, last) sentence ids of the place.
    """

    ranked: list[tuple[int, float]]
    spans: dict[int, tuple[int, int]]

    @classmethod
    def of(
        cls,
        dense: Sequence[tuple[int, float]],
        passages: Sequence[PassageHit],
        mode: str,
        dense_weight: float = DENSE_WEIGHT,
    ) -> Places:
        """The places of the candidates of one query, scored for `mode`."""
        spans: dict[int, tuple[int, int]] = {}
        scored: list[tuple[int, float]] = []
        if mode == "dense":
            return cls(list(dense), {i: (i, i) for i, _ in dense})
        if mode == "lexical":
            return cls(
                [(p.first, p.score) for p in passages],
                {p.first: (p.first, p.last) for p in passages},
            )
        floor = min((score for _, score in dense), default=0.0)
        starts = sorted((p.first, p.last, p.score) for p in passages)
        inside: dict[int, tuple[int, float]] = {}  # passage first -> its best dense sentence
        for i, cosine in dense:  # best first: the first one inside a passage is its best
            at = bisect.bisect_right(starts, (i, float("inf"), float("inf"))) - 1
            if at >= 0 and starts[at][0] <= i <= starts[at][1]:
                inside.setdefault(starts[at][0], (i, cosine))
            else:
                spans[i] = (i, i)
                scored.append((i, dense_weight * cosine))
        for first, last, relevance in starts:
            sentence, cosine = inside.get(first, (first, floor))
            d, lex = dense_weight * cosine, (1 - dense_weight) * relevance
            key = sentence if d > lex else first
            spans[key] = (first, last)
            scored.append((key, d + lex))
        return cls(sorted(scored, key=lambda item: (-item[1], item[0])), spans)


def select_hits(
    ranked: Sequence[tuple[int, float]],
    document_of: Mapping[int, int],
    k: int,
    per_document: int = 1,
    places: Places | None = None,
) -> list[tuple[int, float]]:
    """The hits to show: each of the k best documents by its best sentence, then, with
    `per_document` > 1, up to that many places of each of them in all, best first.

    A further place of a document is one of its `places` not near those already shown for it
    (`_near`); it scores on its own (never above its document). The list is cut to k hits, so
    a one-document index gives k hits from different places.
    """
    grouped = group_by_document(ranked, document_of, k)
    if per_document <= 1 or places is None:
        return grouped
    shown: dict[int, list[tuple[int, int]]] = {}
    for i, _ in grouped:
        shown[document_of[i]] = [places.spans.get(i, (i, i))]
    hits = list(grouped)
    for i, score in places.ranked:
        taken = shown.get(document_of.get(i, -1))
        if taken is None or len(taken) >= per_document:
            continue
        first, last = places.spans[i]
        if not any(_near((first, last), span) for span in taken):
            taken.append((first, last))
            hits.append((i, score))
    return sorted(hits, key=lambda item: -item[1])[:k]


def _near(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Two places are one: passages that share a sentence, or a sentence within
    `NEAR_SENTENCES` of the other place (two different passages are different places)."""
    if a[0] != a[1] and b[0] != b[1]:
        return a[0] <= b[1] and b[0] <= a[1]
    return a[0] - NEAR_SENTENCES <= b[1] and b[0] - NEAR_SENTENCES <= a[1]


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
    """(sentence id, document id, cosine) of the sentences nearest to the query vector, best
    first."""
    return index.nearest_sentences(
        query_vector[None, :], fetch_size(k), allowed_ids=restriction.sentence_ids
    )[0]


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
    if mode == "hybrid":
        ranked = fuse(dense, lexical, document_of)
    else:
        ranked = dense or lexical
    by_first = {p.first: p for p in passages}
    places = Places.of(dense, passages, mode) if per_document > 1 else None

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
