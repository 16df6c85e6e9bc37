"""`DocSearch`: the library facade for chat backends and the CLI: open, ingest, search, remove."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from docsearch.config import Settings, index_location
from docsearch.encoders import Encoders
from docsearch.errors import DocsearchError
from docsearch.hits import Hit
from docsearch.ingest import Batcher, IngestReport, ingest_paths
from docsearch.search import Filters, check_mode, clean_query, search
from docsearch.status import IndexStatus

if TYPE_CHECKING:
    from docsearch.encoder import Encoder
    from indexer import Index, StoredDocument

log = logging.getLogger(__name__)
T = TypeVar("T")

__version__ = "0.1.0"


class DocSearch:
    """A searchable collection of documents stored in one index directory.

    Opening is cheap: the encoder (and torch) load on first use, and an index that does not
    exist yet is created on the first write. One object may be shared by many threads:
    searches run concurrently; writes are serialised here and, across processes, by the
    index's write lock.

    Args:
        index: the index directory (default: `$DOCSEARCH_INDEX`, else `<home>/index`).
        model: an encoder model directory (default: the shipped model).
        device: `auto`, `cpu` or `cuda`.
        settings: full settings; `index`, `model` and `device` override its fields.
        wait_seconds: how long a write waits for another process's write to finish.
        read_index: for an index in PostgreSQL, a read replica's URL for searches and other
            reads (default: `$DOCSEARCH_READ_INDEX`); writes still go to `index`.
    """

    def __init__(
        self,
        index: str | Path | None = None,
        *,
        model: str | Path | None = None,
        device: str | None = None,
        settings: Settings | None = None,
        wait_seconds: float = 30.0,
        read_index: str | None = None,
    ) -> None:
        base = settings or Settings.load()
        overrides: dict[str, Any] = {
            "read_index": read_index,
            "index": index_location(index) if index is not None else None,
            "model": Path(model) if model is not None else None,
            "device": device,
        }
        self.settings = replace(base, **{k: v for k, v in overrides.items() if v is not None})
        if self.settings.read_index is not None and not isinstance(self.settings.index, str):
            raise DocsearchError(
                "a read replica (DOCSEARCH_READ_INDEX) is for an index in PostgreSQL; this "
                f"index is the folder {self.settings.index}. Unset DOCSEARCH_READ_INDEX"
            )
        self.wait_seconds = wait_seconds
        self._encoders = Encoders(self.settings)
        self._index: Index | None = None
        self._lock = threading.RLock()
        self._write_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    # -- parts, loaded on demand -------------------------------------------------------------

    @property
    def path(self) -> Path | str:
        """The index directory, or the URL of its PostgreSQL database."""
        return self.settings.index

    @property
    def location(self) -> str:
        """Where the index lives, for people: its absolute folder, or its URL without password."""
        if isinstance(self.path, str):
            import sqlalchemy as sa

            return sa.make_url(self.path).render_as_string(hide_password=True)
        return str(self.path.absolute())

    @property
    def _backend(self) -> Any:
        """`indexer.Index` for a folder, `indexer.postgres.PgIndex` for a URL."""
        from indexer import index_backend

        return index_backend(self.path)

    @property
    def encoder(self) -> Encoder:
        """The index's sentence encoder (loaded on first use; see `model_dir`)."""
        return self._encoders.encoder(self.model_dir())

    def model_dir(self) -> Path:
        """The model that encodes for this index.

        The index's own adapted model (after `tune`) if it has one: the model is then part of
        the index. Else the one given in the settings (`model`, `--model`, `$DOCSEARCH_MODEL`),
        else the model shipped in the package.
        """
        with self._lock:
            if self._index is None and self._backend.exists(self.path):
                self._open(create=False)
            adapted = None if self._index is None else self._index.adapted_model_dir()
            if adapted is not None:
                return adapted
        return self.base_model_dir()

    def base_model_dir(self) -> Path:
        """The model `tune` starts from and new indexes use: the settings' or the shipped one."""
        from docsearch.model_config import shipped_model_dir

        return self.settings.model or shipped_model_dir()

    def _open(self, *, create: bool) -> Index:
        """The index, opened once; created (for the encoder's model) when `create` is set.

        Raises:
            IndexNotFound: no index yet and `create` is False.
            ModelMismatch: the index was built with another model than the one in use.
        """
        with self._lock:
            if self._index is None:
                from indexer.errors import IndexExists

                Index = self._backend  # noqa: N806 - the class of this index's backend
                if create and not Index.exists(self.path):
                    encoder = self.encoder
                    try:
                        self._index = Index.create(
                            self.path,
                            dim=encoder.dim,
                            model_name=encoder.name,
                            model_fingerprint=encoder.fingerprint,
                            tokenizer_version=encoder.tokenizer.version,
                            docsearch_version=__version__,
                            faiss_factory=self.settings.faiss_factory,
                            wait_seconds=self.wait_seconds,
                        )
                    except IndexExists:  # another process created it since we looked
                        self._index = Index.open(self.path, **self._open_options())
                else:
                    self._index = Index.open(self.path, **self._open_options())
            if create:
                from indexer.model_record import check_model

                check_model(self.path, self._index.model, self.encoder.fingerprint)
            return self._index

    def _open_options(self) -> dict[str, Any]:
        """What opening this index takes besides its location: a read replica's URL."""
        replica = self.settings.read_index
        return {} if replica is None else {"read_url": replica}

    def _reopen(self) -> None:
        """Forget the index and its models (another process switched the index's model)."""
        with self._lock:
            if self._index is not None:
                self._index.close()
            self._index = None
            self._encoders.forget()

    def _retrying(self, operation: Callable[[], T]) -> T:
        """Run `operation`; if the index switched models meanwhile, reopen and run it again."""
        from indexer.errors import ModelChanged

        try:
            return operation()
        except ModelChanged:
            log.info("the index at %s switched models; reopening it", self.path)
            self._reopen()
            return operation()

    def _query_vectors(self, index: Index, queries: list[str]) -> Any:
        """Encode queries with the index's model: float32[n, dim] (see `Encoders.for_queries`).

        Raises:
            ModelMismatch: the index was built with another model.
        """
        from indexer.model_record import check_model

        directory = self.model_dir()
        encoder = self._encoders.for_queries(directory, len(queries))
        check_model(self.path, index.model, encoder.fingerprint)
        return encoder.encode_queries(queries)

    # -- writing -------------------------------------------------------------------------------

    def ingest(
        self,
        paths: Iterable[str | Path],
        *,
        prune: bool = True,
        remove: Sequence[str | Path] = (),
        progress: Callable[[int, int], None] | None = None,
        on_encoded: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """Ingest files and folders (recursive); unchanged files are skipped; documents that
        `remove`'s paths, folders or globs select are removed in the same commit.

        Unreadable files are reported in the result's `failed` list; everything else is
        still ingested. `progress` is called with (files done, files total), `on_encoded`
        with the number of sentences just encoded (every few thousand).
        """
        paths = list(paths)

        def run() -> IngestReport:
            return ingest_paths(
                self._open(create=True),
                self.encoder,
                paths,
                prune=prune,
                remove=[os.fspath(p) for p in remove],
                wait_seconds=self.wait_seconds,
                progress=progress,
                on_encoded=on_encoded,
            )

        with self._write_lock:
            return self._retrying(run)

    def add_text(self, name: str, text: str, *, metadata: dict[str, Any] | None = None) -> int:
        """Add (or replace) a document from text; `name` is its path in results.

        Returns:
            The number of sentences indexed.

        Raises:
            UnreadableDocument: the text holds nothing to index.
        """
        from docsearch.documents import SUPPORTED_TYPES, TEXT_TYPES, read_bytes

        # Text of no known text type is read as plain text; the name stays as given.
        suffix = Path(name).suffix.lower()
        label = name if SUPPORTED_TYPES.get(suffix) in TEXT_TYPES else name + ".txt"
        document = replace(read_bytes(label, text.encode("utf-8")), path=name)
        return self._add_document(document, metadata)

    def add_bytes(self, name: str, data: bytes, *, metadata: dict[str, Any] | None = None) -> int:
        """Add (or replace) an uploaded file; the format comes from `name`'s extension.

        Nothing is written outside the index: `name` is only a label.

        Returns:
            The number of sentences indexed.

        Raises:
            UnreadableDocument: the bytes cannot be read as that format.
        """
        from docsearch.documents import read_bytes

        return self._add_document(read_bytes(name, data), metadata)

    def _add_document(self, document: Any, metadata: dict[str, Any] | None) -> int:
        def run() -> int:
            written = [0]

            def count(_: Any, n: int) -> None:
                written[0] += n

            index = self._open(create=True)
            with index.writer(wait_seconds=self.wait_seconds) as writer:
                batcher = Batcher(writer, self.encoder, on_written=count)
                batcher.add(document, metadata)
                batcher.flush()
            return written[0]

        with self._write_lock:
            return self._retrying(run)

    def remove(self, *paths: str | Path) -> int:
        """Remove documents; returns how many were removed.

        Each argument is a document's path (as shown in results, or absolute), a folder (every
        document under it) or a glob (see `docsearch.selection`); one that names nothing
        removes nothing. All removals are committed together.
        """
        return sum(len(removed) for removed in self.remove_matching(*paths).values())

    def remove_matching(self, *patterns: str | Path) -> dict[str, list[str]]:
        """`remove`, reporting what each argument removed: pattern -> removed paths."""
        from docsearch.selection import select_all

        wanted = [os.fspath(p) for p in patterns]

        def run() -> dict[str, list[str]]:
            index = self._open(create=False)
            chosen: dict[str, list[str]] = {}
            with index.writer(wait_seconds=self.wait_seconds) as writer:
                for pattern in wanted:  # a document's path: one lookup
                    for path in dict.fromkeys((pattern, os.path.abspath(pattern))):
                        if writer.remove_document(path):
                            chosen[pattern] = [path]
                            break
                rest = [pattern for pattern in wanted if pattern not in chosen]
                if rest:  # folders and globs: only they need the list of every document
                    stored = [document.path for document in index.documents()]
                    chosen.update(select_all(stored, rest))
                    for path in dict.fromkeys(p for pattern in rest for p in chosen[pattern]):
                        writer.remove_document(path)
            return {pattern: chosen[pattern] for pattern in wanted}

        with self._write_lock:
            return self._retrying(run)

    def documents(self, glob: str | None = None) -> list[StoredDocument]:
        """The indexed documents, sorted by path; with `glob`, only those it selects.

        Raises:
            IndexNotFound: nothing has been ingested yet.
        """
        from docsearch.selection import select

        documents = self._open(create=False).documents()
        if glob is None:
            return documents
        chosen = set(select([d.path for d in documents], glob))
        return [d for d in documents if d.path in chosen]

    def rebuild(self) -> None:
        """Delete the index so the next ingest starts from scratch.

        Only the files docsearch created are deleted, under the index's write lock.

        Raises:
            NotAnIndex: the directory holds other files; nothing is deleted.
        """
        with self._write_lock, self._lock:
            self._reopen()  # an adapted model goes with the index that held it
            self._backend.delete(self.path, wait_seconds=self.wait_seconds)

    # -- reading -------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int | None = None,
        mode: str | None = None,
        *,
        path_glob: str | None = None,
        types: Sequence[str] | None = None,
        context: int | None = None,
        per_document: int | None = None,
        min_score: float | None = None,
    ) -> list[Hit]:
        """The k best hits for `query`: the best documents, each shown by its best sentence
        and by up to `per_document` places in all (default `Settings.per_document`).

        `min_score` drops hits scoring below it; what a score means depends on the mode (see
        the README's "Scores"): dense, the mean of the cosine similarities of the sentence and
        of its document's best passage; lexical, BM25 over what the query's own words could
        reach; hybrid, a weighted sum of the two.

        Raises:
            IndexNotFound: nothing has been ingested yet.
            EmptyQuery: the query holds no letter or digit.
        """
        return self.search_many(
            [query],
            k,
            mode,
            path_glob=path_glob,
            types=types,
            context=context,
            per_document=per_document,
            min_score=min_score,
        )[0]

    def search_many(
        self,
        queries: Sequence[str],
        k: int | None = None,
        mode: str | None = None,
        *,
        path_glob: str | None = None,
        types: Sequence[str] | None = None,
        context: int | None = None,
        per_document: int | None = None,
        min_score: float | None = None,
    ) -> list[list[Hit]]:
        """`search` for many queries at once (encoded in one batch; in hybrid mode the
        lexical ranking runs in worker threads meanwhile, see `docsearch.search.search`)."""
        k = k or self.settings.k
        per_document = per_document or self.settings.per_document
        mode = mode or self.settings.mode
        check_mode(mode)
        context = self.settings.context if context is None else context
        cleaned = [clean_query(q) for q in queries]
        filters = Filters(path_glob, tuple(types) if types else None)

        def run() -> list[list[Hit]]:
            index = self._open(create=False)
            return search(
                index,
                cleaned,
                lambda texts: self._query_vectors(index, texts),
                k=k,
                mode=mode,
                filters=filters,
                context=context,
                workers=self._workers(),
                per_document=per_document,
            )

        results = self._retrying(run)
        if min_score is None:
            return results
        return [[hit for hit in hits if hit.score >= min_score] for hits in results]

    def _workers(self) -> ThreadPoolExecutor:
        """Threads for the lexical ranking (started on first use, stopped by `close`)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=min(8, os.cpu_count() or 2), thread_name_prefix="docsearch"
                )
            return self._pool

    def tune(
        self,
        minutes: float = 5.0,
        *,
        teacher: bool = False,
        reset: bool = False,
        force: bool = False,
        config: Any = None,
        progress: Callable[[str, float, float], None] | None = None,
    ) -> Any:
        """Adapt the encoder to this index's own text, re-encode the index and switch to it.

        Training starts from the base model (the shipped one, or the settings' `model`), never
        from an earlier adapted one, so tuning twice does not compound. The adapted model is
        stored in the index directory; queries use it from then on. A tune that is killed
        leaves the index as it was. One document in ten is held out of training: the index
        switches only when the adapted model beats the base on them (the report's
        `validation` and `switched`), unless `force`.

        Args:
            minutes: the whole budget, including the teacher and re-encoding the index.
            teacher: distil all-MiniLM-L6-v2's vectors of a sample of the corpus (needs
                the `teacher` extra); without it, learning is self-supervised.
            reset: instead of tuning, switch back to the base model and delete adapted ones.
            config: a `docsearch.tuning.trainer.TuneConfig` (default hyper-parameters if None).
            progress: called with (stage, done, total) as work proceeds.

        Returns:
            a `docsearch.tuning.run.TuneReport`.

        Raises:
            IndexNotFound: nothing has been ingested yet.
        """
        from docsearch.tuning import run

        with self._write_lock:
            index = self._open(create=False)
            base = self._encoders.load(self.base_model_dir())
            if reset:
                report = run.reset(index, base, wait_seconds=self.wait_seconds, progress=progress)
            else:
                from docsearch.tuning.teacher import load_teacher

                report = run.tune(
                    index,
                    base,
                    minutes=minutes,
                    teacher=load_teacher(self.settings.device) if teacher else None,
                    config=config,
                    wait_seconds=self.wait_seconds,
                    progress=progress,
                    force=force,
                )
            self._reopen()
            return report

    def passage(self, sentence_id: int, context: int = 3) -> dict[str, Any] | None:
        """A hit's sentence (by its `sentence_id`) with `context` sentences on each side:
        path, page, line, type, title, text (the whole passage), sentence (the hit's own);
        None when no such sentence is indexed (removed since?).

        Raises:
            IndexNotFound: nothing has been ingested yet.
        """
        index = self._open(create=False)
        found = index.sentences([sentence_id]).get(sentence_id)
        if found is None:
            return None
        ((before, after),) = index.contexts([found], context, context)
        return {
            "path": found.path,
            "page": found.page,
            "line": found.line,
            "type": found.type,
            "title": found.title,
            "sentence": found.text,
            "text": " ".join([*before, found.text, *after]),
        }

    def page(self, path: str, page: int | None = None, *, max_sentences: int = 200) -> str | None:
        """The text of one page of a document (its slide, chapter, message, cell...), or of
        the whole document when it has no pages (`page` None); at most `max_sentences`
        sentences. None when the document or page is not indexed.

        Raises:
            IndexNotFound: nothing has been ingested yet.
        """
        from docsearch.selection import select

        index = self._open(create=False)
        stored = select([d.path for d in index.documents()], path)
        if len(stored) != 1:
            return None
        texts = index.page_texts(stored[0], page, max_sentences)
        return " ".join(texts) if texts else None

    def status(self) -> IndexStatus:
        """Counts, model and size of the index.

        Raises:
            IndexNotFound: nothing has been ingested yet.
        """
        index = self._open(create=False)
        documents, sentences = index.counts()
        manifest = index.manifest
        model = index.model
        return IndexStatus(
            index=self.location,
            documents=documents,
            sentences=sentences,
            model=model.name,
            model_fingerprint=model.fingerprint,
            model_dir=str(self.model_dir()),
            adapted=bool(model.directory),
            adapted_from=model.base_fingerprint or None,
            dim=manifest.dim,
            faiss_factory=manifest.faiss_factory,
            format_version=manifest.format_version,
            disk_bytes=index.disk_bytes(),
            tune_validation=self._tune_validation() if model.directory else None,
        )

    def _tune_validation(self) -> dict[str, float] | None:
        """The held-out scores tune recorded when it chose the adapted model (None if none)."""
        import json

        from docsearch.tuning.run import TUNE_RECORD

        path = self.model_dir() / TUNE_RECORD
        try:
            validation = json.loads(path.read_text(encoding="utf-8")).get("validation")
        except (OSError, ValueError):
            return None
        return validation or None

    def close(self) -> None:
        """Release the index (the object can be opened again by using it)."""
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def __enter__(self) -> DocSearch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
