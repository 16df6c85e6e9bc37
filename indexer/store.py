"""MetadataStore: documents, sentences and meta values in SQLite, through one connection.

A store is bound to a `Connection`, so everything it does belongs to that connection's
transaction: `indexer.index` gives its writer one long-lived connection (BEGIN IMMEDIATE) and each
read its own short one. Lists of ids travel as one JSON bound parameter, which has no limit on
length; all SQL uses bound parameters. The same store serves PostgreSQL (`indexer.postgres`): the
few statements that differ come from `indexer.dialects`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from indexer import dialects, lexical
from indexer.errors import StorageError
from indexer.lexical.postings import PassageText
from indexer.records import DocumentRecord, SentenceRecord, StoredDocument, StoredSentence
from indexer.schema import documents, meta, passages, sentences
from indexer.vectors import IdArray

_NO_IDS: IdArray = np.empty(0, dtype=np.int64)

# The reads of every search, as constant statements: SQLAlchemy caches their compiled form,
# which halves their cost against building Core expressions per call (0.44 vs 0.91 ms for 200
# ids at 100k sentences).
_META = sa.text("SELECT value FROM meta WHERE key = :key")
_PASSAGE_FIRSTS = sa.text(
    "SELECT p.first_sentence_id FROM passages p JOIN documents d ON d.id = p.document_id "
    "WHERE d.path = :path"
)


def _id_json(ids: Iterable[int] | IdArray) -> str:
    return json.dumps(ids.tolist() if isinstance(ids, np.ndarray) else [int(i) for i in ids])


def _passage_texts(rows: Iterable[Any]) -> Iterator[PassageText]:
    """Rows of (passage, document, first, last, sentence text), ordered by passage then
    sentence, grouped into one `PassageText` per passage as they stream by."""
    current: tuple[int, int, int, int] | None = None
    texts: list[str] = []
    for passage, document, first, last, text in rows:
        if current is not None and passage != current[0]:
            yield PassageText(*current, " ".join(texts))
            texts = []
        current = (passage, document, first, last)
        texts.append(text)
    if current is not None:
        yield PassageText(*current, " ".join(texts))


def _json_value(data: Any) -> dict[str, Any]:
    """A JSON column read by plain SQL: text on SQLite, already parsed on PostgreSQL."""
    if not data:
        return {}
    return data if isinstance(data, dict) else dict(json.loads(data))


def _to_ids(result: sa.Result[Any]) -> IdArray:
    return np.fromiter((row[0] for row in result), dtype=np.int64)


@dataclass(frozen=True)
class SentenceTexts:
    """A page of sentences: ids, their documents' ids (both int64[n]) and their texts."""

    ids: IdArray
    document_ids: IdArray
    texts: list[str]


@contextlib.contextmanager
def storage_errors(
    what: str, hint: str = "check free disk space and permissions"
) -> Iterator[None]:
    """Turn database operational failures (disk full, I/O error, locked, server gone) into
    StorageError: `what` failed, the database's words, and `hint` (what to check)."""
    try:
        yield
    except sa.exc.OperationalError as exc:
        raise StorageError(f"{what}: {exc.orig}; {hint}") from exc


class MetadataStore:
    """Reads and writes the metadata tables through one SQLAlchemy connection."""

    def __init__(self, connection: sa.Connection) -> None:
        """Bind the store to `connection`; the caller owns its transaction (commit/rollback)."""
        self.connection = connection
        self._sql = dialects.statements(connection)

    # -- writing ---------------------------------------------------------------------------

    def add_document(
        self, document: DocumentRecord, sentence_records: Sequence[SentenceRecord]
    ) -> tuple[int, IdArray]:
        """Insert a document and its sentences (ordinals 0..n-1, in the order given).

        Sentence ids are allocated in one block above every id ever used, then inserted with one
        `executemany`. Call inside a write transaction (BEGIN IMMEDIATE) so nobody else allocates.

        Returns:
            the document id and the sentence ids: int64[n], in `sentence_records` order.

        Raises:
            ValueError: a document with the same path is already stored.
        """
        conn = self.connection
        if conn.execute(sa.select(documents.c.id).where(documents.c.path == document.path)).first():
            raise ValueError(f"a document with path {document.path!r} is already stored")
        document_id: int = conn.execute(
            documents.insert()
            .values(
                path=document.path,
                sha256=document.sha256,
                size=document.size,
                mtime=document.mtime,
                type=document.type,
                title=document.title,
                metadata=dict(document.metadata),
                added_at=time.time(),
            )
            .returning(documents.c.id)
        ).scalar_one()
        return document_id, self.add_sentences(document_id, 0, sentence_records)

    def add_sentences(
        self, document_id: int, first_ordinal: int, sentence_records: Sequence[SentenceRecord]
    ) -> IdArray:
        """Append sentences (and their passages) to a document, ordinals from `first_ordinal`.

        Their ids follow every id used so far, so a document added in parts within one write
        transaction still has consecutive sentence ids (passages are id ranges).

        Returns:
            the sentence ids: int64[n], in `sentence_records` order.
        """
        conn = self.connection
        n = len(sentence_records)
        if n == 0:
            return _NO_IDS.copy()
        first = dialects.take_sentence_ids(conn, n)
        ids = np.arange(first, first + n, dtype=np.int64)
        conn.execute(
            sentences.insert(),
            [
                {
                    "id": first + ordinal - first_ordinal,
                    "document_id": document_id,
                    "ordinal": ordinal,
                    "text": record.text,
                    "start": record.start,
                    "end": record.end,
                    "line": record.line,
                    "page": record.page,
                }
                for ordinal, record in enumerate(sentence_records, first_ordinal)
            ],
        )
        lexical.add_passages(conn, document_id, ids.tolist(), [r.text for r in sentence_records])
        return ids

    def delete_document(self, path: str) -> IdArray | None:
        """Delete a document; its sentences and passages go with it by cascade.

        Returns:
            the ids of the deleted sentences, int64[m], or None when no document has `path`.
        """
        conn = self.connection
        document_id = conn.execute(
            sa.select(documents.c.id).where(documents.c.path == path)
        ).scalar_one_or_none()
        if document_id is None:
            return None
        ids = _to_ids(
            conn.execute(sa.select(sentences.c.id).where(sentences.c.document_id == document_id))
        )
        conn.execute(documents.delete().where(documents.c.id == document_id))
        return ids

    def set_meta(self, key: str, value: str) -> None:
        """Insert or replace a value in the meta table."""
        dialects.upsert(self.connection, meta, "key", {"key": key, "value": value})

    # -- reading ---------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """Return a value of the meta table, or None when the key is absent."""
        return self.connection.execute(_META, {"key": key}).scalar_one_or_none()

    def _documents_query(self) -> sa.Select[Any]:
        counts = (
            sa.select(
                sentences.c.document_id,
                sa.func.count().label("n"),
                sa.func.max(sentences.c.page).label("pages"),
            )
            .group_by(sentences.c.document_id)
            .subquery()
        )
        return sa.select(
            documents,
            sa.func.coalesce(counts.c.n, 0).label("sentence_count"),
            counts.c.pages.label("page_count"),
        ).join(counts, counts.c.document_id == documents.c.id, isouter=True)

    @staticmethod
    def _stored_document(row: sa.Row[Any]) -> StoredDocument:
        m = row._mapping
        return StoredDocument(
            id=m["id"],
            path=m["path"],
            sha256=m["sha256"],
            size=m["size"],
            type=m["type"],
            mtime=m["mtime"],
            title=m["title"],
            metadata=m["metadata"],
            added_at=m["added_at"],
            sentences=m["sentence_count"],
            pages=m["page_count"],
        )

    def get_document(self, path: str) -> StoredDocument | None:
        """Return the document stored under `path`, or None."""
        row = self.connection.execute(
            self._documents_query().where(documents.c.path == path)
        ).first()
        return self._stored_document(row) if row is not None else None

    def documents(self) -> list[StoredDocument]:
        """Return every stored document, sorted by path."""
        rows = self.connection.execute(self._documents_query().order_by(documents.c.path))
        return [self._stored_document(row) for row in rows]

    def sentences(self, ids: Iterable[int] | IdArray) -> dict[int, StoredSentence]:
        """Return the stored sentences with these ids (missing ids are simply absent)."""
        found: dict[int, StoredSentence] = {}
        for row in self.connection.execute(self._sql.sentences, {"ids": _id_json(ids)}):
            i, document, ordinal, text, start, end, line, page, path, kind, title, data = row
            found[i] = StoredSentence(
                id=i,
                document_id=document,
                ordinal=ordinal,
                text=text,
                start=start,
                end=end,
                line=line,
                page=page,
                path=path,
                type=kind,
                title=title,
                metadata=_json_value(data),
            )
        return found

    def document_ids(self, ids: Iterable[int] | IdArray) -> dict[int, int]:
        """sentence id -> its document's id, for the ids that exist (no text, no join)."""
        rows = self.connection.execute(self._sql.document_ids, {"ids": _id_json(ids)})
        return {int(i): int(d) for i, d in rows}

    def passages_since(self, after: int) -> Iterator[PassageText]:
        """Every passage with an id above `after`, with its text, in id order.

        Streamed from the cursor, one passage at a time: a checkpoint after a 50 MB document
        no longer holds every passage's text at once.
        """
        yield from _passage_texts(
            self.connection.execute(self._sql.passages_since, {"after": after})
        )

    def passages_of(self, document_ids: Iterable[int]) -> Iterator[PassageText]:
        """Every passage of these documents, with its text, in id order (streamed)."""
        rows = self.connection.execute(self._sql.passages_of, {"ids": _id_json(document_ids)})
        yield from _passage_texts(rows)

    def page_texts(self, path: str, page: int | None, limit: int) -> list[str]:
        """The first `limit` sentences of a page of the document at `path` (of the whole
        document when `page` is None), in reading order; [] when there are none."""
        query = (
            sa.select(sentences.c.text)
            .join(documents, documents.c.id == sentences.c.document_id)
            .where(documents.c.path == path)
        )
        if page is not None:
            query = query.where(sentences.c.page == page)
        rows = self.connection.execute(query.order_by(sentences.c.ordinal).limit(limit))
        return [str(row[0]) for row in rows]

    def passage_firsts(self, path: str) -> list[int]:
        """The first sentence id of each passage of the document at `path` (none if absent)."""
        rows = self.connection.execute(_PASSAGE_FIRSTS, {"path": path})
        return [int(row[0]) for row in rows]

    def existing_sentence_ids(self, ids: Iterable[int] | IdArray) -> set[int]:
        """Return the subset of `ids` that are stored sentences."""
        rows = self.connection.execute(self._sql.existing, {"ids": _id_json(ids)})
        return {int(row[0]) for row in rows}

    def neighbours_many(
        self, anchors: Sequence[tuple[int, int]], before: int, after: int
    ) -> list[tuple[list[str], list[str]]]:
        """The texts of up to `before` sentences before and `after` after each (document id,
        ordinal) anchor, in one query.

        Raises:
            ValueError: `before` or `after` is negative.
        """
        if before < 0 or after < 0:
            raise ValueError(f"before and after must be >= 0, got {before} and {after}")
        if not anchors:
            return []
        anchors_json = json.dumps([[d, o] for d, o in anchors])
        rows = self.connection.execute(
            self._sql.neighbours, {"anchors": anchors_json, "before": before, "after": after}
        ).all()
        out: list[tuple[list[str], list[str]]] = [([], []) for _ in anchors]
        for key, position, anchor, text in rows:
            out[int(key)][0 if position < anchor else 1].append(text)
        return out

    def counts(self) -> tuple[int, int]:
        """Return (number of documents, number of sentences)."""
        n_documents = self.connection.execute(
            sa.select(sa.func.count()).select_from(documents)
        ).scalar_one()
        n_sentences = self.connection.execute(
            sa.select(sa.func.count()).select_from(sentences)
        ).scalar_one()
        return int(n_documents), int(n_sentences)

    def passage_count(self) -> int:
        """The number of passages."""
        count = self.connection.execute(sa.select(sa.func.count()).select_from(passages))
        return int(count.scalar_one())

    def ids_matching(
        self, path_glob: str | Sequence[str] | None, types: Sequence[str] | None
    ) -> tuple[IdArray, IdArray]:
        """Return the ids of documents, and of their sentences, that pass the filters.

        Args:
            path_glob: SQLite GLOB pattern over the stored path (case-sensitive; `*` also matches
                `/`), e.g. `*.md` or `/home/me/notes/*`, or several (a path matching any of
                them passes). None: any path.
            types: document types to keep, e.g. ["md", "pdf"]. None or empty: any type.

        Returns:
            document ids int64[d] and sentence ids int64[s], both ascending.
        """
        conditions: list[sa.ColumnElement[bool]] = []
        if path_glob is not None:
            globs = [path_glob] if isinstance(path_glob, str) else list(path_glob)
            conditions.append(
                sa.or_(
                    *(dialects.path_matches(self.connection, documents.c.path, g) for g in globs)
                )
            )
        if types:
            conditions.append(documents.c.type.in_(list(types)))
        document_query = sa.select(documents.c.id).where(*conditions).order_by(documents.c.id)
        document_ids = _to_ids(self.connection.execute(document_query))
        sentence_ids = _to_ids(
            self.connection.execute(
                sa.select(sentences.c.id)
                .join(documents, documents.c.id == sentences.c.document_id)
                .where(*conditions)
                .order_by(sentences.c.id)
            )
        )
        return document_ids, sentence_ids

    def sentence_texts(self, batch: int = 10_000) -> Iterator[SentenceTexts]:
        """Every sentence's (id, document id, text), in id order, `batch` rows at a time.

        Ids ascend within a document in reading order, so consecutive rows of one document
        are neighbouring sentences.
        """
        after = 0
        while True:
            rows = self.connection.execute(
                sa.select(sentences.c.id, sentences.c.document_id, sentences.c.text)
                .where(sentences.c.id > after)
                .order_by(sentences.c.id)
                .limit(batch)
            ).all()
            if not rows:
                return
            yield SentenceTexts(
                ids=np.fromiter((r[0] for r in rows), np.int64, len(rows)),
                document_ids=np.fromiter((r[1] for r in rows), np.int64, len(rows)),
                texts=[r[2] for r in rows],
            )
            after = int(rows[-1][0])
