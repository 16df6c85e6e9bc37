"""What one read sees: a SQLite snapshot, and the vectors, postings and passage vectors of the
generation it names.

A read opens a connection (its snapshot), reads the committed generation there and, when it
differs from what memory holds, loads that generation's vector file (mapped read-only) and
postings once, under a lock, for every thread. Those objects are never modified afterwards, so
any number of threads search them at once. A writer may commit and delete the files of the
generation a snapshot names; the read then starts over on a newer snapshot.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import sqlalchemy as sa

from indexer.errors import IndexCorrupt, ModelChanged
from indexer.faiss_index import FaissIndex
from indexer.generation import (
    load_passage_vectors,
    load_postings,
    load_vectors,
    read_generation,
)
from indexer.layout import REBUILD_HINT, IndexLayout
from indexer.lexical.postings import Postings
from indexer.model_record import ModelRecord, read_model
from indexer.store import MetadataStore, storage_errors

log = logging.getLogger(__name__)

T = TypeVar("T")

# A reader whose snapshot keeps losing the race against a fast writer gives up after this many.
_MAX_SNAPSHOT_RETRIES = 20


@dataclass(frozen=True)
class _Loaded(Generic[T]):
    """Something read from a generation's file, kept while that generation is current."""

    generation: int
    value: T


class Snapshots:
    """Snapshots of one index directory, with the newest generation's files kept in memory.

    Args:
        layout: the index directory.
        engine: its database.
        faiss_factory: the factory the vectors were created with (from the manifest).
        model: the model whose vectors are expected; a generation made by another one raises
            `ModelChanged` (set `model` after a switch this process made itself).
    """

    def __init__(
        self, layout: IndexLayout, engine: sa.Engine, faiss_factory: str, model: ModelRecord
    ) -> None:
        self.model = model
        self._layout = layout
        self._engine = engine
        self._faiss_factory = faiss_factory
        self._vectors: _Loaded[FaissIndex] | None = None
        self._postings: _Loaded[Postings] | None = None
        self._passage_vectors: _Loaded[FaissIndex | None] | None = None
        self._load_lock = threading.Lock()

    @contextlib.contextmanager
    def reading(self) -> Iterator[MetadataStore]:
        """A store on a fresh connection: everything read through it is one snapshot."""
        with storage_errors(f"cannot read {self._layout.database}"), self._engine.connect() as conn:
            yield MetadataStore(conn)

    def vectors(self, store: MetadataStore) -> FaissIndex:
        """The vectors of the generation committed in the store's snapshot."""

        def load(generation: int) -> FaissIndex:
            if read_model(store, self.model).fingerprint != self.model.fingerprint:
                raise ModelChanged(
                    f"the index at {self._layout.root} was switched to another model since it "
                    "was opened (by `docsearch tune`?); open it again"
                )
            _, sentences = store.counts()
            # Mapped, not read: a query touches only the pages it searches, and opening a large
            # index costs milliseconds instead of reading the whole file.
            vectors = load_vectors(
                self._layout, generation, self._faiss_factory, sentences, mmap=True
            )
            log.debug("loaded vectors of generation %d (%d)", generation, len(vectors))
            return vectors

        vectors: FaissIndex = self._for_snapshot(store, "_vectors", load)
        return vectors

    def postings(self, store: MetadataStore) -> Postings:
        """The BM25 postings of the generation committed in the store's snapshot.

        An index written by an older docsearch (without postings, or with terms stemmed
        another way) gets them built in memory from its passages, until its next write saves
        them.
        """

        def load(generation: int) -> Postings:
            postings = load_postings(self._layout, generation)
            if postings is None:
                log.info(
                    "the keyword index of %s was written by an older docsearch: it is built in "
                    "memory until the next `docsearch ingest` saves it",
                    self._layout.root,
                )
                postings = Postings.build(store.passages_since(0))
            return postings

        postings: Postings = self._for_snapshot(store, "_postings", load)
        return postings

    def passage_vectors(self, store: MetadataStore) -> FaissIndex | None:
        """The passage vectors of the generation committed in the store's snapshot; None for an
        index written by a docsearch without them, until its next write adds them."""

        def load(generation: int) -> FaissIndex | None:
            vectors = load_passage_vectors(
                self._layout,
                generation,
                self._faiss_factory,
                store.passage_count(),
                mmap=True,
            )
            if vectors is None:
                log.info(
                    "%s has no passage vectors (written by an older docsearch): dense search "
                    "ranks by sentences alone until the next `docsearch ingest` adds them",
                    self._layout.root,
                )
            return vectors

        vectors: FaissIndex | None = self._for_snapshot(store, "_passage_vectors", load)
        return vectors

    def forget(self) -> None:
        """Drop the files held in memory (the index is being closed)."""
        self._vectors, self._postings, self._passage_vectors = None, None, None

    def _for_snapshot(self, store: MetadataStore, slot: str, load: Callable[[int], T]) -> T:
        """What `load` reads for the generation committed in the store's snapshot, kept in the
        attribute `slot` (a `_Loaded`) while that generation is the newest seen.

        Raises:
            IndexCorrupt: the generation's files stay missing over many new snapshots.
        """
        for _ in range(_MAX_SNAPSHOT_RETRIES):
            generation = read_generation(store)
            cached: _Loaded[T] | None = getattr(self, slot)
            if cached is not None and cached.generation == generation:
                return cached.value
            if cached is not None and cached.generation > generation:
                store.connection.rollback()  # our snapshot is older than memory: take a new one
                continue
            with self._load_lock:
                cached = getattr(self, slot)
                if cached is not None and cached.generation == generation:
                    return cached.value  # another thread loaded it meanwhile
                try:
                    value = load(generation)
                except FileNotFoundError:
                    # A writer committed a newer generation and deleted this file after our
                    # snapshot began; a new snapshot will name the newer file.
                    store.connection.rollback()
                    continue
                setattr(self, slot, _Loaded(generation, value))
                return value
        raise IndexCorrupt(
            f"index at {self._layout.root}: the files of the committed generation are missing; "
            f"{REBUILD_HINT}"
        )
