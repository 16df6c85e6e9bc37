"""The FAISS structures a `FaissIndex` holds, behind one protocol: `Flat` (exact search) and
`IVF` (inverted lists, `nprobe` of them searched per query), each able to read its vectors back
out (which retraining and switching models need)."""

from __future__ import annotations

from typing import Any, Protocol

import faiss
import numpy as np

from indexer.vectors import IdArray

# How an "auto" index stores vectors once it is IVF: as float16 (not residuals), which halves
# memory and disk and scans faster, with the same recall (measured on 200k x 384 vectors,
# IVF1024, nprobe 64: 149 vs 296 MiB, 1.15 vs 1.62 ms per query, recall@10 0.999 for both).
AUTO_IVF_CODEC = "SQfp16"

# Vectors copied in or out of FAISS this many at a time (24 MiB at 384 dimensions).
COPY_ROWS = 16_384


class Layout(Protocol):
    """A FAISS structure that stores vectors under int64 ids and ranks by inner product."""

    @property
    def raw(self) -> Any:
        """The FAISS object (what `faiss.write_index` writes)."""

    @property
    def nlist(self) -> int | None:
        """Its inverted lists; None for exact search."""

    def parameters(self, nprobe: int) -> Any:
        """FAISS search parameters for `nprobe` lists (ignored by exact search)."""

    def set_nprobe(self, nprobe: int) -> None:
        """Store `nprobe` in the structure, so a saved file keeps it."""

    def contents(self, dim: int, dtype: type[np.floating[Any]]) -> tuple[IdArray, Any]:
        """Copy every vector out: (ids int64[n], vectors dtype[n, dim])."""


class Flat:
    """Exact search: an `IndexIDMap2` over `IndexFlatIP`."""

    nlist = None

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    @classmethod
    def empty(cls, dim: int) -> Flat:
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))

    def parameters(self, nprobe: int) -> Any:
        return faiss.SearchParameters()

    def set_nprobe(self, nprobe: int) -> None:
        pass

    def contents(self, dim: int, dtype: type[np.floating[Any]]) -> tuple[IdArray, Any]:
        n = int(self.raw.ntotal)
        vectors = np.empty((n, dim), dtype=dtype)
        for start in range(0, n, COPY_ROWS):
            stop = min(start + COPY_ROWS, n)
            vectors[start:stop] = self.raw.index.reconstruct_n(start, stop - start)
        return faiss.vector_to_array(self.raw.id_map).astype(np.int64), vectors


class IVF:
    """Inverted lists: a query scans the `nprobe` lists whose centroids are nearest to it."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    @classmethod
    def trained(cls, dim: int, factory: str, sample: Any, *, by_residual: bool = True) -> IVF:
        """A new empty IVF structure from a factory string, trained on `sample`
        (float32[m, dim]). `by_residual=False` stores the vectors themselves, so that
        `contents` can read them back."""
        raw: Any = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
        if not by_residual:
            raw.by_residual = False
        raw.train(np.ascontiguousarray(sample, dtype=np.float32))
        return cls(raw)

    @property
    def nlist(self) -> int:
        return int(self.raw.nlist)

    def parameters(self, nprobe: int) -> Any:
        params = faiss.SearchParametersIVF()
        params.nprobe = nprobe
        return params

    def set_nprobe(self, nprobe: int) -> None:
        self.raw.nprobe = nprobe

    def contents(self, dim: int, dtype: type[np.floating[Any]]) -> tuple[IdArray, Any]:
        """Raises ValueError when its codes are not the vectors (see `readable_codec`)."""
        return ivf_contents(self.raw, dim, dtype)


def layout_of(raw: Any) -> Layout:
    """The layout class for a FAISS object read from a file."""
    return IVF(raw) if faiss.try_extract_index_ivf(raw) is not None else Flat(raw)


def add_in_parts(raw: Any, ids: IdArray, vectors: Any) -> None:
    """`raw.add_with_ids` a part at a time, as float32 (a float16 copy is never widened whole)."""
    for start in range(0, ids.size, COPY_ROWS):
        part = np.ascontiguousarray(vectors[start : start + COPY_ROWS], dtype=np.float32)
        raw.add_with_ids(part, ids[start : start + COPY_ROWS])


def readable_codec(index: Any) -> str | None:
    """ "Flat" or "SQfp16" for IVF indexes whose codes are the vectors, else None."""
    if isinstance(index, faiss.IndexIVFFlat):
        return "Flat"
    if (
        isinstance(index, faiss.IndexIVFScalarQuantizer)
        and not index.by_residual
        and index.sq.qtype == faiss.ScalarQuantizer.QT_fp16
    ):
        return "SQfp16"
    return None


def ivf_contents(
    index: Any, dim: int, dtype: type[np.floating[Any]] = np.float32
) -> tuple[IdArray, Any]:
    """Copy every vector out of an IVF index: (ids int64[n], vectors dtype[n, dim]).

    Raises:
        ValueError: its codes are not the vectors (see `readable_codec`).
    """
    codec = readable_codec(index)
    if codec is None:
        raise ValueError(f"cannot read the vectors back out of a {type(index).__name__}")
    stored = np.float32 if codec == "Flat" else np.float16
    n = int(index.ntotal)
    out_ids = np.empty(n, dtype=np.int64)
    out_vectors = np.empty((n, dim), dtype=dtype)
    from faiss.contrib.inspect_tools import get_invlist

    row = 0
    for list_no in range(index.nlist):
        ids, codes = get_invlist(index.invlists, list_no)  # type: ignore[no-untyped-call]
        size = len(ids)
        if size == 0:
            continue
        out_ids[row : row + size] = ids
        out_vectors[row : row + size] = np.ascontiguousarray(codes).view(stored).reshape(size, dim)
        row += size
    return out_ids, out_vectors
