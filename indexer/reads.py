"""The metadata queries of `Index`: text, documents, sentences and BM25, each in one snapshot.

`Index` inherits them; each method reads through `_reading()`, a store on a fresh connection,
and BM25 ranks passages with the snapshot's postings (`_postings_for`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from indexer import lexical
from indexer.lexical.postings import Postings
from indexer.records import StoredDocument, StoredSentence
from indexer.store import MetadataStore, SentenceTexts
from indexer.vectors import IdArray, check_k


class MetadataReads:
    """Read-only queries over the metadata tables (mixed into `indexer.index.Index`)."""

    def _reading(self) -> contextlib.AbstractContextManager[MetadataStore]:
        raise NotImplementedError

    def _postings_for(self, store: MetadataStore) -> Postings:
        raise NotImplementedError

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
            postings = self._postings_for(store)
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
            postings = self._postings_for(store)
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
