"""Our own BM25 index over passages: postings in NumPy arrays, one file per generation.

SQLite FTS5 scores every passage that holds any query word, one row at a time: 6.8 ms per
SciFact claim at 100k sentences and 65 ms at 1M. The same BM25 over postings held in NumPy
arrays takes 0.2 and 1.4 ms (measured on those indexes), so ranking passages is done here,
and since format 2 indexes hold no FTS5 table at all (`indexer.migrate`).

Words are cut like FTS5's `porter unicode61 remove_diacritics 2` tokenizer (`terms`), and the
score is FTS5's BM25 (k1 = 1.2, b = 0.75, idf = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6),
with N, n and the average length taken over the live passages, so rankings match FTS5's
(tested against FTS5 itself as the reference, tests/unit/indexer/test_postings.py).

`lexical.<g>.postings` holds generation g's postings; the writer keeps them in memory, applies
the passages added and removed since the last checkpoint, and `generation.publish` writes the
file before the commit that makes g current, like the vector file.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from indexer.atomic import atomic_path
from indexer.lexical.passages import PassageHit
from indexer.lexical.tokens import query_terms, terms

K1 = 1.2
B = 0.75
_ARRAYS = ("hashes", "starts", "passages", "tfs", "length", "first", "last", "document")


@dataclass(frozen=True)
class PassageText:
    """A passage to index: its id, document, sentence id range and text."""

    id: int
    document: int
    first: int
    last: int
    text: str


@functools.lru_cache(maxsize=200_000)
def term_hash(term: str) -> int:
    """A 64-bit key for a term; the postings store keys, not strings."""
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class Postings:
    """Immutable BM25 postings of every passage of a generation.

    Attributes:
        hashes: uint64[t], sorted term keys.
        starts: int64[t + 1], postings of term i are rows starts[i]:starts[i+1].
        passages: int32[p], passage id of each posting (ascending within a term).
        tfs: float32[p], the term's count in that passage.
        length, first, last, document: by passage id (0 where there is no passage): its
            number of terms, its first and last sentence ids and its document id.
    """

    hashes: npt.NDArray[np.uint64]
    starts: npt.NDArray[np.int64]
    passages: npt.NDArray[np.int32]
    tfs: npt.NDArray[np.float32]
    length: npt.NDArray[np.float32]
    first: npt.NDArray[np.int64]
    last: npt.NDArray[np.int64]
    document: npt.NDArray[np.int64]

    @classmethod
    def build(cls, passages: Iterable[PassageText]) -> Postings:
        """Index passages (ids need not be ordered)."""
        return cls.empty().updated(passages, np.empty(0, dtype=np.int64))

    @classmethod
    def empty(cls) -> Postings:
        """Postings of no passage."""
        none = np.zeros(1, dtype=np.int64)
        return cls(
            hashes=np.empty(0, dtype=np.uint64),
            starts=np.zeros(1, dtype=np.int64),
            passages=np.empty(0, dtype=np.int32),
            tfs=np.empty(0, dtype=np.float32),
            length=np.zeros(1, dtype=np.float32),
            first=none,
            last=none.copy(),
            document=none.copy(),
        )

    @property
    def max_passage_id(self) -> int:
        """The highest passage id indexed (0 when none)."""
        return len(self.length) - 1

    def updated(
        self, added: Iterable[PassageText], removed_first_sentences: npt.NDArray[np.int64]
    ) -> Postings:
        """These postings with `added` passages indexed and the passages whose first sentence
        is in `removed_first_sentences` dropped (their documents were deleted).

        `added` is read once, `_ADD_BATCH` passages at a time, each batch's postings going
        straight into NumPy arrays: memory holds one batch of text, not all of it.
        """
        columns = _Columns.of(self)
        drop = np.isin(columns.first, removed_first_sentences) & (columns.length > 0)
        columns.length[drop] = 0
        keep = ~drop[self.passages]
        rows_term = np.repeat(self.hashes, np.diff(self.starts))[keep]
        terms_in, passages_in, tfs_in = [rows_term], [self.passages[keep]], [self.tfs[keep]]
        for batch in _batched(added, _ADD_BATCH):
            term, passage, tf = columns.index(batch)
            by_term = np.lexsort((passage, term))
            terms_in.append(term[by_term])
            passages_in.append(passage[by_term])
            tfs_in.append(tf[by_term])
        all_term, all_passage = np.concatenate(terms_in), np.concatenate(passages_in)
        all_tf = np.concatenate(tfs_in)
        del terms_in, passages_in, tfs_in
        # Sorted runs (the kept postings, then each batch's): a stable sort by term merges them,
        # and within a term old passages (lower ids) stay before new ones.
        order = np.argsort(all_term, kind="stable")
        all_term, all_passage, all_tf = all_term[order], all_passage[order], all_tf[order]
        hashes, counts = np.unique(all_term, return_counts=True)
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return Postings(hashes, starts, all_passage, all_tf, *columns.trimmed(len(self.length)))

    @functools.cached_property
    def _statistics(self) -> tuple[int, npt.NDArray[np.float32]]:
        """(live passages, BM25's length normaliser k1 * (1 - b + b * length / average) by
        passage id), computed once per generation rather than per query."""
        live = self.length > 0
        n = int(live.sum())
        average = float(self.length[live].mean()) if n else 1.0
        return n, (K1 * (1 - B + B * self.length / average)).astype(np.float32)

    def _idf(self, n: int, term: str) -> float:
        """BM25's idf of a term over `n` live passages (a term no passage holds has df 0)."""
        key = np.uint64(term_hash(term))
        i = int(np.searchsorted(self.hashes, key))
        df = (
            int(self.starts[i + 1] - self.starts[i])
            if i < len(self.hashes) and self.hashes[i] == key
            else 0
        )
        return max(float(np.log((n - df + 0.5) / (df + 0.5))), 1e-6)

    def ceiling(self, text: str) -> float:
        """What BM25 gives a passage of average length holding every word of `text` once.

        The sum of the query terms' idf (at tf 1 and average length BM25's tf part is 1):
        a scale for the query's own scores, so that a weak match stays weak however it ranks
        (`docsearch.search` divides by it). Words no passage holds count too: a query whose
        rarest words are missing from the index is only partly matched. 0.0 for no words.
        """
        n, _ = self._statistics
        return sum(self._idf(max(n, 1), term) for term in query_terms(text))

    def search(
        self,
        text: str,
        k: int,
        allowed_document_ids: Sequence[int] | npt.NDArray[np.int64] | None = None,
    ) -> list[PassageHit]:
        """The k passages with the highest BM25 for `text`, best first (as FTS5 ranks them)."""
        n, norm = self._statistics
        if n == 0:
            return []
        scores = np.zeros(len(self.length), dtype=np.float32)
        for term in query_terms(text):
            i = int(np.searchsorted(self.hashes, np.uint64(term_hash(term))))
            if i == len(self.hashes) or self.hashes[i] != np.uint64(term_hash(term)):
                continue
            rows = slice(int(self.starts[i]), int(self.starts[i + 1]))
            passages, tfs = self.passages[rows], self.tfs[rows]
            df = len(passages)
            idf = max(float(np.log((n - df + 0.5) / (df + 0.5))), 1e-6)
            scores[passages] += idf * tfs * (K1 + 1) / (tfs + norm[passages])
        if allowed_document_ids is not None:
            scores[~np.isin(self.document, np.asarray(allowed_document_ids))] = 0
        candidates = np.flatnonzero(scores)
        if candidates.size > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        best = candidates[np.lexsort((candidates, -scores[candidates]))]
        return [
            PassageHit(
                int(self.first[p]), int(self.last[p]), int(self.document[p]), float(scores[p])
            )
            for p in best
        ]

    def save(self, path: Path) -> None:
        """Write to `path` atomically and durably (see `_encode_arrays` for the format)."""
        data = _encode_arrays({name: getattr(self, name) for name in _ARRAYS})
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)

    @classmethod
    def load(cls, path: Path) -> Postings:
        """Read a file written by `save`.

        Raises:
            FileNotFoundError: no file at `path`.
            ValueError: the file is not one `save` wrote.
        """
        arrays: dict[str, Any] = _decode_arrays(path.read_bytes(), path)
        try:
            return cls(**{name: arrays[name] for name in _ARRAYS})
        except KeyError as exc:
            raise ValueError(f"{path} is not a readable lexical index: no {exc}") from exc


# The file: MAGIC, the header's length (uint64 little-endian), a JSON header naming each array's
# dtype, shape and offset, then the raw arrays. Not .npy/.npz: NumPy parses their headers with
# `ast.literal_eval`, and CPython 3.11 raises SystemError ("AST constructor recursion depth
# mismatch") when two threads build ASTs at once, as a lexical worker loading postings and a
# first query loading the encoder (or importing a module) did in CI.
# Version 2: terms stemmed with Porter's revised step 2 ("bli" -> "ble", "logi" -> "log"). A
# version 1 file is read as missing (`OutdatedPostings`): readers build the postings in memory
# from the stored passages until the next write saves them (`Index._postings_for`).
MAGIC = b"docsearch-postings-2\n"
OUTDATED_MAGICS = (b"docsearch-postings-1\n",)
_ALIGN = 64


class OutdatedPostings(ValueError):
    """A postings file an older docsearch wrote, with terms stemmed another way."""


def _encode_arrays(arrays: dict[str, npt.NDArray[np.generic]]) -> bytes:
    layout: dict[str, dict[str, Any]] = {}
    starts: dict[str, int] = {}
    offset = 0
    for name, array in arrays.items():
        starts[name] = offset
        layout[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "offset": offset}
        offset += -(-array.nbytes // _ALIGN) * _ALIGN
    header = json.dumps(layout).encode()
    body = bytearray(offset)
    for name, array in arrays.items():
        start = starts[name]
        body[start : start + array.nbytes] = np.ascontiguousarray(array).tobytes()
    return MAGIC + len(header).to_bytes(8, "little") + header + bytes(body)


def _decode_arrays(data: bytes, path: Path) -> dict[str, npt.NDArray[np.generic]]:
    if data.startswith(OUTDATED_MAGICS):
        raise OutdatedPostings(f"{path} was written with an older stemmer")
    try:
        if not data.startswith(MAGIC):
            raise ValueError("not a postings file")
        size = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 8], "little")
        start = len(MAGIC) + 8
        layout = json.loads(data[start : start + size])
        body = start + size
        return {
            name: np.frombuffer(
                data,
                dtype=np.dtype(spec["dtype"]),
                count=int(np.prod(spec["shape"])),
                offset=body + spec["offset"],
            ).reshape(spec["shape"])
            for name, spec in layout.items()
        }
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{path} is not a readable lexical index: {exc}") from exc


_T = TypeVar("_T", bound=np.generic)


_ADD_BATCH = 4096


def _batched(items: Iterable[PassageText], size: int) -> Iterator[list[PassageText]]:
    batch: list[PassageText] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class _Columns:
    """The by-passage-id arrays of postings being updated, grown as passages arrive."""

    length: npt.NDArray[np.float32]
    first: npt.NDArray[np.int64]
    last: npt.NDArray[np.int64]
    document: npt.NDArray[np.int64]
    top: int  # the highest passage id held

    @classmethod
    def of(cls, postings: Postings) -> _Columns:
        return cls(
            postings.length.copy(),
            postings.first.copy(),
            postings.last.copy(),
            postings.document.copy(),
            len(postings.length) - 1,
        )

    def index(
        self, batch: Sequence[PassageText]
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        """Record the passages of `batch`; return their postings (term, passage, tf)."""
        top = max(p.id for p in batch)
        if top >= len(self.length):  # grow by at least half: linear over many batches
            size = max(top + 1, len(self.length) * 3 // 2)
            self.length, self.first = _grown(self.length, size), _grown(self.first, size)
            self.last, self.document = _grown(self.last, size), _grown(self.document, size)
        self.top = max(self.top, top)
        new_term: list[int] = []
        new_passage: list[int] = []
        new_tf: list[int] = []
        for p in batch:
            words = terms(p.text)
            # A passage without words still exists (length > 0).
            self.length[p.id] = max(len(words), 1)
            self.first[p.id], self.last[p.id], self.document[p.id] = p.first, p.last, p.document
            for word, count in Counter(words).items():
                new_term.append(term_hash(word))
                new_passage.append(p.id)
                new_tf.append(count)
        return (
            np.array(new_term, dtype=np.uint64),
            np.array(new_passage, dtype=np.int32),
            np.array(new_tf, dtype=np.float32),
        )

    def trimmed(self, at_least: int) -> tuple[npt.NDArray[Any], ...]:
        """The four arrays cut to the ids in use (never shorter than before)."""
        size = max(self.top + 1, at_least)
        return self.length[:size], self.first[:size], self.last[:size], self.document[:size]


def _grown(array: npt.NDArray[_T], size: int) -> npt.NDArray[_T]:
    """A copy of `array` zero-padded to `size` rows."""
    out = np.zeros(max(size, len(array)), dtype=array.dtype)
    out[: len(array)] = array
    return out
