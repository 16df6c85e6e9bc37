"""The "auto" FAISS factory: exact search while the index is small, IVF once it is large.

An exact scan costs time in proportion to the number of vectors (about 1.8 ms for 30k x 384 on
one core here, ~15 ms for 100k with `IndexFlatIP`), so below `AutoFactory.flat_max` vectors
the index stays flat and every search is exact. From there on it becomes `IVF{nlist},SQfp16`
(vectors stored as float16, see `faiss_layouts.AUTO_IVF_CODEC`) with nlist ~ 4 * sqrt(n),
retrained from the stored vectors, and `nprobe` is the first of nlist/16, then steps of
sqrt(2) up, whose recall@10 against exact search reaches `target_recall` on a sample of stored
vectors.

Decisions are taken at a checkpoint (`adapt`), and between the parts of a document too large to
encode at once (`IndexWriter.extend_document`), never during `add`, so an ingest trains at most
once per checkpoint or part. The index is retrained again when it outgrows its lists
(`regrow_factor`) and goes back to flat when deletions shrink it well below `flat_max`. Both
layouts support removal by id; HNSW does not, which is why it is not a choice here.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import faiss
import numpy as np

from indexer.faiss_index import MIN_POINTS_PER_CENTROID, FaissIndex
from indexer.faiss_layouts import AUTO_IVF_CODEC
from indexer.vectors import IdArray, ScoreArray

log = logging.getLogger(__name__)

RECALL_K = 10
# Scores equal within this much count as ties with the k-th exact result. (Scores read from a
# float16 index are off by up to ~5e-4: compare exact scores of the found ids instead.)
_TIE_TOLERANCE = 1e-5


@dataclass(frozen=True)
class AutoFactory:
    """When and how the "auto" factory changes the FAISS structure.

    Attributes:
        flat_max: below this many vectors the index is flat (exact).
        lists_per_sqrt: nlist = round(lists_per_sqrt * sqrt(n)).
        regrow_factor: retrain when the ideal nlist differs from the current one by this factor
            (2.0: after the index has grown or shrunk about 4x since it was trained).
        target_recall: recall@10 against exact search that the tuned nprobe must reach on
            stored vectors. The goal is 0.95 for real queries. Whether stored vectors are
            easier or harder queries than real ones depends on the model: with the unwhitened
            v2 they sat in dense regions and were easier; with whitened vectors they are harder
            (100k benchmark index, v3: at nprobe 158 stored 0.962, SciFact claims 0.978). 0.96
            keeps a small margin for the first case without overshooting in the second (0.97
            chose nprobe 315 there, where claims reach 0.992 at twice the cost).
        tune_queries: stored vectors used as queries to tune nprobe.
        train_points_per_list: k-means sample size per list (FAISS wants >= 39).
        seed: seed of the k-means sample and the tuning queries.
    """

    flat_max: int = 50_000
    lists_per_sqrt: float = 4.0
    regrow_factor: float = 2.0
    target_recall: float = 0.96
    tune_queries: int = 200
    train_points_per_list: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if self.flat_max < 2 * (RECALL_K + 1):
            raise ValueError(f"flat_max must be >= {2 * (RECALL_K + 1)}, got {self.flat_max}")
        if self.regrow_factor <= 1.0:
            raise ValueError(f"regrow_factor must be > 1, got {self.regrow_factor}")
        if not 0.0 < self.target_recall <= 1.0:
            raise ValueError(f"target_recall must be in (0, 1], got {self.target_recall}")
        if self.train_points_per_list < 1 or self.tune_queries < 1 or self.lists_per_sqrt <= 0:
            raise ValueError(f"invalid {self!r}")


def ideal_nlist(n: int, policy: AutoFactory) -> int | None:
    """The number of IVF lists for `n` vectors, or None when the index should be flat."""
    return None if n < policy.flat_max else _lists_for(n, policy)


def _lists_for(n: int, policy: AutoFactory) -> int:
    nlist = round(policy.lists_per_sqrt * math.sqrt(n))
    # k-means needs enough points per centroid; this only binds for tiny test thresholds.
    return max(1, min(nlist, n // MIN_POINTS_PER_CENTROID))


def planned_nlist(current: int | None, n: int, policy: AutoFactory) -> int | None:
    """The nlist an index of `n` vectors should have, given its `current` one (None: flat).

    Keeps `current` unless it is far from ideal, so small changes never cause retraining: a
    flat index becomes IVF at `flat_max`, an IVF index goes back to flat below `flat_max / 2`
    and is retrained when `ideal_nlist` is `regrow_factor` times larger or smaller.
    """
    if current is None:
        return ideal_nlist(n, policy)
    if n < policy.flat_max // 2:
        return None
    ideal = _lists_for(max(n, policy.flat_max), policy)
    if ideal >= policy.regrow_factor * current or ideal * policy.regrow_factor <= current:
        return ideal
    return current


def recall_at_k(
    found_ids: IdArray,
    found_scores: ScoreArray,
    exact_scores: ScoreArray,
    k: int,
    *,
    tolerance: float | None = None,
) -> float:
    """Mean recall@k of approximate results against exact ones, counting ties as hits.

    A found result is correct when its score reaches the k-th exact score (within a small
    tolerance): with duplicate vectors, which of the tied ids comes back is arbitrary.

    Args:
        found_ids: int64[q, >=k] approximate ids (padding -1), best first.
        found_scores: float32[q, >=k] their scores (padding -inf).
        exact_scores: float32[q, >=k] exact scores, best first.
        k: cut-off.
        tolerance: how far below the k-th exact score a found score still counts (default
            `_TIE_TOLERANCE`).
    """
    threshold = exact_scores[:, k - 1 : k] - (_TIE_TOLERANCE if tolerance is None else tolerance)
    correct = (found_ids[:, :k] >= 0) & (found_scores[:, :k] >= threshold)
    return float(correct.sum(axis=1).mean() / k)


_KNN_ROWS = 16_384


def _exact_knn(queries: np.ndarray, vectors: np.ndarray, k: int) -> tuple[ScoreArray, IdArray]:
    """Exact top-k rows of `vectors` (any float dtype) by inner product with each query, scanned
    `_KNN_ROWS` at a time as float32: (scores float32[q, k], rows int64[q, k])."""
    best_scores = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_rows = np.empty((len(queries), 0), dtype=np.int64)
    for start in range(0, len(vectors), _KNN_ROWS):
        part = np.ascontiguousarray(vectors[start : start + _KNN_ROWS], dtype=np.float32)
        scores, rows = faiss.knn(
            queries, part, min(k, len(part)), metric=faiss.METRIC_INNER_PRODUCT
        )
        scores = np.concatenate([best_scores, scores], axis=1)
        rows = np.concatenate([best_rows, rows + start], axis=1)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        best_scores = np.take_along_axis(scores, order, axis=1)
        best_rows = np.take_along_axis(rows, order, axis=1)
    return best_scores, best_rows


def _drop_self(
    ids: IdArray, scores: ScoreArray, query_ids: IdArray, k: int
) -> tuple[IdArray, ScoreArray]:
    """Remove each query's own id from its row of results and keep the first `k` columns."""
    order = np.argsort(ids == query_ids[:, None], axis=1, kind="stable")[:, :k]
    return np.take_along_axis(ids, order, axis=1), np.take_along_axis(scores, order, axis=1)


MIN_NPROBE = 8
NPROBE_FLOOR_DIVISOR = 16
# Each try multiplies nprobe by this. Doubling overshot by up to 2x: a whitened v2 needed a
# little more than nlist/8 at 100k and got nlist/4 (223 with this step, 316 with doubling).
NPROBE_STEP = math.sqrt(2)


def adapt(index: FaissIndex, policy: AutoFactory) -> bool:
    """Give `index` the structure `planned_nlist` asks for; return True when it changed.

    Retraining reads every vector back out of the index as float16 (memory holds the old
    structure and that half-size copy, then the new structure and the copy) and, for IVF,
    tunes `nprobe` on `policy.tune_queries` stored vectors.

    Raises:
        ValueError: `index` holds a structure that cannot be read back (an IVF with a codec
            other than Flat).
    """
    n = len(index)
    target = planned_nlist(index.nlist, n, policy)
    if target == index.nlist:
        return False
    # A float16 copy: the IVF structure stores float16 anyway, and while the old structure is
    # still held a full float32 copy would make retraining 1.5 times as costly in memory.
    ids, vectors = index.contents(np.float16)
    rng = np.random.default_rng(policy.seed)
    if target is None:
        log.info("%d vectors: switching the vector index to exact search (Flat)", n)
        index.rebuild(ids, vectors, None)
        return True
    train_rows = None
    if n > target * policy.train_points_per_list:
        train_rows = np.sort(rng.choice(n, target * policy.train_points_per_list, replace=False))
    picked = np.sort(rng.choice(n, min(policy.tune_queries, n), replace=False))
    query_ids = ids[picked]
    queries = np.ascontiguousarray(vectors[picked], dtype=np.float32)
    k = min(RECALL_K, n - 1)
    exact_scores, exact_rows = _exact_knn(queries, vectors, k + 1)
    _, exact_scores = _drop_self(ids[exact_rows], exact_scores, query_ids, k)
    log.info("%d vectors: training IVF%d,%s for the vector index", n, target, AUTO_IVF_CODEC)
    index.rebuild(ids, vectors, target, train_rows=train_rows)
    by_id = np.argsort(ids)
    # Stored vectors make easy queries: in clustered data their neighbours share their list, so
    # tuning on them alone chose nprobe 1 at 1M vectors and real queries then found a third of
    # their true neighbours. A floor of 1/16 of the lists keeps recall for unseen queries.
    nprobe, recall = max(MIN_NPROBE, target // NPROBE_FLOOR_DIVISOR), 0.0
    while True:
        index.nprobe = nprobe
        found_scores, found_ids = index.search(queries, k + 1)
        found_ids, _ = _drop_self(found_ids, found_scores, query_ids, k)
        # Judge each found id by its exact float32 score, not the float16 one the index gives.
        rows = by_id[np.searchsorted(ids, found_ids.clip(min=0), sorter=by_id)]
        true_scores = np.einsum("qd,qkd->qk", queries, vectors[rows].astype(np.float32))
        true_scores[found_ids < 0] = -np.inf
        recall = recall_at_k(found_ids, true_scores, exact_scores, k)
        if recall >= policy.target_recall or nprobe >= target:
            break
        nprobe = min(max(nprobe + 1, round(nprobe * NPROBE_STEP)), target)
    log.info(
        "IVF%d,%s: nprobe %d, recall@%d %.3f on stored vectors",
        *(target, AUTO_IVF_CODEC, nprobe, k, recall),
    )
    return True
