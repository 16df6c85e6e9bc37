"""Vector indexes: the contract (`VectorIndex`), its shared input checks and a NumPy reference.

The FAISS implementation is `indexer.faiss_index.FaissIndex`; `ExactIndex` here is the oracle it
is tested against.

Every vector has a `vector_id` (int64, equal to `sentences.id`). Scores are inner products, which
are cosine similarities for the unit vectors docsearch stores: higher is better. A search always
returns exactly `k` columns per query; when fewer than `k` vectors qualify, the rest of the row is
padding with id `-1` and score `-inf`, which callers must skip (it is never a real hit).

Neither implementation is safe for `add`/`remove` concurrently with `search`; any number of
concurrent searches on an index that is not being modified is fine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from indexer.atomic import atomic_path

IdArray = npt.NDArray[np.int64]
VectorArray = npt.NDArray[np.float32]
ScoreArray = npt.NDArray[np.float32]

PAD_ID = -1
PAD_SCORE = float("-inf")


class VectorIndex(Protocol):
    """What every vector index offers. `tests/unit/indexer/test_vectors.py` checks the contract."""

    @property
    def dim(self) -> int:
        """Length of every vector."""
        ...

    def __len__(self) -> int:
        """Number of vectors stored."""
        ...

    def add(self, ids: IdArray, vectors: VectorArray) -> None:
        """Store `vectors: float32[n, dim]` under `ids: int64[n]` (unique, not yet in the index)."""
        ...

    def remove(self, ids: IdArray) -> int:
        """Remove the vectors with these `ids: int64[m]`; return how many were present."""
        ...

    def search(
        self, queries: VectorArray, k: int, allowed_ids: IdArray | None = None
    ) -> tuple[ScoreArray, IdArray]:
        """Top-`k` by inner product: `queries: float32[q, dim]` -> (float32[q, k], int64[q, k])."""
        ...

    def save(self, path: Path) -> None:
        """Write the index to `path` atomically (temp file, fsync, rename)."""
        ...

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        """Read an index that `save` wrote."""
        ...


def describe(array: Any) -> str:
    """Return `dtype[shape]` of an array (e.g. `float64[3, 16]`) for error messages."""
    if not isinstance(array, np.ndarray):
        return type(array).__name__
    return f"{array.dtype}[{', '.join(str(s) for s in array.shape)}]"


def check_vectors(name: str, array: Any, dim: int) -> None:
    """Raise ValueError unless `array` is a C-contiguous float32[n, dim] of finite numbers."""
    if (
        not isinstance(array, np.ndarray)
        or array.dtype != np.float32
        or array.ndim != 2
        or array.shape[1] != dim
    ):
        raise ValueError(f"{name} must be float32[n, {dim}], got {describe(array)}")
    if not array.flags.c_contiguous:
        raise ValueError(
            f"{name} ({describe(array)}) must be C-contiguous; pass np.ascontiguousarray({name})"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name} ({describe(array)}) contains NaN or infinite values")


def check_ids(name: str, ids: Any, n: int | None = None) -> None:
    """Raise ValueError unless `ids` is a C-contiguous int64[n] (any length when `n` is None)."""
    if not isinstance(ids, np.ndarray) or ids.dtype != np.int64 or ids.ndim != 1:
        expected = "int64[m]" if n is None else f"int64[{n}]"
        raise ValueError(f"{name} must be {expected}, got {describe(ids)}")
    if n is not None and ids.shape[0] != n:
        raise ValueError(f"{name} must be int64[{n}] (one id per vector), got {describe(ids)}")
    if not ids.flags.c_contiguous:
        raise ValueError(
            f"{name} ({describe(ids)}) must be C-contiguous; pass np.ascontiguousarray({name})"
        )


def check_new_ids(ids: IdArray) -> None:
    """Raise ValueError if `ids: int64[n]` has a negative id or a duplicate."""
    if ids.size and int(ids.min()) < 0:
        raise ValueError(f"ids must be >= 0 (-1 is the padding id), got min {int(ids.min())}")
    if np.unique(ids).size != ids.size:
        raise ValueError(f"ids ({describe(ids)}) contain duplicates")


def check_k(k: int) -> None:
    """Raise ValueError unless `k` is a positive integer."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def pad_results(q: int, k: int) -> tuple[ScoreArray, IdArray]:
    """Return search results that are all padding: (float32[q, k] of -inf, int64[q, k] of -1)."""
    return (
        np.full((q, k), PAD_SCORE, dtype=np.float32),
        np.full((q, k), PAD_ID, dtype=np.int64),
    )


class ExactIndex:
    """Brute-force NumPy implementation of `VectorIndex`: the oracle the FAISS index is tested
    against. Files are `.npz` archives read with `allow_pickle=False`."""

    def __init__(self, dim: int) -> None:
        """Create an empty index of `dim`-long vectors.

        Raises:
            ValueError: dim is not a positive integer.
        """
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        self._dim = dim
        self._ids: IdArray = np.empty(0, dtype=np.int64)
        self._vectors: VectorArray = np.empty((0, dim), dtype=np.float32)

    @classmethod
    def load(cls, path: Path) -> ExactIndex:
        """Read an index written by `ExactIndex.save`.

        Raises:
            FileNotFoundError: no file at `path`.
            ValueError: the file is not an ExactIndex archive.
        """
        with np.load(path, allow_pickle=False) as archive:
            try:
                ids = archive["ids"]
                vectors = archive["vectors"]
            except KeyError as exc:
                raise ValueError(f"{path} is not an ExactIndex file") from exc
        if vectors.ndim != 2 or ids.shape != (vectors.shape[0],):
            raise ValueError(f"{path} holds vectors {describe(vectors)} and ids {describe(ids)}")
        instance = cls(int(vectors.shape[1]))
        instance._ids = ids.astype(np.int64)
        instance._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return instance

    @property
    def dim(self) -> int:
        """Length of every vector."""
        return self._dim

    def __len__(self) -> int:
        return int(self._ids.size)

    def add(self, ids: IdArray, vectors: VectorArray) -> None:
        """Store `vectors: float32[n, dim]` under new, unique `ids: int64[n]`.

        Raises:
            ValueError: wrong shape, dtype or contiguity, negative or duplicate ids.
        """
        check_vectors("vectors", vectors, self._dim)
        check_ids("ids", ids, vectors.shape[0])
        check_new_ids(ids)
        self._ids = np.concatenate([self._ids, ids])
        self._vectors = np.concatenate([self._vectors, vectors])

    def remove(self, ids: IdArray) -> int:
        """Remove the vectors with these `ids: int64[m]`; return how many were present.

        Raises:
            ValueError: `ids` is not int64[m].
        """
        check_ids("ids", ids)
        keep = ~np.isin(self._ids, ids)
        removed = int(self._ids.size - keep.sum())
        self._ids = self._ids[keep]
        self._vectors = self._vectors[keep]
        return removed

    def search(
        self, queries: VectorArray, k: int, allowed_ids: IdArray | None = None
    ) -> tuple[ScoreArray, IdArray]:
        """Exact top-`k` by inner product; same arguments and result as `VectorIndex.search`.

        Ties are broken by the smaller id.

        Raises:
            ValueError: wrong shape, dtype or contiguity, or k < 1.
        """
        check_vectors("queries", queries, self._dim)
        check_k(k)
        candidate_ids, candidates = self._ids, self._vectors
        if allowed_ids is not None:
            check_ids("allowed_ids", allowed_ids)
            mask = np.isin(self._ids, allowed_ids)
            candidate_ids, candidates = self._ids[mask], self._vectors[mask]
        q = queries.shape[0]
        scores, ids = pad_results(q, k)
        k_found = min(k, candidate_ids.size)
        if q == 0 or k_found == 0:
            return scores, ids
        all_scores = queries @ candidates.T  # (q, m)
        for row in range(q):
            # Sort by score descending, then id ascending; lexsort keys go last-is-primary.
            order = np.lexsort((candidate_ids, -all_scores[row]))[:k_found]
            scores[row, :k_found] = all_scores[row, order]
            ids[row, :k_found] = candidate_ids[order]
        return scores, ids

    def save(self, path: Path) -> None:
        """Write the index to `path` as an `.npz` archive, atomically and durably.

        Raises:
            StorageError: the write failed; any previous file at `path` is intact.
        """
        with atomic_path(path) as tmp, open(tmp, "xb") as file:
            np.savez(file, ids=self._ids, vectors=self._vectors)
