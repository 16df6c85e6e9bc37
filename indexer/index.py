"""Index: the metadata store, the vectors and the lexical index of one directory, used together.

Reads never block and never see uncommitted work. Each read runs in one SQLite snapshot; a vector
search first reads the committed generation in that snapshot and, when it differs from the
vectors in memory, maps `vectors.<generation>.faiss` read-only (under a lock, once for all
threads; `indexer.snapshot`). Those vectors are never modified, so any number of threads can
search them at once; writing goes through `Index.writer()` (see `indexer.writer`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from indexer.auto_factory import AutoFactory
from indexer.errors import (
    IndexCorrupt,
    IndexExists,
    IndexNotFound,
    NotAnIndex,
    StorageError,
)
from indexer.faiss_index import FaissIndex
from indexer.generation import GENERATION_KEY, passage_factory
from indexer.layout import REBUILD_HINT, IndexLayout, Manifest, WriteLock
from indexer.lexical.postings import Postings
from indexer.model_record import (
    ModelRecord,
    check_model,
    manifest_model,
    read_model,
    with_model,
    write_model,
)
from indexer.schema import create_tables, make_engine
from indexer.snapshot import Snapshots
from indexer.store import MetadataStore, storage_errors
from indexer.store_reads import StoreReads
from indexer.vectors import IdArray, ScoreArray, VectorArray, check_vectors, pad_results
from indexer.writer import IndexWriter

log = logging.getLogger(__name__)


class Index(StoreReads):
    """An index directory opened for reading; `writer()` changes it. Safe to share by threads."""

    def __init__(
        self,
        layout: IndexLayout,
        manifest: Manifest,
        engine: sa.Engine,
        *,
        auto_factory: AutoFactory | None = None,
    ) -> None:
        """Use `Index.create` or `Index.open` instead."""
        self._auto_factory = auto_factory
        self._layout = layout
        self._manifest = manifest
        self._engine = engine
        self._model = manifest_model(manifest)
        self._snapshots = Snapshots(layout, engine, manifest.faiss_factory, self._model)
        self._closed = False

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        root: Path | str,
        *,
        dim: int,
        model_name: str,
        model_fingerprint: str,
        tokenizer_version: str,
        docsearch_version: str,
        faiss_factory: str = "Flat",
        auto_factory: AutoFactory | None = None,
        wait_seconds: float = 0,
    ) -> Index:
        """Create an empty index in `root` (made if missing) and open it.

        Args:
            faiss_factory: "auto" (exact search while small, IVF once large; see
                `indexer.auto_factory`), "Flat" (always exact) or "IVF{nlist},Flat".
            auto_factory: thresholds of "auto" for this object's writers (default
                `AutoFactory()`); not stored in the index.
            wait_seconds: how long to wait for another process that holds the write lock.

        Raises:
            ValueError: bad `dim` or unsupported `faiss_factory`.
            IndexExists: `root` already holds an index.
            NotAnIndex: `root` holds files that docsearch did not create.
            IndexLocked: another process is still creating or writing an index there after
                `wait_seconds`.
            StorageError: the directory or its files cannot be written.
        """
        layout = IndexLayout(Path(root))
        empty_vectors = FaissIndex(dim, faiss_factory)  # validates dim and factory
        _refuse_foreign(layout, "create an index")
        try:
            layout.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the index directory {layout.root}: {exc}") from exc
        with WriteLock(layout.lock) as lock:
            lock.acquire(wait_seconds)
            if layout.manifest.exists():
                raise IndexExists(
                    f"{layout.root} already holds an index; open it, or run "
                    "`docsearch ingest --rebuild ...` to replace it"
                )
            layout.delete_index()  # what an interrupted creation left (no manifest yet)
            manifest = Manifest.new(
                model_name=model_name,
                model_fingerprint=model_fingerprint,
                tokenizer_version=tokenizer_version,
                dim=dim,
                faiss_factory=faiss_factory,
                docsearch_version=docsearch_version,
            )
            engine = make_engine(layout.database)
            try:
                with storage_errors(f"cannot create {layout.database}"), engine.begin() as conn:
                    create_tables(conn)
                    store = MetadataStore(conn)
                    store.set_meta(GENERATION_KEY, "0")
                    write_model(store, manifest_model(manifest))
                empty_vectors.save(layout.vectors(0))
                Postings.empty().save(layout.lexical(0))
                FaissIndex(dim, passage_factory(faiss_factory)).save(layout.passage_vectors(0))
                layout.write_manifest(manifest)  # written last: its presence marks a whole index
            except BaseException:
                engine.dispose()
                raise
        return cls(layout, manifest, engine, auto_factory=auto_factory)

    @classmethod
    def open(
        cls,
        root: Path | str,
        *,
        model_fingerprint: str | None = None,
        auto_factory: AutoFactory | None = None,
    ) -> Index:
        """Open an existing index for reading (and, through `writer()`, writing).

        Args:
            root: the index directory.
            model_fingerprint: the encoder in use; when given it must match the one the index
                was built with.
            auto_factory: thresholds of the "auto" FAISS factory for this object's writers.

        Raises:
            IndexNotFound: no (complete) index in `root`.
            FormatMismatch: the index uses another on-disk format.
            ModelMismatch: the index was built with another model.
            IndexCorrupt: its files disagree with each other.
            StorageError: the database cannot be opened.
        """
        layout = IndexLayout(Path(root))
        if not layout.manifest.is_file():
            if layout.database.exists():
                raise IndexNotFound(
                    f"the index at {layout.root} is incomplete (its creation was interrupted); "
                    f"{REBUILD_HINT}"
                )
            raise IndexNotFound(f"no index at {layout.root}; run `docsearch ingest` to build one")
        manifest = layout.read_manifest()
        if not layout.database.is_file():
            raise IndexCorrupt(
                f"index at {layout.root} has no {layout.database.name}; {REBUILD_HINT}"
            )
        index = cls(layout, manifest, make_engine(layout.database), auto_factory=auto_factory)
        try:
            with index._reading() as store:
                # The database, not the manifest, says which model made the vectors.
                index._set_manifest(with_model(manifest, read_model(store, index._model)))
                index._snapshots.vectors(
                    store
                )  # fail now, not at the first search, if inconsistent
            if model_fingerprint is not None:
                check_model(layout.root, index.model, model_fingerprint)
        except BaseException:
            index.close()
            raise
        return index

    @staticmethod
    def delete(root: Path | str, wait_seconds: float = 0) -> list[Path]:
        """Delete the index in `root`: only the files docsearch created, under the write lock.

        The directory and its lock file stay (a waiting writer may hold the lock file open).
        A missing or empty directory is fine (nothing to do).

        Returns:
            the entries deleted.

        Raises:
            NotAnIndex: `root` holds files that docsearch did not create; nothing is deleted.
            IndexLocked: another process is writing the index after `wait_seconds`.
        """
        layout = IndexLayout(Path(root))
        if not layout.root.is_dir():
            return []
        _refuse_foreign(layout, "delete it as an index")
        with WriteLock(layout.lock) as lock:
            lock.acquire(wait_seconds)
            return layout.delete_index()

    @staticmethod
    def exists(root: Path | str) -> bool:
        """True when `root` holds a complete index (it may still fail to open)."""
        return IndexLayout(Path(root)).manifest.is_file()

    @property
    def root(self) -> Path:
        """The index directory."""
        return self._layout.root

    @property
    def model_home(self) -> Path:
        """Adapted models live in the index directory itself."""
        return self._layout.root

    @property
    def manifest(self) -> Manifest:
        """The manifest as of opening or this object's last checkpoint (`counts()` is live)."""
        return self._manifest

    @property
    def model(self) -> ModelRecord:
        """The model whose vectors this object searches (see `indexer.model_record`)."""
        return self._model

    def _set_manifest(self, manifest: Manifest) -> None:
        self._manifest = manifest
        self._model = manifest_model(manifest)
        self._snapshots.model = self._model

    # -- writing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def writer(self, wait_seconds: float = 0) -> Iterator[IndexWriter]:
        """Take the cross-process write lock and yield the writer.

        Leaving the block normally checkpoints; leaving it by an exception discards everything
        since the last checkpoint.

        Raises:
            IndexLocked: another writer holds the lock after `wait_seconds`.
            StorageError: the index cannot be written.
            IndexCorrupt: the committed files disagree.
        """
        self._check_open()
        with WriteLock(self._layout.lock) as lock:
            lock.acquire(wait_seconds)
            writer = IndexWriter(
                self._layout,
                self._engine,
                self._manifest,
                on_checkpoint=self._set_manifest,
                auto_factory=self._auto_factory,
            )
            try:
                yield writer
                writer.checkpoint()
            finally:
                writer.close()

    # -- reading ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[MetadataStore]:
        """A store on a fresh connection: everything read through it is one snapshot."""
        self._check_open()
        with self._snapshots.reading() as store:
            yield store

    def _postings(self, store: MetadataStore) -> Postings:
        return self._snapshots.postings(store)

    # -- reading: vectors --------------------------------------------------------------------

    def nearest_sentences(
        self,
        queries: VectorArray,
        k: int,
        *,
        allowed_ids: IdArray | Sequence[int] | None = None,
    ) -> list[list[tuple[int, int, float]]]:
        """`search_vectors` with each sentence's document: (sentence id, document id, score).

        The document comes from the same SQL query that drops ids deleted since the vectors
        were read, so a caller that groups hits by document needs no second lookup.
        """
        return self._nearest(queries, k, allowed_ids, passages=False)[0]

    def nearest_passages(
        self,
        queries: VectorArray,
        k: int,
        *,
        allowed_ids: IdArray | Sequence[int] | None = None,
    ) -> list[list[tuple[int, int, float]]]:
        """The passages nearest to each query by their pooled vectors (`indexer.passage_vectors`):
        (first sentence id, document id, score), best first.

        `allowed_ids` are sentence ids, as for `nearest_sentences`: a passage is allowed when its
        first sentence is. Empty lists for an index written before passage vectors existed,
        until its next write adds them.
        """
        return self._nearest(queries, k, allowed_ids, sentences=False)[0]

    def nearest_sentences_and_passages(
        self,
        queries: VectorArray,
        k: int,
        *,
        allowed_ids: IdArray | Sequence[int] | None = None,
    ) -> tuple[list[list[tuple[int, int, float]]], list[list[tuple[int, int, float]]]]:
        """`nearest_sentences` and `nearest_passages` in one read of one snapshot (what a dense
        search asks: one connection and one lookup of documents instead of two)."""
        sentences, passages = self._nearest(queries, k, allowed_ids)
        return sentences, passages

    def _nearest(
        self,
        queries: VectorArray,
        k: int,
        allowed_ids: IdArray | Sequence[int] | None,
        *,
        sentences: bool = True,
        passages: bool = True,
    ) -> list[list[list[tuple[int, int, float]]]]:
        """The nearest sentences and/or passages of each query (in that order), from one
        snapshot, their documents looked up at once."""
        check_vectors("queries", queries, self._manifest.dim)
        allowed = None if allowed_ids is None else np.ascontiguousarray(allowed_ids, dtype=np.int64)
        with self._reading() as store:
            indexes: list[FaissIndex | None] = [self._snapshots.vectors(store)] if sentences else []
            if passages:
                indexes.append(self._snapshots.passage_vectors(store))
            found = [
                pad_results(queries.shape[0], 1)
                if index is None
                else index.search(queries, k, allowed)
                for index in indexes
            ]
            ids = np.concatenate([i.ravel() for _, i in found])
            document_of = store.document_ids(ids[ids >= 0])
        return [_with_documents(scores, ids, document_of) for scores, ids in found]

    def faiss_structure(self) -> tuple[str, int | None]:
        """The FAISS structure of the committed vectors: (factory in use, nprobe or None).

        E.g. ("Flat", None), or ("IVF1265,SQfp16", 16) once an "auto" index has grown.
        """
        with self._reading() as store:
            vectors = self._snapshots.vectors(store)
        return vectors.current_factory, vectors.nprobe if vectors.nlist is not None else None

    def disk_bytes(self) -> int:
        """Total size of the files in the index directory."""
        total = 0
        for path in self.root.iterdir():
            with contextlib.suppress(FileNotFoundError):  # a writer may delete a file meanwhile
                total += path.stat().st_size if path.is_file() else 0
        return total

    def close(self) -> None:
        """Release the database connections and the vectors in memory."""
        self._closed = True
        self._snapshots.forget()
        self._engine.dispose()


def _with_documents(
    scores: ScoreArray, ids: IdArray, document_of: dict[int, int]
) -> list[list[tuple[int, int, float]]]:
    """Search results as (id, document id, score) rows, leaving out padding and ids that no
    longer exist (`document_of` lacks them)."""
    return [
        [
            (int(i), document_of[int(i)], float(s))
            for s, i in zip(row_scores, row_ids, strict=True)
            if int(i) in document_of
        ]
        for row_scores, row_ids in zip(scores, ids, strict=True)
    ]


def _refuse_foreign(layout: IndexLayout, action: str) -> None:
    """Raise NotAnIndex when the directory holds anything docsearch did not create."""
    foreign = layout.foreign_entries()
    if foreign:
        shown = ", ".join(path.name for path in foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise NotAnIndex(
            f"{layout.root} is not a docsearch index and is not empty ({len(foreign)} other "
            f"entries: {shown}); docsearch will not {action} there. Give --index an empty or "
            "new folder, or an existing index"
        )
