"""`FaissIndex`: the FAISS implementation of `VectorIndex`, flat or IVF, ids = sentence ids.

Scores, padding (id `-1`, score `-inf`) and thread safety are as described in `indexer.vectors`.
The "auto" factory (flat, then IVF as the index grows) is steered by `indexer.auto_factory`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexer.atomic import atomic_path
from indexer.factory_names import AUTO_FACTORY, parse_factory
from indexer.faiss_layouts import (
    AUTO_IVF_CODEC,
    IVF,
    Flat,
    Layout,
    add_in_parts,
    layout_of,
    readable_codec,
)
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
# Searches of up to this many queries run on one OpenMP thread. FAISS splits work by query, so a
# single query gains nothing from more threads, while waking them costs: 30 ms instead of
# 0.6 ms for one query over 10k x 384 when the other core is busy (measured on 2 cores).
SINGLE_THREAD_MAX_QUERIES = 1
# FAISS warns when k-means gets fewer than 39 training points per centroid.
MIN_POINTS_PER_CENTROID = 39


class FaissIndex:
    """FAISS inner-product index whose ids are the sentence ids.

    It holds one of the layouts of `indexer.faiss_layouts` and decides when to change it:
    "Flat" stays `Flat` (exact). "IVF{nlist},..." starts out `Flat` as well and becomes `IVF`
    once `train_size` vectors have been added (k-means needs data), so a small index is always
    exact and a large one is approximate with `nprobe` lists searched per query. "auto" starts
    `Flat` and changes only through `rebuild`, which `indexer.auto_factory.adapt` calls at
    checkpoints.
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
            factory: "auto", "Flat" or "IVF{nlist},{codec}" (see `parse_factory`).
            nprobe: IVF lists searched per query (clamped to nlist); ignored for "Flat".
            train_size: vectors needed before an IVF index is trained; default 39 * nlist.

        Raises:
            ValueError: bad dim, factory or nprobe.
        """
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        self._dim = dim
        self._factory = factory
        self._is_auto = factory == AUTO_FACTORY
        # The lists of the IVF structure: the target one until trained; for "auto", the current.
        self._nlist = None if self._is_auto else parse_factory(factory)
        if self._nlist is not None:
            # Fail now, not at training time, if FAISS rejects the codec part.
            faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
        self._train_size = (
            train_size
            if train_size is not None
            else MIN_POINTS_PER_CENTROID * (self._nlist if self._nlist is not None else 1)
        )
        self._layout: Layout = Flat.empty(dim)
        self._is_mapped = False
        self._nprobe = 1
        self.nprobe = nprobe

    @classmethod
    def load(cls, path: Path, *, factory: str | None = None, mmap: bool = False) -> FaissIndex:
        """Read an index written by `save`.

        Args:
            path: the index file.
            factory: the factory string the index was created with; needed to keep growing
                towards an IVF index that has not been trained yet. Default: inferred from the file.
            mmap: map the file's vectors instead of reading them: loading takes milliseconds
                and memory holds only the pages searches touch (an IVF search touches the
                probed lists only). The result is read-only: `add`, `remove` and `rebuild` raise.

        Raises:
            FileNotFoundError: no file at `path`.
            ValueError: the file holds an index this class did not write.
        """
        if not path.is_file():
            raise FileNotFoundError(f"no vector file at {path}")
        # MMAP_IFC maps the vectors of flat and IVF,Flat indexes in place (IO_FLAG_MMAP only
        # maps IVF lists, and the two flags together fail for IVF).
        flags = faiss.IO_FLAG_MMAP_IFC if mmap else 0
        try:
            raw = faiss.read_index(str(path), flags)
        except RuntimeError as exc:
            if not path.exists():  # deleted by a writer between the check and the read
                raise FileNotFoundError(f"no vector file at {path}") from exc
            raise ValueError(f"{path} is not a readable FAISS index: {exc}") from exc
        if raw.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise ValueError(f"{path} does not use the inner-product metric")
        ivf = faiss.try_extract_index_ivf(raw)
        if factory == AUTO_FACTORY:
            # Indexes written before the float16 codec hold IVF,Flat; both are read.
            if ivf is not None and readable_codec(raw) is None:
                raise ValueError(
                    f"{path} holds a {type(raw).__name__}; 'auto' uses IVF,{AUTO_IVF_CODEC}"
                )
            if ivf is None and not isinstance(raw, faiss.IndexIDMap2):
                raise ValueError(
                    f"{path} holds a {type(raw).__name__}, not an index FaissIndex wrote"
                )
        elif ivf is not None:
            if factory is None and readable_codec(raw) is not None:
                factory = f"IVF{ivf.nlist},{readable_codec(raw)}"
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
        instance._layout = layout_of(raw)
        instance._is_mapped = mmap
        if ivf is not None:
            instance._nlist = int(ivf.nlist)
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
    def nlist(self) -> int | None:
        """Lists of the IVF structure in use; None while the index is flat (exact)."""
        return self._layout.nlist

    @property
    def current_factory(self) -> str:
        """The structure in use as a factory string: "Flat" or e.g. "IVF1024,SQfp16"."""
        if self._layout.nlist is None:
            return "Flat"
        if not self._is_auto:
            return self._factory
        return f"IVF{self._nlist},{readable_codec(self._layout.raw) or AUTO_IVF_CODEC}"

    @property
    def is_trained(self) -> bool:
        """True once an IVF index has been trained (always False for "Flat")."""
        return isinstance(self._layout, IVF)

    @property
    def nprobe(self) -> int:
        """IVF lists searched per query (1..nlist)."""
        return self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"nprobe must be a positive integer, got {value!r}")
        self._nprobe = min(value, self._nlist) if self._nlist is not None else value
        self._layout.set_nprobe(self._nprobe)

    def __len__(self) -> int:
        return int(self._layout.raw.ntotal)

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
        self._check_writable()
        if ids.size == 0:
            return
        if (
            self._nlist is not None
            and self._layout.nlist is None
            and not self._is_auto
            and len(self) + ids.size >= self._train_size
        ):
            self._become_ivf(ids, vectors)
            return
        self._layout.raw.add_with_ids(vectors, ids)

    def _become_ivf(self, ids: IdArray, vectors: VectorArray) -> None:
        """Train the IVF index on everything stored so far plus the new vectors and move over."""
        old_ids, old_vectors = self._layout.contents(self._dim, np.float32)
        all_vectors = np.ascontiguousarray(np.concatenate([old_vectors, vectors]))
        all_ids = np.ascontiguousarray(np.concatenate([old_ids, ids]))
        log.info("training %s on %d vectors", self._factory, all_ids.size)
        ivf = IVF.trained(self._dim, self._factory, all_vectors)
        ivf.raw.add_with_ids(all_vectors, all_ids)
        ivf.set_nprobe(self._nprobe)
        self._layout = ivf

    def _check_writable(self) -> None:
        if self._is_mapped:
            raise ValueError("this index was loaded with mmap=True and is read-only")

    def contents(self, dtype: type[np.floating[Any]] = np.float32) -> tuple[IdArray, Any]:
        """Copy every stored vector out: (ids int64[n], vectors dtype[n, dim]).

        `np.float16` halves the copy; it is exact for an "auto" IVF index (which stores
        float16) and what retraining uses, so that it holds the old structure and a half-size
        copy rather than two full ones.

        Raises:
            ValueError: the index is an IVF with a codec other than Flat or SQfp16 (without
                residuals), whose vectors cannot be read back.
        """
        return self._layout.contents(self._dim, dtype)

    def rebuild(
        self,
        ids: IdArray,
        vectors: VectorArray,
        nlist: int | None,
        *,
        train_rows: IdArray | None = None,
    ) -> None:
        """Replace everything stored with `vectors` under `ids`, in a new "auto" structure.

        The old structure is freed first, so memory peaks at the new index plus the arguments.

        Args:
            ids: int64[n] unique ids.
            vectors: float32[n, dim].
            nlist: None for exact search ("Flat"), else the lists of an IVF index whose
                vectors are stored as float16 (`AUTO_IVF_CODEC`).
            train_rows: int64[m] rows of `vectors` to train k-means on (default: all).

        Raises:
            ValueError: not an "auto" index, bad arrays, or fewer vectors than lists.
        """
        if not self._is_auto:
            raise ValueError(f"only an 'auto' index is rebuilt; this one is {self._factory!r}")
        self._check_writable()
        if vectors.dtype == np.float16:  # a half-size copy from `contents`: checked as float32
            check_vectors("vectors", np.ascontiguousarray(vectors[:1], dtype=np.float32), self._dim)
        else:
            check_vectors("vectors", vectors, self._dim)
        check_ids("ids", ids, vectors.shape[0])
        check_new_ids(ids)
        if nlist is not None and not 1 <= nlist <= ids.size:
            raise ValueError(f"nlist must be in 1..{ids.size} (the vectors), got {nlist}")
        self._layout, self._nlist = Flat.empty(self._dim), None
        if nlist is None:
            add_in_parts(self._layout.raw, ids, vectors)
            return
        sample = vectors if train_rows is None else vectors[train_rows]
        # Codes are the vectors themselves (no residuals), so `contents` reads them back.
        ivf = IVF.trained(self._dim, f"IVF{nlist},{AUTO_IVF_CODEC}", sample, by_residual=False)
        del sample
        add_in_parts(ivf.raw, ids, vectors)
        self._nprobe = min(self._nprobe, nlist)
        ivf.set_nprobe(self._nprobe)
        self._layout, self._nlist = ivf, nlist

    def remove(self, ids: IdArray) -> int:
        """Remove the vectors with these `ids: int64[m]`; return how many were present.

        Raises:
            ValueError: `ids` is not int64[m].
        """
        check_ids("ids", ids)
        self._check_writable()
        if ids.size == 0 or len(self) == 0:
            return 0
        return int(self._layout.raw.remove_ids(faiss.IDSelectorBatch(ids)))

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
        params = self._layout.parameters(self._nprobe)
        if selector is not None:
            params.sel = selector
        with _omp_threads(1 if q <= SINGLE_THREAD_MAX_QUERIES else None):
            found_scores, found_ids = self._layout.raw.search(queries, k_search, params=params)
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
                faiss.write_index(self._layout.raw, str(tmp))
            except RuntimeError as exc:  # FAISS reports I/O errors (ENOSPC...) this way
                raise OSError(str(exc)) from exc


@contextlib.contextmanager
def _omp_threads(threads: int | None) -> Iterator[None]:
    """Run the block with at most `threads` OpenMP threads (None: unchanged).

    The OpenMP thread count is per calling thread (an ICV of its implicit task), so this does
    not affect searches or training running in other Python threads.
    """
    before = faiss.omp_get_max_threads()
    if threads is None or threads >= before:
        yield
        return
    faiss.omp_set_num_threads(threads)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)
