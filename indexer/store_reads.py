"""The reads every index backend answers the same way from its `MetadataStore` and postings.

`indexer.index.Index` (SQLite + files) and `indexer.postgres.PgIndex` (PostgreSQL) differ in
where a snapshot comes from, where the BM25 postings live and how vectors are searched; the
keyword and metadata reads over a snapshot are written once, here.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from indexer import lexical
from indexer.lexical.postings import Postings
from indexer.model_record import ModelRecord
from indexer.records import StoredDocument, StoredSentence
from indexer.store import MetadataStore, SentenceTexts
from indexer.vectors import IdArray, VectorArray, check_k

_Reads = TypeVar("_Reads", bound="StoreReads")


class StoreReads(abc.ABC):
    """Keyword, metadata and vector reads, each in one snapshot of the backend."""

    _closed: bool

    @property
    @abc.abstractmethod
    def root(self) -> object:
        """Where the index lives (a folder, or a database URL without its password)."""

    @property
    @abc.abstractmethod
    def model(self) -> ModelRecord:
        """The model whose vectors this object searches."""

    @property
    @abc.abstractmethod
    def model_home(self) -> Path:
        """The local folder under which the index's adapted models live (`models/<fingerprint>`:
        the `directory` of its `ModelRecord`): the index folder itself, or a local copy."""

    def adapted_model_dir(self) -> Path | None:
        """The local folder of the index's own adapted model (after `docsearch tune`), or None
        when it uses a shipped or configured model."""
        directory = self.model.directory
        return self.model_home / directory if directory else None

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the index at {self.root} is closed")

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections and what is held in memory; the object is unusable after."""

    def __enter__(self: _Reads) -> _Reads:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @abc.abstractmethod
    def _reading(self) -> contextlib.AbstractContextManager[MetadataStore]:
        """A store on a fresh connection: everything read through it is one snapshot."""

    @abc.abstractmethod
    def _postings(self, store: MetadataStore) -> Postings:
        """The BM25 postings of the store's snapshot."""

    @abc.abstractmethod
    def nearest_sentences(
        self,
        queries: VectorArray,
        k: int,
        *,
        allowed_ids: IdArray | Sequence[int] | None = None,
    ) -> list[list[tuple[int, int, float]]]:
        """`search_vectors` with each sentence's document: (sentence id, document id, score)."""

    def search_passages(
        self,
        text: str,
        k: int,
        *,
        allowed_document_ids: IdArray | Sequence[int] | None = None,
    ) -> list[lexical.PassageHit]:
        """Top-`k` passages by BM25, best first (without looking up their best sentences).

        Raises:
            ValueError: k < 1.
        """
        return self.search_passages_scaled(text, k, allowed_document_ids=allowed_document_ids)[0]

    def lexical_ceiling(self, text: str) -> float:
        """The BM25 score of a passage holding each word of `text` once (`Postings.ceiling`)."""
        with self._reading() as store:
            postings = self._postings(store)
        return postings.ceiling(text)

    def search_passages_scaled(
        self,
        text: str,
        k: int,
        *,
        allowed_document_ids: IdArray | Sequence[int] | None = None,
    ) -> tuple[list[lexical.PassageHit], float]:
        """`search_passages` and `lexical_ceiling` from one snapshot (one read, not two).

        Raises:
            ValueError: k < 1.
        """
        check_k(k)
        with self._reading() as store:
            postings = self._postings(store)
        return postings.search(text, k, allowed_document_ids), postings.ceiling(text)

    def search_lexical(
        self,
        text: str,
        k: int,
        *,
        allowed_document_ids: IdArray | Sequence[int] | None = None,
    ) -> list[tuple[int, float]]:
        """Top-`k` passages by BM25, each as its best-matching sentence (see
        `lexical.SHOWN_PASSAGES`; the rest as their first sentence).

        Returns:
            (sentence id, score) pairs, best first; higher is better.

        Raises:
            ValueError: k < 1.
        """
        passages = self.search_passages(text, k, allowed_document_ids=allowed_document_ids)
        best = self.best_sentences(text, passages[: lexical.SHOWN_PASSAGES])
        return [(best.get(p.first, p.first), p.score) for p in passages]

    def best_sentences(self, text: str, passages: Sequence[lexical.PassageHit]) -> dict[int, int]:
        """first sentence id -> id of the sentence that best matches `text`, per passage."""
        with self._reading() as store:
            return lexical.best_sentences(store.connection, text, passages)

    def sentence_texts(self, batch: int = 10_000) -> Iterator[SentenceTexts]:
        """Every sentence's id, document id and text in id order, from one snapshot."""
        with self._reading() as store:
            yield from store.sentence_texts(batch)

    def document(self, path: str) -> StoredDocument | None:
        """Return the document stored under `path`, or None."""
        with self._reading() as store:
            return store.get_document(path)

    def page_texts(self, path: str, page: int | None = None, limit: int = 200) -> list[str]:
        """The first `limit` sentences of one page of a document (all pages when `page` is
        None), in reading order; [] when the document or page is not stored."""
        with self._reading() as store:
            return store.page_texts(path, page, limit)

    def documents(self) -> list[StoredDocument]:
        """Return every document, sorted by path."""
        with self._reading() as store:
            return store.documents()

    def sentences(self, ids: IdArray | Sequence[int]) -> dict[int, StoredSentence]:
        """Return the stored sentences with these ids; ids that do not exist are left out."""
        with self._reading() as store:
            return store.sentences(ids)

    def document_ids(self, ids: IdArray | Sequence[int]) -> dict[int, int]:
        """sentence id -> document id for the ids that exist; cheaper than `sentences`."""
        with self._reading() as store:
            return store.document_ids(ids)

    def contexts(
        self, sentences: Sequence[StoredSentence], before: int = 1, after: int = 1
    ) -> list[tuple[list[str], list[str]]]:
        """The texts of up to `before` sentences before each sentence and `after` after it
        (one query for all)."""
        with self._reading() as store:
            anchors = [(s.document_id, s.ordinal) for s in sentences]
            return store.neighbours_many(anchors, before, after)

    def filter(
        self, path_glob: str | Sequence[str] | None = None, types: Sequence[str] | None = None
    ) -> tuple[IdArray, IdArray] | None:
        """Return (document ids, sentence ids) that pass the filters, or None without filters.

        Args:
            path_glob: SQLite GLOB over the stored path, e.g. `*.md` (`*` also matches `/`);
                several globs: a path matching any of them passes.
            types: document types to keep; None or empty means any.
        """
        if path_glob is None and not types:
            return None
        with self._reading() as store:
            return store.ids_matching(path_glob, types)

    def counts(self) -> tuple[int, int]:
        """Return the committed (number of documents, number of sentences)."""
        with self._reading() as store:
            return store.counts()

    def search_vectors(
        self,
        queries: VectorArray,
        k: int,
        *,
        allowed_ids: IdArray | Sequence[int] | None = None,
    ) -> list[list[tuple[int, float]]]:
        """Top-`k` sentences by inner product for each query.

        Args:
            queries: float32[q, dim], unit vectors.
            k: results per query (>= 1).
            allowed_ids: sentence ids to search among (see `filter`); None: all.

        Returns:
            per query, up to `k` (sentence id, score) pairs, best first. Padding and ids that no
            longer exist are left out, so a list can be shorter than `k`.

        Raises:
            ValueError: `queries` is not a C-contiguous float32[q, dim], or k < 1.
        """
        found = self.nearest_sentences(queries, k, allowed_ids=allowed_ids)
        return [[(i, score) for i, _, score in row] for row in found]
