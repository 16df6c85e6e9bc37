"""Hybrid fusion and the choice of hits: rankings of sentences -> documents -> places.

`with_passages` makes the dense ranking from sentence and passage candidates; `fuse` combines
the dense and lexical rankings of one query at the document level, with a weight per query
(`query_dense_weight`);
`select_hits` keeps the k best documents and, with `per_document`, further places of each
(`Places`). Pure functions of the candidates: no index, no I/O.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from indexer.lexical import PassageHit

# Weight of the dense part in hybrid mode (the lexical one gets 1 - the weight), by how strong
# the query's keyword match is: its best passage's BM25 over the query's ceiling (1.0: every
# query word once in a passage of average length). At STRONG_MATCH and above the dense side
# gets DENSE_WEIGHT. Below WEAK_MATCH the keyword side found little, and the weaker its best
# match, the more the dense side counts: WEAK_MATCH_DENSE_WEIGHT at WEAK_MATCH, rising linearly to
# NO_MATCH_DENSE_WEIGHT for a match of nothing; from WEAK_MATCH to STRONG_MATCH the weight moves
# linearly from WEAK_MATCH_DENSE_WEIGHT to DENSE_WEIGHT, so queries on either side of a point
# keep one scale of hybrid scores. The weights are chosen on development sets of both kinds
# (words shared; words paraphrased: Cranfield and three Debian FAQs) by benchmarks/fusion.py's
# four steps, for the shipped model and the engine's dense ranking; see benchmarks/RESULTS.md.
# Session 19, dense by best sentence and best passage (`with_passages`), lookups apart (below;
# nine dev sets, two of them lookups of a manual's pages by title and by name): 0.5 on all
# queries (dev mean nDCG@10 0.6978; 0.02 gives 0.6879, lexical alone 0.6873), 0.4 on the 58
# weak-match queries, the ramp to 0.6 for no match unchanged, STRONG_MATCH 1.0 (dev mean 0.6983;
# every edge from 0.5 to 1.0 within 0.0007); the rule of sessions 13-18 scores 0.6880 there.
# Sessions 13-18, dense by best sentence alone: 0.02, 0.4, 0.6, STRONG_MATCH 0.8 (dev mean
# 0.6879): then a strong keyword match had to leave the dense side only near-ties to break
# (from 0.04 up git-doc's FAQ fell below lexical alone).
DENSE_WEIGHT = 0.5
WEAK_MATCH = 0.5
WEAK_MATCH_DENSE_WEIGHT = 0.4
NO_MATCH_DENSE_WEIGHT = 0.6
STRONG_MATCH = 1.0
# A query of one word that the keyword side matches (at WEAK_MATCH or more) is a lookup: a name,
# an identifier, a term. A sentence encoder has no context to place one word by, and the pages
# that list a name (an index, a table of contents) outrank the page about it. Chosen by
# benchmarks/fusion.py (session 19) on the pooled lookups of its dev sets (152 `sqlite3_*` names
# -> the page declaring them): 0.0, i.e. the keyword ranking alone, nDCG@10 0.657, against 0.644
# at 0.02 and 0.513 at DENSE_WEIGHT.
LOOKUP_DENSE_WEIGHT = 0.0


def dense_weight_for(
    lexical: Sequence[tuple[int, float]],
    strong: float = DENSE_WEIGHT,
    weak: float = WEAK_MATCH_DENSE_WEIGHT,
    none: float = NO_MATCH_DENSE_WEIGHT,
    strong_from: float | None = None,
) -> float:
    """The dense weight of one query, from its lexical candidates (scores over the ceiling).

    `strong`, `weak` and `none` are the weights at and above `strong_from` (STRONG_MATCH by
    default), at WEAK_MATCH, and for no keyword match at all; between those points the weight
    is linear in the best lexical score (benchmarks/fusion.py varies them to choose the
    defaults).
    """
    strong_from = STRONG_MATCH if strong_from is None else strong_from
    best = max((score for _, score in lexical), default=0.0)
    if best >= strong_from:
        return strong
    if best >= WEAK_MATCH:
        return weak + (strong - weak) * (best - WEAK_MATCH) / (strong_from - WEAK_MATCH)
    return weak + (none - weak) * (1.0 - max(best, 0.0) / WEAK_MATCH)


def is_lookup(query: str, lexical: Sequence[tuple[int, float]]) -> bool:
    """True for a one-word query whose keyword match is at least WEAK_MATCH (see
    LOOKUP_DENSE_WEIGHT)."""
    best = max((score for _, score in lexical), default=0.0)
    return len(query.split()) == 1 and best >= WEAK_MATCH


def query_dense_weight(query: str, lexical: Sequence[tuple[int, float]]) -> float:
    """The dense weight of one query in hybrid mode: LOOKUP_DENSE_WEIGHT for a lookup
    (`is_lookup`), else by the strength of its keyword match (`dense_weight_for`)."""
    return LOOKUP_DENSE_WEIGHT if is_lookup(query, lexical) else dense_weight_for(lexical)


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
    best = best_per_document(ranked, document_of)
    return sorted(best.values(), key=lambda item: -item[1])[:k]


def best_per_document(
    ranking: Sequence[tuple[int, float]], document_of: Mapping[int, int]
) -> dict[int, tuple[int, float]]:
    """document id -> (its best sentence id, score) in one ranking; unknown ids are dropped."""
    best: dict[int, tuple[int, float]] = {}
    for sentence_id, score in ranking:
        document = document_of.get(sentence_id)
        if document is not None and document not in best:
            best[document] = (sentence_id, score)
    return best


def with_passages(
    sentences: Sequence[tuple[int, int, float]], passages: Sequence[tuple[int, int, float]]
) -> list[tuple[int, int, float]]:
    """The dense ranking of a query by sentence and passage together: each document scores the
    mean of its best sentence's and its best passage's cosines.

    Every sentence candidate of a document gets its document's best passage cosine averaged in
    (so a document's best sentence carries the document's score, and its other sentences keep
    their order for `Places`); a document among the passage candidates only enters by its
    passage's first sentence. A document missing from one ranking takes that ranking's lowest
    document score there, as `fuse` does. Measured on the dev sets with the shipped model
    (`benchmarks/dense_units.py --pooled`: "sentence_passage_mean" against "sentence"), dense
    MRR/nDCG@10 0.360 against 0.308 on the mean of five.

    Args:
        sentences: (sentence id, document id, cosine), best first.
        passages: (first sentence id, document id, cosine) of pooled passages, best first;
            empty for an index without passage vectors, which leaves `sentences` as they are.

    Returns:
        (sentence id, document id, score), best first.
    """
    if not passages or not sentences:
        return list(sentences or passages)
    best_sentence: dict[int, float] = {}
    best_passage: dict[int, tuple[int, float]] = {}
    for _, document, cosine in sentences:
        best_sentence.setdefault(document, cosine)
    for first, document, cosine in passages:
        best_passage.setdefault(document, (first, cosine))
    floor_sentence = min(best_sentence.values())
    floor_passage = min(cosine for _, cosine in best_passage.values())
    ranked = [
        (i, d, 0.5 * (cosine + best_passage.get(d, (i, floor_passage))[1]))
        for i, d, cosine in sentences
    ]
    ranked += [
        (first, d, 0.5 * (floor_sentence + cosine))
        for d, (first, cosine) in best_passage.items()
        if d not in best_sentence
    ]
    ranked.sort(key=lambda item: -item[2])
    return ranked


def fuse(
    dense: Sequence[tuple[int, float]],
    lexical: Sequence[tuple[int, float]],
    document_of: Mapping[int, int],
    dense_weight: float | None = None,
) -> list[tuple[int, float]]:
    """Fuse two rankings at the document level on scores that keep their meaning.

    Each document scores `w * cosine + (1 - w) * lexical`: `cosine` is its best sentence's
    cosine similarity to the query, as it is; `lexical` is its best passage's BM25 over the
    query's ceiling (1.0: each query word once in a passage of average length; see
    `lexical_candidates`). Neither is stretched over the candidates, so a weak keyword match
    stays weak even when it is the best one found (min-max normalisation, the rule before,
    made it 1.0 and let it outrank a close paraphrase). A document missing from the dense
    candidates takes their lowest cosine (it lies below all of them); one missing from the
    lexical candidates scores 0 there. `w` is `dense_weight`, by default the query's own
    (`dense_weight_for`: larger when its keyword match is weak). A document is shown by the
    sentence of the larger part.

    Returns:
        (sentence id, fused score), best first.
    """
    if dense_weight is None:
        dense_weight = dense_weight_for(lexical)
    best_dense = best_per_document(dense, document_of)
    best_lexical = best_per_document(lexical, document_of)
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
        dense_weight: float | None = None,
    ) -> Places:
        """The places of the candidates of one query, scored for `mode` (in hybrid mode with
        `dense_weight`, by default the query's own, as `fuse` scores)."""
        spans: dict[int, tuple[int, int]] = {}
        scored: list[tuple[int, float]] = []
        if mode == "dense":
            return cls(list(dense), {i: (i, i) for i, _ in dense})
        if mode == "lexical":
            return cls(
                [(p.first, p.score) for p in passages],
                {p.first: (p.first, p.last) for p in passages},
            )
        if dense_weight is None:
            dense_weight = dense_weight_for([(p.first, p.score) for p in passages])
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
