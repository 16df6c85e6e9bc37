"""MetadataStore on a real SQLite file: round trips, id allocation, cascades, filters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from indexer.records import DocumentRecord, SentenceRecord
from indexer.schema import create_tables, make_engine
from indexer.store import MetadataStore
from tests.unit.indexer.test_lexical import lexical_search


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetadataStore]:
    engine = make_engine(tmp_path / "index.sqlite3")
    with engine.begin() as conn:
        create_tables(conn)
    with engine.connect() as conn:
        yield MetadataStore(conn)
    engine.dispose()


def doc(path: str, type_: str = "md", **kwargs: object) -> DocumentRecord:
    return DocumentRecord(path=path, sha256="0" * 64, size=123, type=type_, **kwargs)  # type: ignore[arg-type]


def sents(*texts: str) -> list[SentenceRecord]:
    return [
        SentenceRecord(text=t, start=10 * i, end=10 * i + len(t), line=i + 1)
        for i, t in enumerate(texts)
    ]


def orphan_passages(store: MetadataStore) -> int:
    return int(
        store.connection.exec_driver_sql(
            "SELECT count(*) FROM passages WHERE document_id NOT IN (SELECT id FROM documents)"
        ).scalar_one()
    )


def test_document_round_trip(store: MetadataStore) -> None:
    record = doc("/a/b.pdf", "pdf", mtime=1.5, title="B", metadata={"pages": 2, "tags": ["x"]})
    document_id, ids = store.add_document(
        record, [SentenceRecord("One.", 0, 4, 1, page=1), SentenceRecord("Two.", 5, 9, 1, page=2)]
    )
    stored = store.get_document("/a/b.pdf")
    assert stored is not None
    assert (stored.id, stored.path, stored.sha256, stored.size) == (
        document_id,
        "/a/b.pdf",
        "0" * 64,
        123,
    )
    assert (stored.type, stored.mtime, stored.title, stored.sentences) == ("pdf", 1.5, "B", 2)
    assert stored.metadata == {"pages": 2, "tags": ["x"]}
    assert stored.added_at > 0
    assert store.get_document("/nope") is None

    found = store.sentences(ids)
    assert [found[i].text for i in ids] == ["One.", "Two."]
    second = found[int(ids[1])]
    assert (second.document_id, second.ordinal, second.start, second.end, second.line) == (
        document_id,
        1,
        5,
        9,
        1,
    )
    assert (second.page, second.path, second.type, second.title) == (2, "/a/b.pdf", "pdf", "B")
    assert second.metadata == {"pages": 2, "tags": ["x"]}


def test_sentence_ids_are_the_row_ids_consecutive_and_never_reused(store: MetadataStore) -> None:
    _, first = store.add_document(doc("/1"), sents("a", "b", "c"))
    _, second = store.add_document(doc("/2"), sents("d", "e"))
    assert first.dtype == np.int64
    assert first.tolist() == [1, 2, 3] and second.tolist() == [4, 5]
    rows = store.connection.execute(sa.text("SELECT id, text FROM sentences ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]
    store.delete_document("/2")  # the highest ids: a plain rowid table would hand them out again
    _, third = store.add_document(doc("/3"), sents("f"))
    assert third.tolist() == [6]


def test_sentences_skips_missing_ids(store: MetadataStore) -> None:
    _, ids = store.add_document(doc("/1"), sents("a", "b"))
    assert sorted(store.sentences([int(ids[0]), 999, -1])) == [int(ids[0])]
    assert store.sentences([]) == {}


def test_same_path_twice_is_refused(store: MetadataStore) -> None:
    store.add_document(doc("/1"), sents("a"))
    with pytest.raises(ValueError, match="already stored"):
        store.add_document(doc("/1"), sents("b"))


def test_document_without_sentences(store: MetadataStore) -> None:
    _, ids = store.add_document(doc("/empty"), [])
    assert ids.shape == (0,) and ids.dtype == np.int64
    stored = store.get_document("/empty")
    assert stored is not None and stored.sentences == 0


def test_delete_cascades_to_sentences_and_passages(store: MetadataStore) -> None:
    store.add_document(doc("/keep"), sents("apples are red"))
    _, ids = store.add_document(doc("/drop"), sents("bananas are yellow", "bananas again"))
    removed = store.delete_document("/drop")
    assert removed is not None and removed.tolist() == ids.tolist()
    assert store.sentences(ids) == {}
    assert store.counts() == (1, 1)
    assert lexical_search(store.connection, "bananas", 5) == []
    assert orphan_passages(store) == 0
    assert store.delete_document("/drop") is None


def test_replacing_a_document_leaves_no_orphans(store: MetadataStore) -> None:
    store.add_document(doc("/1"), sents("old one", "old two", "old three"))
    store.delete_document("/1")
    _, ids = store.add_document(doc("/1"), sents("new one"))
    assert store.counts() == (1, 1)
    count = store.connection.execute(sa.text("SELECT count(*) FROM sentences")).scalar_one()
    assert count == 1
    assert [hit for hit, _ in lexical_search(store.connection, "old", 5)] == []
    assert [hit for hit, _ in lexical_search(store.connection, "new", 5)] == ids.tolist()
    assert orphan_passages(store) == 0


def test_documents_listing_is_sorted_with_counts(store: MetadataStore) -> None:
    store.add_document(doc("/b"), sents("x", "y"))
    store.add_document(doc("/a"), sents("z"))
    store.add_document(doc("/c"), [])
    listing = store.documents()
    assert [(d.path, d.sentences) for d in listing] == [("/a", 1), ("/b", 2), ("/c", 0)]


def test_neighbours_stop_at_document_edges(store: MetadataStore) -> None:
    document_id, _ = store.add_document(doc("/1"), sents("s0", "s1", "s2", "s3", "s4"))
    store.add_document(doc("/2"), sents("other"))

    def neighbours(ordinal: int, before: int, after: int) -> tuple[list[str], list[str]]:
        return store.neighbours_many([(document_id, ordinal)], before, after)[0]

    assert neighbours(2, 1, 1) == (["s1"], ["s3"])
    assert neighbours(0, 2, 2) == ([], ["s1", "s2"])
    assert neighbours(4, 3, 3) == (["s1", "s2", "s3"], [])
    assert neighbours(2, 0, 0) == ([], [])
    with pytest.raises(ValueError, match="before and after"):
        neighbours(2, -1, 0)


def test_neighbours_of_many_sentences_come_from_one_query(store: MetadataStore) -> None:
    first, _ = store.add_document(doc("/1"), sents("a0", "a1", "a2"))
    second, _ = store.add_document(doc("/2"), sents("b0", "b1"))
    anchors = [(second, 0), (first, 1), (first, 1), (first, 2)]
    assert store.neighbours_many(anchors, 1, 1) == [
        ([], ["b1"]),
        (["a0"], ["a2"]),
        (["a0"], ["a2"]),
        (["a1"], []),
    ]
    assert store.neighbours_many([], 1, 1) == []


def test_ids_matching_filters(store: MetadataStore) -> None:
    md, md_ids = store.add_document(doc("/notes/a.md", "md"), sents("a", "b"))
    pdf, pdf_ids = store.add_document(doc("/papers/b.pdf", "pdf"), sents("c"))
    txt, txt_ids = store.add_document(doc("/notes/sub/c.txt", "txt"), sents("d"))

    def matching(glob: str | None, types: list[str] | None) -> tuple[list[int], list[int]]:
        documents, sentences = store.ids_matching(glob, types)
        assert documents.dtype == sentences.dtype == np.int64
        return documents.tolist(), sentences.tolist()

    assert matching("/notes/*", None) == ([md, txt], [*md_ids.tolist(), *txt_ids.tolist()])
    assert matching("*.pdf", None) == ([pdf], pdf_ids.tolist())
    assert matching(None, ["pdf", "txt"]) == ([pdf, txt], [*pdf_ids.tolist(), *txt_ids.tolist()])
    assert matching("/notes/*", ["md"]) == ([md], md_ids.tolist())
    assert matching("*.MD", None) == ([], [])  # GLOB is case-sensitive
    assert matching(None, []) == ([md, pdf, txt], list(range(1, 5)))
    assert matching("'; DROP TABLE documents; --", None) == ([], [])
    assert store.counts() == (3, 4)


def test_meta_values(store: MetadataStore) -> None:
    assert store.get_meta("generation") is None
    store.set_meta("generation", "1")
    store.set_meta("generation", "2")
    assert store.get_meta("generation") == "2"


def test_metadata_must_be_json() -> None:
    with pytest.raises(ValueError, match="JSON"):
        doc("/1", metadata={"when": object()})
    with pytest.raises(ValueError, match="path"):
        doc("")
