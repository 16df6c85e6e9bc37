"""`PgIndex` and `PgWriter`: an index in a PostgreSQL database, read and written by many hosts.

Consistency comes from PostgreSQL itself instead of files and a lock: every read runs in one
REPEATABLE READ transaction (its snapshot), and a writer's changes become visible at its
`checkpoint`, one COMMIT, which also bumps the `generation` in meta. Several writers may run at
once, on several machines: sentence ids come in consecutive blocks (`dialects.take_sentence_ids`)
and writers of the same path queue on an advisory lock, so the second replaces the first's
document instead of failing.

BM25 uses the same `Postings` as the embedded backend, built from the passages table once per
process and then brought up to date from a change log that every commit writes (documents
added, passages removed, by generation), so a reader's cost after a commit is in proportion to
what changed, not to the index.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from indexer.errors import IndexCorrupt, IndexExists, IndexNotFound, ModelChanged
from indexer.layout import Manifest
from indexer.lexical.postings import Postings
from indexer.model_record import (
    MODEL_KEY,
    ModelRecord,
    check_model,
    manifest_model,
    read_model,
    with_model,
    write_model,
)
from indexer.passage_vectors import passage_vectors, passage_vectors_by_id
from indexer.postgres import models
from indexer.postgres.schema import (
    CHANGES_TABLE,
    EF_SEARCH_KEY,
    EF_SEARCH_PER_K,
    MANIFEST_KEY,
    MIN_EF_SEARCH,
    PASSAGE_TABLE_KEY,
    VECTOR_TABLE_KEY,
    create_changes_table,
    create_halfvec_table,
    create_tables,
    create_vector_table,
    ensure_hnsw,
    has_hnsw,
    owned_tables,
    passage_table,
    vector_literals,
)
from indexer.records import DocumentRecord, SentenceRecord
from indexer.store import MetadataStore, SentenceTexts, storage_errors
from indexer.store_reads import StoreReads
from indexer.vectors import IdArray, VectorArray, check_vectors

log = logging.getLogger(__name__)

GENERATION_KEY = "generation"
_SEARCH_META = sa.text(
    f"SELECT key, value FROM meta WHERE key IN ('{VECTOR_TABLE_KEY}', '{MODEL_KEY}', "
    f"'{EF_SEARCH_KEY}', '{PASSAGE_TABLE_KEY}')"
)
FACTORY = "hnsw"
# Advisory lock keys: creating/deleting an index, and one per document path being written.
_SCHEMA_LOCK = 0x64736368  # "dsch"


def engine_for(url: str, **options: Any) -> sa.Engine:
    """An engine for `url`, with psycopg (3) as the driver whatever the URL names."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed, pool_pre_ping=True, **options)


def _storage_errors(what: str) -> contextlib.AbstractContextManager[None]:
    return storage_errors(what, "check that the server is up and the URL, user and password")


class PgIndex(StoreReads):
    """An index in a PostgreSQL database (with the pgvector extension). Safe to share by threads."""

    # A commit is cheap here and several writers share the work: an ingest commits after every
    # batch it writes, so a writer killed mid-way loses only that batch.
    checkpoint_sentences = 1

    def __init__(
        self, url: str, engine: sa.Engine, manifest: Manifest, read_url: str | None = None
    ) -> None:
        """Use `PgIndex.create` or `PgIndex.open` instead."""
        self._url = url
        self._engine = engine
        # Reads have an engine of their own, whose connections are REPEATABLE READ from the
        # start (one snapshot per read, no SET and reset per checkout), and which may point
        # at a read replica; writes always go to `url`.
        self._read_engine = engine_for(read_url or url, isolation_level="REPEATABLE READ")
        self._manifest = manifest
        self._model = manifest_model(manifest)
        self._postings_cache: tuple[int, Postings] | None = None
        self._load_lock = threading.Lock()
        self._closed = False

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        url: str,
        *,
        dim: int,
        model_name: str,
        model_fingerprint: str,
        tokenizer_version: str,
        docsearch_version: str,
        faiss_factory: str = FACTORY,
        auto_factory: object = None,
        wait_seconds: float = 0,
    ) -> PgIndex:
        """Create docsearch's tables in the database at `url` and open the index.

        `faiss_factory`, `auto_factory` and `wait_seconds` are accepted for the embedded
        backend's sake; vectors here always get an HNSW index.

        Raises:
            IndexExists: the database already holds an index.
            StorageError: the database cannot be reached or written.
        """
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        engine = engine_for(url)
        manifest = Manifest.new(
            model_name=model_name,
            model_fingerprint=model_fingerprint,
            tokenizer_version=tokenizer_version,
            dim=dim,
            faiss_factory=FACTORY,
            docsearch_version=docsearch_version,
        )
        try:
            with _storage_errors(f"cannot create an index at {_shown(url)}"), engine.begin() as c:
                c.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK})
                if _manifest_text(c) is not None:
                    raise IndexExists(f"{_shown(url)} already holds a docsearch index")
                vector_table = create_tables(c, dim)
                store = MetadataStore(c)
                store.set_meta(GENERATION_KEY, "0")
                store.set_meta(VECTOR_TABLE_KEY, vector_table)
                store.set_meta(PASSAGE_TABLE_KEY, passage_table(vector_table))
                store.set_meta(MANIFEST_KEY, manifest.to_json())
                write_model(store, manifest_model(manifest))
        except BaseException:
            engine.dispose()
            raise
        return cls(url, engine, manifest)

    @classmethod
    def open(
        cls,
        url: str,
        *,
        model_fingerprint: str | None = None,
        auto_factory: object = None,
        read_url: str | None = None,
    ) -> PgIndex:
        """Open the index in the database at `url`; with `read_url` (a read replica of it),
        searches and other reads go there and only writes to `url`. A replica may lag: what a
        writer just committed shows up there a moment later.

        Raises:
            IndexNotFound: the database holds no docsearch index.
            ModelMismatch: the index was built with another model than `model_fingerprint`.
            StorageError: the database cannot be reached.
        """
        engine = engine_for(url)
        try:
            with _storage_errors(f"cannot open {_shown(url)}"), engine.connect() as c:
                text = _manifest_text(c)
                if text is None:
                    raise IndexNotFound(
                        f"no docsearch index in {_shown(url)}; run `docsearch ingest` to build one"
                    )
                manifest = Manifest.from_json(text, source=_shown(url))
                if not sa.inspect(c).has_table(models.MODELS_TABLE):  # made by an earlier docsearch
                    create_changes_table(c)
                    models.create_models_table(c)
                    c.commit()
                manifest = with_model(
                    manifest, read_model(MetadataStore(c), manifest_model(manifest))
                )
            index = cls(url, engine, manifest, read_url)
            if model_fingerprint is not None:
                check_model(_shown(url), index.model, model_fingerprint)
        except BaseException:
            engine.dispose()
            raise
        return index

    @staticmethod
    def exists(url: str) -> bool:
        """True when the database at `url` holds a docsearch index."""
        engine = engine_for(url)
        try:
            with engine.connect() as c:
                return _manifest_text(c) is not None
        finally:
            engine.dispose()

    @staticmethod
    def delete(url: str, wait_seconds: float = 0) -> list[str]:
        """Drop docsearch's tables and sequence from the database at `url` (nothing else), and
        this host's copies of its adapted models.

        Returns:
            the tables dropped.
        """
        from indexer.dialects import SENTENCE_ID_SEQUENCE

        engine = engine_for(url)
        try:
            with engine.begin() as c:
                c.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK})
                dropped = owned_tables(c)
                for table in dropped:
                    c.execute(sa.text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
                c.execute(sa.text(f"DROP SEQUENCE IF EXISTS {SENTENCE_ID_SEQUENCE}"))
        finally:
            engine.dispose()
        shutil.rmtree(models.local_home(_shown(url)), ignore_errors=True)
        return dropped

    @property
    def root(self) -> str:
        """Where the index lives: its URL (with any password left out)."""
        return _shown(self._url)

    @property
    def model_home(self) -> Path:
        """This host's copy of the index's adapted models (`indexer.postgres.models`)."""
        return models.local_home(self.root)

    def adapted_model_dir(self) -> Path | None:
        """The local folder of the index's adapted model, unpacked from the database the first
        time this host needs it.

        Raises:
            IndexCorrupt: the index names a model that the database does not hold.
        """
        local = super().adapted_model_dir()
        if local is None or local.is_dir():
            return local
        with _storage_errors(f"cannot read the model of {self.root}"), self._engine.connect() as c:
            if not models.fetch(c, self.model.directory, local):
                raise IndexCorrupt(
                    f"the index at {self.root} uses model {self.model.directory}, which it does "
                    "not hold; run `docsearch tune --reset` to go back to the base model"
                )
        return local

    @property
    def manifest(self) -> Manifest:
        """The manifest as of opening or this object's last checkpoint (`counts()` is live)."""
        return self._manifest

    @property
    def model(self) -> ModelRecord:
        """The model whose vectors this object searches."""
        return self._model

    def _set_model(self, model: ModelRecord) -> None:
        self._manifest = with_model(self._manifest, model)
        self._model = model

    # -- writing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def writer(self, wait_seconds: float = 0) -> Iterator[PgWriter]:
        """A writer in its own transaction; leaving the block normally commits (checkpoint),
        leaving it by an exception rolls back. Other writers, on this host or others, may write
        at the same time."""
        self._check_open()
        writer = PgWriter(self)
        try:
            yield writer
            writer.checkpoint()
            writer.index_vectors()
        finally:
            writer.close()

    # -- reading ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[MetadataStore]:
        self._check_open()
        with (
            _storage_errors(f"cannot read {self.root}"),
            self._read_engine.connect() as c,
        ):
            yield MetadataStore(c)

    def _postings(self, store: MetadataStore) -> Postings:
        """The BM25 postings of the store's snapshot: built once, then brought up to date
        from the change log of the commits since (`CHANGES_TABLE`)."""
        generation = int(store.get_meta(GENERATION_KEY) or 0)
        cached = self._postings_cache
        if cached is not None and cached[0] == generation:
            return cached[1]
        with self._load_lock:
            cached = self._postings_cache
            if cached is not None and cached[0] == generation:
                return cached[1]
            if cached is not None and cached[0] < generation:
                postings = _caught_up(store, *cached, generation)
            else:  # first read, or a snapshot older than what memory holds
                postings = Postings.build(store.passages_since(0))
            if cached is None or cached[0] < generation:
                self._postings_cache = (generation, postings)
            return postings

    def nearest_sentences(
        self,
        queries: VectorArray,
        k: int,
        *,
        allowed_ids: IdArray | Sequence[int] | None = None,
    ) -> list[list[tuple[int, int, float]]]:
        """Top-`k` sentences by inner product for each query, as (sentence id, document id,
        score), from the HNSW index (pgvector). With `allowed_ids`, HNSW scans on until it has
        found `k` allowed ones (`hnsw.iterative_scan`)."""
        return self._nearest(queries, k, allowed_ids, (VECTOR_TABLE_KEY,))[0]

    def nearest_passages(
        self,
        queries: VectorArray,
        k: int,
        *,
        allowed_ids: IdArray | Sequence[int] | None = None,
    ) -> list[list[tuple[int, int, float]]]:
        """Top-`k` passages by their pooled vectors (`indexer.passage_vectors`), as (first
        sentence id, document id, score); `allowed_ids` are sentence ids (a passage is allowed
        when its first sentence is). Empty lists for an index made before passage vectors
        existed, until its next writer adds them."""
        return self._nearest(queries, k, allowed_ids, (PASSAGE_TABLE_KEY,))[0]

    def nearest_sentences_and_passages(
        self,
        queries: VectorArray,
        k: int,
        *,
        allowed_ids: IdArray | Sequence[int] | None = None,
    ) -> tuple[list[list[tuple[int, int, float]]], list[list[tuple[int, int, float]]]]:
        """`nearest_sentences` and `nearest_passages` of one snapshot, one round trip per
        query."""
        sentences, passages = self._nearest(
            queries, k, allowed_ids, (VECTOR_TABLE_KEY, PASSAGE_TABLE_KEY)
        )
        return sentences, passages

    def _nearest(
        self,
        queries: VectorArray,
        k: int,
        allowed_ids: IdArray | Sequence[int] | None,
        table_keys: tuple[str, ...],
    ) -> list[list[list[tuple[int, int, float]]]]:
        """Per table named in meta under each of `table_keys`: the nearest rows of each query
        (none for a passage table an index made before them lacks)."""
        check_vectors("queries", queries, self._manifest.dim)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        allowed = None if allowed_ids is None else [int(i) for i in allowed_ids]
        out: list[list[list[tuple[int, int, float]]]] = [[[] for _ in queries] for _ in table_keys]
        with self._reading() as store:
            c = store.connection
            # One round trip for what a vector search needs to know of the snapshot.
            meta: dict[str, str] = {str(k): str(v) for k, v in c.execute(_SEARCH_META)}
            if ModelRecord.from_json(meta[MODEL_KEY]).fingerprint != self._model.fingerprint:
                raise ModelChanged(
                    f"the index at {self.root} was switched to another model since it was "
                    "opened (by `docsearch tune`?); open it again"
                )
            # A passage table is missing from an index made before passage vectors existed.
            tables = [(n, meta[key]) for n, key in enumerate(table_keys) if key in meta]
            if not tables:
                return out
            tuned = int(meta.get(EF_SEARCH_KEY) or MIN_EF_SEARCH)
            ef_search = max(tuned, EF_SEARCH_PER_K * k)
            c.execute(sa.text(f"SET LOCAL hnsw.ef_search = {ef_search}"))
            if allowed is not None:
                c.execute(sa.text("SET LOCAL hnsw.iterative_scan = strict_order"))
            where = (
                "" if allowed is None else "WHERE sentence_id = ANY(CAST(:allowed AS integer[]))"
            )
            # The nearest k first, then their documents: a table too small for an HNSW index
            # is scanned, and joining before the LIMIT would join every row it holds.
            statement = sa.text(
                " UNION ALL ".join(
                    f"SELECT {n}, v.sentence_id, s.document_id, -v.distance FROM"
                    f" (SELECT sentence_id, embedding <#> CAST(:q AS halfvec) AS distance"
                    f" FROM {table} {where} ORDER BY distance LIMIT :k) v"
                    f" JOIN sentences s ON s.id = v.sentence_id"
                    for n, table in tables
                )
            )
            for row, query in enumerate(queries):
                params: dict[str, Any] = {"q": vector_literals(query[None])[0], "k": k}
                if allowed is not None:
                    params["allowed"] = allowed
                for n, i, d, score in c.execute(statement, params):
                    out[n][row].append((int(i), int(d), float(score)))
        for rows in out:  # SQL leaves the order of a UNION's rows open: best first again
            for found in rows:
                found.sort(key=lambda hit: -hit[2])
        return out

    def faiss_structure(self) -> tuple[str, int | None]:
        """The vector search: ("HNSW (pgvector)", the tuned ef_search, the least a search uses), or
        ("exact (pgvector)", None) while the table is too small to need an index."""
        with self._reading() as store:
            table = str(store.get_meta(VECTOR_TABLE_KEY))
            if has_hnsw(store.connection, table):
                return "HNSW (pgvector)", int(store.get_meta(EF_SEARCH_KEY) or MIN_EF_SEARCH)
        return "exact (pgvector)", None

    def disk_bytes(self) -> int:
        """The size on disk of docsearch's tables and their indexes."""
        with self._reading() as store:
            total = 0
            for table in owned_tables(store.connection):
                total += store.connection.execute(
                    sa.text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": table}
                ).scalar_one()
            return int(total)

    def close(self) -> None:
        """Release the connections and the postings in memory."""
        self._closed = True
        self._postings_cache = None
        self._engine.dispose()
        self._read_engine.dispose()


class PgWriter:
    """Adds and removes documents in one transaction; `checkpoint` commits (`PgIndex.writer`)."""

    def __init__(self, index: PgIndex) -> None:
        self._index = index
        self._dim = index.manifest.dim
        self._connection = index._engine.connect().execution_options(
            isolation_level="READ COMMITTED"  # `claim` relies on seeing others' commits
        )
        self._store = MetadataStore(self._connection)
        self._closed = False
        self._pending_model: ModelRecord | None = None
        # Since the last checkpoint: documents added, first sentences of passages removed.
        self._added: list[int] = []
        self._removed: list[int] = []
        try:
            with _storage_errors(f"cannot start writing to {index.root}"):
                model = read_model(self._store, index.model)
                if model.fingerprint != index.model.fingerprint:
                    raise ModelChanged(
                        f"the index at {index.root} was switched to model {model.name} since it "
                        "was opened; open it again"
                    )
                self._table = str(self._store.get_meta(VECTOR_TABLE_KEY))
                if self._store.get_meta(PASSAGE_TABLE_KEY) is None:
                    self._add_passage_table()
        except BaseException:
            self._connection.close()
            raise

    def _add_passage_table(self) -> None:
        """Give an index made before passage vectors existed its passage table, pooled from the
        stored sentence vectors (committed with this writer's first checkpoint)."""
        log.info("pooling the passage vectors of %s", self._index.root)
        table = passage_table(self._table)
        create_halfvec_table(self._connection, table, self._dim)
        rows = self._connection.execute(
            sa.text(f"SELECT sentence_id, CAST(embedding AS text) FROM {self._table}")
        ).all()
        ids = np.array([int(i) for i, _ in rows], dtype=np.int64)
        vectors = np.array([json.loads(v) for _, v in rows], dtype=np.float32).reshape(
            -1, self._dim
        )
        ranges = [(p.first, p.last) for p in self._store.passages_since(0)]
        self._insert_vectors(table, *passage_vectors_by_id(ids, vectors, ranges))
        self._store.set_meta(PASSAGE_TABLE_KEY, table)

    @property
    def generation(self) -> int:
        """The generation committed at this writer's last checkpoint (or when it began)."""
        return int(self._store.get_meta(GENERATION_KEY) or 0)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this PgWriter is closed; use it inside `with index.writer()`")

    def _check(self, sentences: Sequence[SentenceRecord], vectors: VectorArray) -> None:
        check_vectors("vectors", vectors, self._dim)
        if vectors.shape[0] != len(sentences):
            raise ValueError(
                f"vectors must be float32[{len(sentences)}, {self._dim}] (one row per "
                f"sentence), got float32[{vectors.shape[0]}, {vectors.shape[1]}]"
            )

    def add_document(
        self, document: DocumentRecord, sentences: Sequence[SentenceRecord], vectors: VectorArray
    ) -> int:
        """Store a document with its sentences and vectors, replacing any with its path.

        A writer elsewhere adding the same path waits until this one commits (or rolls back).
        """
        self._check_open()
        self._check(sentences, vectors)
        with _storage_errors(f"cannot add {document.path} to {self._index.root}"):
            self._connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:path, 0))"),
                {"path": document.path},
            )
            self._removed += self._store.passage_firsts(document.path)
            self._store.delete_document(document.path)
            document_id, ids = self._store.add_document(document, sentences)
            self._insert_vectors(self._table, ids, vectors)
            self._insert_passages(ids, sentences, vectors)
        self._added.append(document_id)
        return document_id

    def claim(self, path: str, sha256: str) -> bool:
        """Take `path` for this writer before encoding it; False when another writer holds it
        or has committed this very content since this ingest looked (two `docsearch ingest`
        of one folder, on two machines, so split the work). The claim lasts until this
        writer's next checkpoint commits the document (or its connection ends: a killed
        writer's claims go with it)."""
        self._check_open()
        key = {"path": path}
        taken = self._connection.execute(
            sa.text("SELECT pg_try_advisory_lock(hashtextextended(:path, 0))"), key
        ).scalar_one()
        if not taken:
            return False
        # The writer's transaction is READ COMMITTED (PostgreSQL's default): this statement
        # sees what other writers have committed until now.
        stored = self._connection.execute(
            sa.text("SELECT sha256 FROM documents WHERE path = :path"), key
        ).scalar_one_or_none()
        if stored == sha256:
            self._connection.execute(
                sa.text("SELECT pg_advisory_unlock(hashtextextended(:path, 0))"), key
            )
            return False
        return True

    def extend_document(
        self,
        document_id: int,
        first_ordinal: int,
        sentences: Sequence[SentenceRecord],
        vectors: VectorArray,
    ) -> None:
        """Append sentences to a document added in this transaction (a document in parts)."""
        self._check_open()
        self._check(sentences, vectors)
        with _storage_errors(f"cannot add to document {document_id} in {self._index.root}"):
            ids = self._store.add_sentences(document_id, first_ordinal, sentences)
            self._insert_vectors(self._table, ids, vectors)
            self._insert_passages(ids, sentences, vectors)

    def _insert_passages(
        self, ids: IdArray, sentences: Sequence[SentenceRecord], vectors: VectorArray
    ) -> None:
        """Pool the passages of sentences just stored together (the store cut them the same way)."""
        firsts, pooled = passage_vectors(ids, [s.text for s in sentences], vectors)
        self._insert_vectors(passage_table(self._table), firsts, pooled)

    def _insert_vectors(self, table: str, ids: IdArray, vectors: VectorArray) -> None:
        """COPY the vectors in, through the driver's connection (the same transaction)."""
        if ids.size == 0:
            return
        if not self._connection.in_transaction():  # the COPY must be part of our transaction
            self._connection.begin()
        raw: Any = self._connection.connection.driver_connection
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {table} (sentence_id, embedding) FROM STDIN") as copy,
        ):
            for i, literal in zip(ids.tolist(), vector_literals(vectors), strict=True):
                copy.write_row((i, literal))

    def index_vectors(self) -> bool:
        """Build the HNSW index if the vector table has grown enough and has none (committed
        at once); True when built. Called when a writer is done: building in bulk after a
        load is several times faster than inserting into the index row by row."""
        self._check_open()
        with _storage_errors(f"cannot index the vectors of {self._index.root}"):
            built = ensure_hnsw(self._connection, self._table)
            ensure_hnsw(self._connection, passage_table(self._table), tune=False)
            self._connection.commit()
        return built

    def remove_document(self, path: str) -> bool:
        """Remove a document with its sentences and vectors; False when no document has `path`."""
        self._check_open()
        with _storage_errors(f"cannot remove {path} from {self._index.root}"):
            firsts = self._store.passage_firsts(path)
            if self._store.delete_document(path) is None:
                return False
        self._removed += firsts
        return True

    def sentence_texts(self, batch: int = 10_000) -> Iterator[SentenceTexts]:
        """Every sentence's id, document id and text in id order, as this writer sees them."""
        self._check_open()
        yield from self._store.sentence_texts(batch)

    def replace_model(self, model: ModelRecord, ids: IdArray, vectors: VectorArray) -> None:
        """Fill a new vector table with `model`'s vectors; the checkpoint switches to it and drops
        the old one, in one transaction."""
        self._check_open()
        check_vectors("vectors", vectors, self._dim)
        _, n = self._store.counts()
        if np.unique(ids).size != ids.size or ids.size != n or ids.size != vectors.shape[0]:
            raise ValueError(f"replace_model needs one vector for each of the {n} sentences")
        number = int(self._table.rsplit("_", 1)[1]) + 1
        old, self._table = self._table, create_vector_table(self._connection, number, self._dim)
        ids = np.asarray(ids, dtype=np.int64)
        self._insert_vectors(self._table, ids, vectors)
        ranges = [(p.first, p.last) for p in self._store.passages_since(0)]
        self._insert_vectors(
            passage_table(self._table), *passage_vectors_by_id(ids, vectors, ranges)
        )
        ensure_hnsw(self._connection, self._table)
        ensure_hnsw(self._connection, passage_table(self._table), tune=False)
        self._connection.execute(sa.text(f"DROP TABLE {old}"))
        self._connection.execute(sa.text(f"DROP TABLE IF EXISTS {passage_table(old)}"))
        self._store.set_meta(VECTOR_TABLE_KEY, self._table)
        self._store.set_meta(PASSAGE_TABLE_KEY, passage_table(self._table))
        write_model(self._store, model)
        models.store(self._connection, model.directory, self._index.model_home)
        self._pending_model = model

    def checkpoint(self) -> None:
        """Commit everything since the last checkpoint (one COMMIT) and bump the generation."""
        self._check_open()
        with _storage_errors(f"cannot commit to {self._index.root}"):
            # The meta row stays locked from here to COMMIT, so generations commit in order
            # and readers at generation g see every change logged up to g.
            generation = self._connection.execute(
                sa.text(
                    "UPDATE meta SET value = CAST(CAST(value AS bigint) + 1 AS text) "
                    "WHERE key = :key RETURNING value"
                ),
                {"key": GENERATION_KEY},
            ).scalar_one()
            changes = [{"g": int(generation), "d": d, "f": None} for d in self._added]
            changes += [{"g": int(generation), "d": None, "f": f} for f in self._removed]
            if changes:
                self._connection.execute(
                    sa.text(
                        f"INSERT INTO {CHANGES_TABLE} (generation, added_document, removed_first)"
                        " VALUES (:g, :d, :f)"
                    ),
                    changes,
                )
            self._connection.commit()
            self._added, self._removed = [], []
            self._release_claims()  # the claimed documents are committed: others see them done
        if self._pending_model is not None:
            self._index._set_model(self._pending_model)
            self._pending_model = None
        documents, sentences = self._store.counts()
        self._index._manifest = dataclasses.replace(
            self._index._manifest, documents=documents, sentences=sentences
        )
        self._store.connection.rollback()  # end the read transaction `counts` began

    def discard(self) -> None:
        """Throw away every change since the last checkpoint."""
        self._check_open()
        self._connection.rollback()
        self._release_claims()
        self._added, self._removed = [], []
        self._table = str(self._store.get_meta(VECTOR_TABLE_KEY))
        if self._store.get_meta(PASSAGE_TABLE_KEY) is None:  # its migration was rolled back
            self._add_passage_table()
        self._pending_model = None

    def _release_claims(self) -> None:
        """Give up every claim (session-level locks outlive transactions and pooled
        connections, so they are released explicitly)."""
        self._connection.execute(sa.text("SELECT pg_advisory_unlock_all()"))
        self._connection.commit()

    def close(self) -> None:
        """Drop uncommitted changes and release the connection."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self._connection.rollback()
                self._release_claims()
            self._connection.close()


def _caught_up(store: MetadataStore, generation: int, postings: Postings, target: int) -> Postings:
    """`postings` of `generation` with the changes committed up to `target` applied."""
    rows = store.connection.execute(
        sa.text(
            f"SELECT added_document, removed_first FROM {CHANGES_TABLE}"
            " WHERE generation > :after AND generation <= :upto"
        ),
        {"after": generation, "upto": target},
    ).all()
    added = sorted({int(d) for d, _ in rows if d is not None})
    removed = np.array([int(f) for _, f in rows if f is not None], dtype=np.int64)
    return postings.updated(store.passages_of(added) if added else [], removed)


def _manifest_text(connection: sa.Connection) -> str | None:
    if not sa.inspect(connection).has_table("meta"):
        return None
    value = connection.execute(
        sa.text("SELECT value FROM meta WHERE key = :key"), {"key": MANIFEST_KEY}
    ).scalar_one_or_none()
    return None if value is None else str(value)


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    return sa.make_url(url).render_as_string(hide_password=True)
