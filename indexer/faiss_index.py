"""`FaissIndex`: the FAISS implementation of `VectorIndex`, flat or IVF, ids = sentence ids.

Scores, padding (id `-1`, score `-inf`) and thread safety are as described in `indexer.vectors`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexer.atomic import atomic_path
from indexer.vectors import (
    PAD_SCORE,
    IdArray,
    ScoreArray,
    VectorArray,
    check_ids,
    check_k,
    check_new_ids,
    check_vectors,
    pad_results,
)

log = logging.getLogger(__name__)

DEFAULT_NPROBE = 8
# FAISS warns when k-means gets fewer than 39 training points per centroid.
MIN_POINTS_PER_CENTROID = 39

_IVF_FACTORY = re.compile(r"IVF([1-9][0-9]*),(.+)")


def parse_factory(factory: str) -> int | None:
    """Return the number of IVF lists of a supported factory string, or None for "Flat".

    Supported: "Flat" (exact) and "IVF{nlist},{codec}" such as "IVF1024,Flat"; both support
    removal by id, unlike HNSW.

    Raises:
        ValueError: any other factory string.
    """
    if factory == "Flat":
        return None
    match = _IVF_FACTORY.fullmatch(factory)
    if match is None:
        raise ValueError(
            f"unsupported FAISS factory {factory!r}; use 'Flat' or 'IVF<nlist>,Flat' "
            "(e.g. 'IVF1024,Flat')"
        )
    return int(match.group(1))


class FaissIndex:
    """FAISS inner-product index whose ids are the sentence ids.

    "Flat" is an `IndexIDMap2` over `IndexFlatIP` (exact). "IVF{nlist},..." starts out flat as
    well and becomes the IVF index once `train_size` vectors have been added (k-means needs
    data), so a small index is always exact and a large one is approximate with `nprobe` lists
    searched per query.
    """

    def __init__(
        self,
        dim: int,
        factory: str = "Flat",
        *,
        nprobe: int = DEFAULT_NPROBE,
        train_size: int | None = None,
    ) -> None:
        """Create an empty index.

        Args:
            dim: vector length (> 0).
            factory: "Flat" or "IVF{nlist},{codec}" (see `parse_factory`).
            nprobe: IVF lists searched per query (clamped to nlist); ignored for "Flat".
            train_size: vectors needed before an IVF index is trained; default 39 * nlist.

        Raises:
            ValueError: bad dim, factory or nprobe.
        """
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        self._dim = dim
        self._factory = factory
        self._nlist = parse_factory(factory)
        if self._nlist is not None:
            # Fail now, not at training time, if FAISS rejects the codec part.
            faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
        self._train_size = (
            train_size
            if train_size is not None
            else MIN_POINTS_PER_CENTROID * (self._nlist if self._nlist is not None else 1)
        )
        self._nprobe = 1
        self.nprobe = nprobe
        self._index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._is_ivf = False

    @classmethod
    def load(cls, path: Path, *, factory: str | None = None, mmap: bool = False) -> FaissIndex:
        """Read an index written by `save`.

        Args:
            path: the index file.
            factory: the factory string the index was created with; needed to keep growing
                towards an IVF index that has not been trained yet. Default: inferred from the file.
            mmap: map the file instead of reading it (only for searching, not for `add`).

        Raises:
            FileNotFoundError: no file at `path`.
            ValueError: the file holds an index this class did not write.
        """
        if not path.is_file():
            raise FileNotFoundError(f"no vector file at {path}")
        flags = faiss.IO_FLAG_MMAP if mmap else 0
        try:
            raw = faiss.read_index(str(path), flags)
        except RuntimeError as exc:
            if not path.exists():  # deleted by a writer between the check and the read
                raise FileNotFoundError(f"no vector file at {path}") from exc
            raise ValueError(f"{path} is not a readable FAISS index: {exc}") from exc
        if raw.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise ValueError(f"{path} does not use the inner-product metric")
        ivf = faiss.try_extract_index_ivf(raw)
        if ivf is not None:
            if factory is None and isinstance(raw, faiss.IndexIVFFlat):
                factory = f"IVF{ivf.nlist},Flat"
            elif factory is None or parse_factory(factory) != ivf.nlist:
                raise ValueError(
                    f"{path} holds a {type(raw).__name__} with {ivf.nlist} lists; "
                    f"pass its factory string (got {factory!r})"
                )
        elif isinstance(raw, faiss.IndexIDMap2):
            factory = "Flat" if factory is None else factory
        else:
            raise ValueError(f"{path} holds a {type(raw).__name__}, not an index FaissIndex wrote")
        instance = cls(raw.d, factory)
        instance._index = raw
        instance._is_ivf = ivf is not None
        if ivf is not None:
            instance._nprobe = int(ivf.nprobe)
        return instance

    @property
    def dim(self) -> int:
        """Length of every vector."""
        return self._dim

    @property
    def factory(self) -> str:
        """The factory string this index was created with."""
        return self._factory

    @property
    def is_trained(self) -> bool:
        """True once an IVF index has been trained (always False for "Flat")."""
        return self._is_ivf

    @property
    def nprobe(self) -> int:
        """IVF lists searched per query (1..nlist)."""
        return self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"nprobe must be a positive integer, got {value!r}")
        self._nprobe = min(value, self._nlist) if self._nlist is not None else value

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: IdArray, vectors: VectorArray) -> None:
        """Store `vectors: float32[n, dim]` under `ids: int64[n]`.

        The ids must be unique and not already in the index (duplicates within `ids` raise;
        duplicates of stored ids are not detected).

        Raises:
            ValueError: wrong shape, dtype or contiguity, negative or duplicate ids.
        """
        check_vectors("vectors", vectors, self._dim)
        check_ids("ids", ids, vectors.shape[0])
        check_new_ids(ids)
        if ids.size == 0:
            return
        if (
            self._nlist is not None
            and not self._is_ivf
            and len(self) + ids.size >= self._train_size
        ):
            self._become_ivf(ids, vectors)
            return
        self._index.add_with_ids(vectors, ids)

    def _become_ivf(self, ids: IdArray, vectors: VectorArray) -> None:
        """Train the IVF index on everything stored so far plus the new vectors and move over."""
        staged = len(self)
        old_vectors = self._index.index.reconstruct_n(0, staged) if staged else vectors[:0]
        old_ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        all_vectors = np.ascontiguousarray(np.concatenate([old_vectors, vectors]))
        all_ids = np.ascontiguousarray(np.concatenate([old_ids, ids]))
        ivf: Any = faiss.index_factory(self._dim, self._factory, faiss.METRIC_INNER_PRODUCT)
        log.info("training %s on %d vectors", self._factory, all_ids.size)
        ivf.train(all_vectors)
        ivf.add_with_ids(all_vectors, all_ids)
        ivf.nprobe = self._nprobe
        self._index = ivf
        self._is_ivf = True

    def remove(self, ids: IdArray) -> int:
        """Remove the vectors with these `ids: int64[m]`; return how many were present.

        Raises:
            ValueError: `ids` is not int64[m].
        """
        check_ids("ids", ids)
        if ids.size == 0 or len(self) == 0:
            return 0
        return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))

    def search(
        self, queries: VectorArray, k: int, allowed_ids: IdArray | None = None
    ) -> tuple[ScoreArray, IdArray]:
        """Return the top-`k` stored vectors by inner product for each query.

        Args:
            queries: float32[q, dim].
            k: results per query (>= 1).
            allowed_ids: int64[m]; when given, only these ids can be returned.

        Returns:
            scores float32[q, k] (descending) and ids int64[q, k]; padding is id -1, score -inf.

        Raises:
            ValueError: wrong shape, dtype or contiguity, or k < 1.
        """
        check_vectors("queries", queries, self._dim)
        check_k(k)
        if allowed_ids is not None:
            check_ids("allowed_ids", allowed_ids)
        q = queries.shape[0]
        limit = len(self) if allowed_ids is None else min(len(self), allowed_ids.size)
        k_search = min(k, limit)
        scores, ids = pad_results(q, k)
        if q == 0 or k_search == 0:
            return scores, ids
        selector = faiss.IDSelectorBatch(allowed_ids) if allowed_ids is not None else None
        params: Any = faiss.SearchParametersIVF() if self._is_ivf else faiss.SearchParameters()
        if self._is_ivf:
            params.nprobe = self._nprobe
        if selector is not None:
            params.sel = selector
        found_scores, found_ids = self._index.search(queries, k_search, params=params)
        is_pad = found_ids < 0
        found_scores[is_pad] = PAD_SCORE
        scores[:, :k_search] = found_scores
        ids[:, :k_search] = found_ids
        return scores, ids

    def save(self, path: Path) -> None:
        """Write the index to `path` with `faiss.write_index`, atomically and durably.

        Raises:
            StorageError: the write failed; any previous file at `path` is intact.
        """
        with atomic_path(path) as tmp:
            try:
                faiss.write_index(self._index, str(tmp))
            except RuntimeError as exc:  # FAISS reports I/O errors (ENOSPC...) this way
                raise OSError(str(exc)) from exc
