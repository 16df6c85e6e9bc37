"""IndexWriter: the one object that changes an index, between checkpoints.

Changes go into one SQLite transaction (BEGIN IMMEDIATE on a connection of its own) and into
private copies of the sentence and passage vectors; nobody sees them until `checkpoint`
publishes them together as the next generation (see `indexer.generation`). Removals from the
vectors are batched until the checkpoint, because removing from a flat FAISS index moves every
later vector.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import sqlalchemy as sa

from indexer.auto_factory import AutoFactory, adapt
from indexer.errors import IndexCorrupt, ModelChanged, StorageError
from indexer.factory_names import AUTO_FACTORY
from indexer.faiss_index import FaissIndex
from indexer.generation import (
    load_passage_vectors,
    load_postings,
    load_vectors,
    passage_factory,
    publish,
    read_generation,
)
from indexer.layout import FORMAT_VERSION, IndexLayout, Manifest
from indexer.lexical.postings import Postings
from indexer.migrate import drop_fts
from indexer.model_record import ModelRecord, manifest_model, read_model, with_model, write_model
from indexer.passage_vectors import passage_vectors, passage_vectors_by_id
from indexer.records import DocumentRecord, SentenceRecord
from indexer.schema import BEGIN_OPTION
from indexer.store import MetadataStore, SentenceTexts, storage_errors
from indexer.vectors import IdArray, VectorArray, check_vectors

log = logging.getLogger(__name__)


class IndexWriter:
    """Adds and removes documents; get one from `Index.writer()`, which holds the write lock."""

    def __init__(
        self,
        layout: IndexLayout,
        engine: sa.Engine,
        manifest: Manifest,
        on_checkpoint: Callable[[Manifest], None],
        *,
        auto_factory: AutoFactory | None = None,
    ) -> None:
        """Open the write transaction, tidy the directory and load a private copy of the vectors.

        The caller must hold the write lock. `auto_factory` steers an index whose manifest says
        `faiss_factory: "auto"` (default: `AutoFactory()`).

        Raises:
            IndexCorrupt: the committed vector file is missing or disagrees with the database.
            StorageError: the database cannot be written.
        """
        self._layout = layout
        self._manifest = manifest
        self._on_checkpoint = on_checkpoint
        self._auto_factory = auto_factory or AutoFactory()
        self._connection = engine.connect().execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        self._store = MetadataStore(self._connection)
        self._closed = False
        try:
            with storage_errors(f"cannot start writing to {layout.database}"):
                self._generation = read_generation(self._store)
                layout.remove_stray_files(self._generation)
                self._reload_committed()
                self._refresh_manifest()
        except BaseException:
            self._connection.close()
            raise

    def _reload_committed(self) -> None:
        """Forget uncommitted changes: read the committed generation's vectors and postings."""
        _, sentences = self._store.counts()
        try:
            self._vectors: FaissIndex = load_vectors(
                self._layout, self._generation, self._manifest.faiss_factory, sentences
            )
        except FileNotFoundError as exc:  # we hold the lock: nobody else can have removed it
            raise IndexCorrupt(
                f"index at {self._layout.root} has lost its vector file "
                f"{self._layout.vectors(self._generation).name}; run `docsearch ingest --rebuild`"
            ) from exc
        # Sentence ids removed since the last checkpoint: their vectors and the passages they
        # begin go at the checkpoint.
        self._pending_removals: list[IdArray] = []
        self._pending_model: ModelRecord | None = None
        self._is_dirty = False
        postings = load_postings(self._layout, self._generation)
        if postings is None:  # written by an older docsearch: index every passage now
            log.info("building the BM25 postings of %s", self._layout.root)
            postings = Postings.build(self._store.passages_since(0))
            self._is_dirty = True
        self._postings: Postings = postings
        passages = load_passage_vectors(
            self._layout,
            self._generation,
            self._manifest.faiss_factory,
            self._store.passage_count(),
        )
        if passages is None:  # written by an older docsearch: pool every passage now
            passages = self._pool_stored_passages()
        # None only while the stored vectors cannot be read back to pool them (see there).
        self._passage_vectors: FaissIndex | None = passages
        if drop_fts(self._connection):  # a format-1 index: see indexer.migrate
            log.info("dropping the unused FTS5 tables of %s", self._layout.root)
            self._is_dirty = True

    def _pool_stored_passages(self) -> FaissIndex | None:
        """Pool every passage from the stored sentence vectors, for an index written before
        passage vectors existed; None when its FAISS structure keeps codes that are not the
        vectors (an IVF with a lossy codec chosen at creation): dense search then ranks by
        sentences alone until a model switch (`docsearch tune --reset`) gives it vectors."""
        try:
            ids, vectors = self._vectors.contents(np.float16)
        except ValueError as exc:
            log.warning(
                "%s: cannot pool passage vectors (%s); dense search ranks by sentences alone "
                "until `docsearch tune --reset` re-encodes the index",
                self._layout.root,
                exc,
            )
            return None
        log.info("pooling the passage vectors of %s", self._layout.root)
        self._is_dirty = True
        return self._pooled_passages(ids, vectors)

    def _pooled_passages(self, ids: IdArray, vectors: VectorArray) -> FaissIndex:
        """A passage vector index of every stored passage, pooled from `vectors` of sentences
        `ids` (all of them)."""
        pooled = FaissIndex(self._vectors.dim, passage_factory(self._manifest.faiss_factory))
        with storage_errors(f"cannot read {self._layout.database}"):
            ranges = [(p.first, p.last) for p in self._store.passages_since(0)]
        firsts, passage_rows = passage_vectors_by_id(ids, vectors, ranges)
        pooled.add(firsts, passage_rows)
        return pooled

    def _add_passages(
        self, ids: IdArray, sentences: Sequence[SentenceRecord], vectors: VectorArray
    ) -> None:
        """Pool the passages of sentences just stored together (the store cut them the same way)."""
        if self._passage_vectors is not None:
            firsts, pooled = passage_vectors(ids, [s.text for s in sentences], vectors)
            self._passage_vectors.add(firsts, pooled)

    def _refresh_manifest(self) -> None:
        """Rewrite manifest.json when it lags behind the database (after a crash).

        Raises:
            ModelChanged: the index switched models since its `Index` was opened; vectors of
                the old model must not be added to it.
        """
        documents, sentences = self._store.counts()
        opened_with = manifest_model(self._manifest)
        model = read_model(self._store, opened_with)
        if model.fingerprint != opened_with.fingerprint:
            raise ModelChanged(
                f"the index at {self._layout.root} was switched to model {model.name} "
                f"(fingerprint {model.fingerprint}) since it was opened; open it again"
            )
        current = dataclasses.replace(
            with_model(self._manifest, model),
            documents=documents,
            sentences=sentences,
            generation=self._generation,
        )
        if current != self._manifest:
            try:
                self._layout.write_manifest(current)
            except StorageError as exc:  # informational file; the database is the truth
                log.warning("could not update %s: %s", self._layout.manifest, exc)
            self._manifest = current
            self._on_checkpoint(current)

    @property
    def generation(self) -> int:
        """The last committed generation."""
        return self._generation

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this IndexWriter is closed; use it inside `with index.writer()`")

    def add_document(
        self,
        document: DocumentRecord,
        sentences: Sequence[SentenceRecord],
        vectors: VectorArray,
    ) -> int:
        """Store a document with its sentences and their vectors, replacing any with its path.

        Args:
            document: the document.
            sentences: its sentences, in document order (ordinal = position).
            vectors: float32[n, dim], row i the unit vector of `sentences[i]`.

        Returns:
            the new document id.

        Raises:
            ValueError: `vectors` is not a C-contiguous float32[len(sentences), dim].
            StorageError: the database could not be written.
        """
        self._check_open()
        check_vectors("vectors", vectors, self._vectors.dim)
        if vectors.shape[0] != len(sentences):
            raise ValueError(
                f"vectors must be float32[{len(sentences)}, {self._vectors.dim}] (one row per "
                f"sentence), got float32[{vectors.shape[0]}, {vectors.shape[1]}]"
            )
        with storage_errors(f"cannot add {document.path} to {self._layout.database}"):
            removed = self._store.delete_document(document.path)
            if removed is not None:
                self._pending_removals.append(removed)
                self._is_dirty = True
            document_id, ids = self._store.add_document(document, sentences)
        self._is_dirty = True
        self._vectors.add(ids, vectors)
        self._add_passages(ids, sentences, vectors)
        return document_id

    def extend_document(
        self,
        document_id: int,
        first_ordinal: int,
        sentences: Sequence[SentenceRecord],
        vectors: VectorArray,
    ) -> None:
        """Append sentences to a document added since the last checkpoint, for a document too
        large to encode at once: its parts share one transaction, so it commits whole.

        Args:
            document_id: what `add_document` returned, in this transaction.
            first_ordinal: the number of sentences the document holds so far.
            sentences, vectors: as for `add_document`.

        Raises:
            ValueError: bad `vectors`.
            StorageError: the database could not be written.
        """
        self._check_open()
        check_vectors("vectors", vectors, self._vectors.dim)
        if vectors.shape[0] != len(sentences):
            raise ValueError(f"vectors must have one row per sentence ({len(sentences)})")
        with storage_errors(f"cannot add to document {document_id} in {self._layout.database}"):
            ids = self._store.add_sentences(document_id, first_ordinal, sentences)
        self._is_dirty = True
        self._vectors.add(ids, vectors)
        self._add_passages(ids, sentences, vectors)
        if self._manifest.faiss_factory == AUTO_FACTORY:
            # A document of hundreds of thousands of sentences grows the structure as it goes,
            # as a checkpoint would: its vectors are held in float16 IVF lists, not in a flat
            # array twice that size that doubles its allocation as it grows.
            adapt(self._vectors, self._auto_factory)

    def remove_document(self, path: str) -> bool:
        """Remove a document and its sentences; return False when no document has `path`.

        Raises:
            StorageError: the database could not be written.
        """
        self._check_open()
        with storage_errors(f"cannot remove {path} from {self._layout.database}"):
            removed = self._store.delete_document(path)
        if removed is None:
            return False
        self._pending_removals.append(removed)
        self._is_dirty = True
        return True

    def sentence_texts(self, batch: int = 10_000) -> Iterator[SentenceTexts]:
        """Every sentence's id, document id and text in id order, as this writer sees them."""
        self._check_open()
        with storage_errors(f"cannot read {self._layout.database}"):
            yield from self._store.sentence_texts(batch)

    def replace_model(self, model: ModelRecord, ids: IdArray, vectors: VectorArray) -> None:
        """Swap every vector for one made by `model`; the next checkpoint switches over.

        Readers keep the old model and vectors until that checkpoint commits both together.

        Args:
            model: the model that made `vectors`.
            ids: int64[n], every sentence id of the index, each once.
            vectors: float32[n, dim], row i the vector of sentence `ids[i]`.

        Raises:
            ValueError: `ids` is not exactly the set of stored sentences, or bad arrays.
            StorageError: the database could not be written.
        """
        self._check_open()
        check_vectors("vectors", vectors, self._vectors.dim)
        _, sentences = self._store.counts()
        unique = np.unique(ids)
        if unique.size != ids.size or ids.size != sentences or ids.size != vectors.shape[0]:
            raise ValueError(
                f"replace_model needs one vector for each of the {sentences} sentences, got "
                f"{ids.size} ids ({unique.size} distinct) and {vectors.shape[0]} vectors"
            )
        if len(self._store.existing_sentence_ids(unique)) != sentences:
            raise ValueError("replace_model got ids of sentences that are not stored")
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        replacement = FaissIndex(self._vectors.dim, self._manifest.faiss_factory)
        replacement.add(ids, vectors)
        passages = self._pooled_passages(ids, vectors)
        with storage_errors(f"cannot write to {self._layout.database}"):
            write_model(self._store, model)
        del self._vectors
        # Removing already removed ids from these later is a no-op.
        self._vectors, self._passage_vectors = replacement, passages
        self._pending_model = model
        self._is_dirty = True

    def checkpoint(self) -> None:
        """Make every change so far durable and visible to readers, atomically.

        An "auto" index may change its FAISS structure here (flat -> IVF, see
        `indexer.auto_factory`); that retraining is part of the checkpoint.

        Raises:
            StorageError: a write failed. The index keeps its previous state and every change
                since the last checkpoint is discarded.
        """
        self._check_open()
        if not self._is_dirty:
            return
        removed = np.concatenate([np.empty(0, dtype=np.int64), *self._pending_removals])
        self._pending_removals = []
        if removed.size:
            self._vectors.remove(removed)
            if self._passage_vectors is not None:  # a passage goes with its first sentence
                self._passage_vectors.remove(removed)
        try:
            with storage_errors(f"cannot read {self._layout.database}"):
                added = self._store.passages_since(self._postings.max_passage_id)
            self._postings = self._postings.updated(added, removed)
            if self._manifest.faiss_factory == AUTO_FACTORY:
                adapt(self._vectors, self._auto_factory)
                if self._passage_vectors is not None:
                    adapt(self._passage_vectors, self._auto_factory)
            with storage_errors(f"cannot commit to {self._layout.database}"):
                documents, sentences = self._store.counts()
                passages = self._store.passage_count()
            pooled = passages if self._passage_vectors is None else len(self._passage_vectors)
            if sentences != len(self._vectors) or passages != pooled:
                raise IndexCorrupt(  # a bug, not a disk problem; refuse to publish it
                    f"writer holds {len(self._vectors)} vectors for {sentences} sentences and "
                    f"{pooled} for {passages} passages; nothing was committed"
                )
            self._generation = publish(
                self._layout,
                self._store,
                self._vectors,
                self._postings,
                self._passage_vectors,
                self._generation,
            )
        except BaseException:
            self.discard()
            raise
        self._is_dirty = False
        manifest = dataclasses.replace(
            self._manifest,
            format_version=FORMAT_VERSION,
            documents=documents,
            sentences=sentences,
            generation=self._generation,
        )
        if self._pending_model is not None:
            manifest, self._pending_model = with_model(manifest, self._pending_model), None
        try:
            self._layout.write_manifest(manifest)
        except StorageError as exc:  # the commit stands; the next writer repairs the manifest
            log.warning("could not update %s: %s", self._layout.manifest, exc)
        self._manifest = manifest
        self._on_checkpoint(manifest)

    def discard(self) -> None:
        """Throw away every change since the last checkpoint and go on writing from there.

        Raises:
            StorageError: the committed state could not be read back.
        """
        self._check_open()
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            self._connection.rollback()
        if self._is_dirty:
            with storage_errors(f"cannot read {self._layout.database}"):
                self._reload_committed()

    def close(self) -> None:
        """Drop uncommitted changes and release the connection (the lock is the caller's)."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self._connection.rollback()
            self._connection.close()
            del self._vectors, self._passage_vectors
