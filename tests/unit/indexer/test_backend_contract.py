"""One contract, two backends: the embedded index (SQLite + files) and PostgreSQL + pgvector.

Every test here runs against both (`backend` fixture), so what a caller sees cannot drift
between them; the PostgreSQL run uses a real server (tests/postgres_server.py).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from indexer import DocumentRecord, Index, IndexExists, IndexNotFound, SentenceRecord
from indexer.model_record import ModelRecord

DIM = 16

TEXTS = {
    "/notes/tides.txt": [
        "The tide rises twice a day along the coast.",
        "Harbour pilots wait for high water before entering the channel.",
        "Spring tides follow the full and the new moon.",
    ],
    "/notes/bread.md": [
        "Yeast makes bread dough rise by producing carbon dioxide.",
        "A long cold proof gives the crumb more flavour.",
    ],
    "/docs/sqlite.txt": [
        "SQLite keeps a write-ahead log so that readers never block writers.",
        "A checkpoint copies pages from the log back into the database file.",
        "The busy timeout makes a second writer wait instead of failing.",
        "Tides of requests never block a reader in write-ahead log mode.",
    ],
}


def vectors_for(texts: list[str]) -> np.ndarray:
    """Deterministic unit vectors, one per text (the same text, the same vector)."""
    rows = []
    for text in texts:
        rng = np.random.default_rng(zlib.crc32(text.encode()))
        rows.append(rng.standard_normal(DIM))
    out = np.asarray(rows, dtype=np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return np.ascontiguousarray(out)


def document(path: str) -> DocumentRecord:
    return DocumentRecord(path, f"sha-{path}", 100, path.rsplit(".", 1)[1])


def sentences(texts: list[str]) -> list[SentenceRecord]:
    return [SentenceRecord(t, 10 * i, 10 * i + len(t), i + 1) for i, t in enumerate(texts)]


class Backend:
    """Creates, opens and deletes an index at one location of one backend."""

    def __init__(self, name: str, location: Any) -> None:
        self.name, self.location = name, location
        self.kind: Any = Index
        if name == "postgresql":
            from indexer.postgres import PgIndex

            self.kind = PgIndex

    def create(self, **overrides: Any) -> Any:
        options = {
            "dim": DIM,
            "model_name": "test-model",
            "model_fingerprint": "fp-1",
            "tokenizer_version": "tok-1",
            "docsearch_version": "test",
        } | overrides
        return self.kind.create(self.location, **options)

    def open(self, **options: Any) -> Any:
        return self.kind.open(self.location, **options)

    def exists(self) -> bool:
        return bool(self.kind.exists(self.location))

    def delete(self) -> Any:
        return self.kind.delete(self.location)


@pytest.fixture(params=["embedded", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "embedded":
        return Backend("embedded", tmp_path / "index")
    return Backend("postgresql", request.getfixturevalue("postgres_url"))


@pytest.fixture
def filled(backend: Backend) -> Iterator[Any]:
    """An index holding the three documents of TEXTS."""
    index = backend.create()
    with index.writer() as writer:
        for path, texts in TEXTS.items():
            writer.add_document(document(path), sentences(texts), vectors_for(texts))
    yield index
    index.close()


def all_sentences(index: Any) -> dict[int, Any]:
    found = index.filter(path_glob="*")
    return index.sentences(found[1])


def test_create_open_exists_and_delete(backend: Backend) -> None:
    assert not backend.exists()
    with pytest.raises(IndexNotFound):
        backend.open()
    index = backend.create()
    index.close()
    assert backend.exists()
    with pytest.raises(IndexExists):
        backend.create()
    with backend.open(model_fingerprint="fp-1") as reopened:
        assert reopened.counts() == (0, 0)
        assert reopened.model.fingerprint == "fp-1"
        assert reopened.manifest.dim == DIM
    backend.delete()
    assert not backend.exists()


def test_documents_and_sentences_come_back_as_written(filled: Any) -> None:
    assert filled.counts() == (3, 9)
    listed = filled.documents()
    assert [d.path for d in listed] == sorted(TEXTS)
    assert {d.path: d.sentences for d in listed} == {p: len(t) for p, t in TEXTS.items()}
    stored = filled.document("/notes/bread.md")
    assert stored is not None and stored.type == "md" and stored.sha256 == "sha-/notes/bread.md"
    assert filled.document("/nowhere.txt") is None
    by_id = all_sentences(filled)
    assert sorted(s.text for s in by_id.values()) == sorted(t for ts in TEXTS.values() for t in ts)
    tides = sorted((s for s in by_id.values() if s.path == "/notes/tides.txt"), key=lambda s: s.id)
    assert [(s.ordinal, s.line, s.start) for s in tides] == [(0, 1, 0), (1, 2, 10), (2, 3, 20)]
    # A document's sentence ids are consecutive: passages are ranges of them.
    assert [s.id for s in tides] == list(range(tides[0].id, tides[0].id + 3))


def test_each_sentence_finds_itself_by_vector(filled: Any) -> None:
    by_id = all_sentences(filled)
    ids = sorted(by_id)
    queries = vectors_for([by_id[i].text for i in ids])
    found = filled.nearest_sentences(queries, 3)
    assert [row[0][0] for row in found] == ids
    assert [row[0][1] for row in found] == [by_id[i].document_id for i in ids]
    # float16 storage (PostgreSQL halfvec) moves a score by up to ~1e-3.
    assert [row[0][2] for row in found] == pytest.approx([1.0] * len(ids), abs=2e-3)
    assert all(len(row) == 3 for row in found)
    assert all(row[0][2] >= row[1][2] >= row[2][2] for row in found)


def test_vector_search_within_allowed_ids_and_k_beyond_the_index(filled: Any) -> None:
    docs, allowed = filled.filter(path_glob="/notes/*")
    assert len(docs) == 2 and len(allowed) == 5
    query = vectors_for([TEXTS["/docs/sqlite.txt"][0]])
    found = filled.nearest_sentences(query, 50, allowed_ids=allowed)[0]
    assert sorted(i for i, _, _ in found) == sorted(allowed.tolist())
    everything = filled.search_vectors(query, 50)[0]
    assert len(everything) == 9


def test_keyword_search_ranks_and_shows_the_best_sentence(filled: Any) -> None:
    hits, ceiling = filled.search_passages_scaled("tide harbour", 5)
    assert ceiling > 0
    by_id = all_sentences(filled)
    assert by_id[hits[0].first].path == "/notes/tides.txt"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    best = filled.best_sentences("harbour pilots", hits[:1])
    assert by_id[best[hits[0].first]].text.startswith("Harbour pilots")
    _, allowed = filled.filter(path_glob="/docs/*")
    documents = {s.document_id for s in by_id.values() if s.path.startswith("/docs/")}
    only_docs = filled.search_passages("tides", 5, allowed_document_ids=sorted(documents))
    assert [by_id[h.first].path for h in only_docs] == ["/docs/sqlite.txt"]


def test_filters_match_globs_and_types(filled: Any) -> None:
    def paths(**options: Any) -> list[str]:
        found = filled.filter(**options)
        return sorted({s.path for s in filled.sentences(found[1]).values()})

    assert filled.filter() is None
    assert paths(path_glob="*.md") == ["/notes/bread.md"]
    assert paths(path_glob="/notes/*") == ["/notes/bread.md", "/notes/tides.txt"]
    assert paths(path_glob="*/t?des.txt") == ["/notes/tides.txt"]
    assert paths(path_glob="/[dn]o*/s*") == ["/docs/sqlite.txt"]
    assert paths(path_glob="/[^d]*") == ["/notes/bread.md", "/notes/tides.txt"]
    assert paths(path_glob=["*.md", "/docs/*"]) == ["/docs/sqlite.txt", "/notes/bread.md"]
    assert paths(path_glob="/notes/b?.md") == []  # `?` is one character, no more
    assert paths(path_glob="/notes/b?ead.md") == ["/notes/bread.md"]
    assert paths(path_glob="*.TXT") == []  # case-sensitive, like SQLite's GLOB
    assert paths(path_glob="/notes/tides.txt.") == []
    assert paths(types=["txt"]) == ["/docs/sqlite.txt", "/notes/tides.txt"]


def test_contexts_are_the_neighbouring_sentences(filled: Any) -> None:
    middle = [s for s in all_sentences(filled).values() if s.text.startswith("A checkpoint")]
    ((before, after),) = filled.contexts(middle, before=1, after=2)
    assert before == [TEXTS["/docs/sqlite.txt"][0]]
    assert after == TEXTS["/docs/sqlite.txt"][2:4]


def test_a_page_reads_back_in_order_and_bounded(backend: Backend) -> None:
    texts = [f"Slide {page}, point {i}." for page in (1, 2) for i in range(3)]
    records = [
        SentenceRecord(t, 10 * i, 10 * i + len(t), i % 3 + 1, page=i // 3 + 1)
        for i, t in enumerate(texts)
    ]
    with backend.create() as index:
        with index.writer() as writer:
            writer.add_document(document("/deck.pptx"), records, vectors_for(texts))
        assert index.page_texts("/deck.pptx", 2) == texts[3:]
        assert index.page_texts("/deck.pptx", 1, limit=2) == texts[:2]
        assert index.page_texts("/deck.pptx") == texts
        assert index.page_texts("/deck.pptx", 3) == []
        assert index.page_texts("/other.pptx") == []


def test_removal_and_replacement_leave_no_trace(filled: Any) -> None:
    old_bread = vectors_for(TEXTS["/notes/bread.md"])
    with filled.writer() as writer:
        assert writer.remove_document("/notes/bread.md")
        assert not writer.remove_document("/notes/bread.md")
        new = ["The harbour master keeps the tide tables."]
        writer.add_document(document("/notes/tides.txt"), sentences(new), vectors_for(new))
    assert filled.counts() == (2, 5)
    assert [d.path for d in filled.documents()] == ["/docs/sqlite.txt", "/notes/tides.txt"]
    texts = {s.text for s in all_sentences(filled).values()}
    assert "The harbour master keeps the tide tables." in texts
    assert not texts & set(TEXTS["/notes/bread.md"] + TEXTS["/notes/tides.txt"])
    for row in filled.nearest_sentences(old_bread, 5):
        assert all(score < 0.99 for _, _, score in row), "a removed vector came back"
    assert filled.search_passages("yeast dough", 5) == []


def test_a_failed_write_leaves_the_index_as_it_was(filled: Any) -> None:
    with pytest.raises(RuntimeError, match="boom"), filled.writer() as writer:
        writer.remove_document("/docs/sqlite.txt")
        extra = ["Nothing of this should stay."]
        writer.add_document(document("/extra.txt"), sentences(extra), vectors_for(extra))
        raise RuntimeError("boom")
    assert filled.counts() == (3, 9)
    assert filled.document("/extra.txt") is None
    assert filled.search_passages("checkpoint pages", 1)


def test_a_document_written_in_parts_reads_as_one(backend: Backend) -> None:
    texts = [f"Sentence number {i} of the long manual about tides." for i in range(25)]
    with backend.create() as index:
        with index.writer() as writer:
            document_id = writer.add_document(
                document("/long.txt"), sentences(texts[:10]), vectors_for(texts[:10])
            )
            for start in (10, 20):
                part = texts[start : start + 10]
                records = [
                    SentenceRecord(t, 10 * i, 10 * i + len(t), i + 1)
                    for i, t in enumerate(part, start)
                ]
                writer.extend_document(document_id, start, records, vectors_for(part))
        assert index.counts() == (1, 25)
        stored = sorted(all_sentences(index).values(), key=lambda s: s.id)
        assert [s.text for s in stored] == texts
        assert [s.ordinal for s in stored] == list(range(25))
        hits = index.search_passages("number 17", 3)
        assert any(h.first <= stored[17].id <= h.last for h in hits)


def test_a_model_switch_replaces_every_vector_and_the_record(filled: Any) -> None:
    by_id = all_sentences(filled)
    ids = np.array(sorted(by_id), dtype=np.int64)
    flipped = np.ascontiguousarray(-vectors_for([by_id[i].text for i in ids]))
    with filled.writer() as writer:
        writer.replace_model(ModelRecord("adapted", "fp-2"), ids, flipped)
    assert filled.model.fingerprint == "fp-2"
    found = filled.nearest_sentences(np.ascontiguousarray(flipped[:1]), 1)[0]
    assert found[0][0] == ids[0] and found[0][2] == pytest.approx(1.0, abs=2e-3)


def test_an_adapted_model_is_kept_with_the_index_and_found_by_another_opener(
    backend: Backend, filled: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = filled.model_home / "models" / "fp-2"
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(bytes(range(256)) * 64)
    (folder / "config.json").write_text('{"dim": 8}')
    by_id = all_sentences(filled)
    ids = np.array(sorted(by_id), dtype=np.int64)
    with filled.writer() as writer:
        writer.replace_model(
            ModelRecord("adapted", "fp-2", "models/fp-2"),
            ids,
            vectors_for([by_id[i].text for i in ids]),
        )
    assert filled.adapted_model_dir() == folder
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-host"))
    with backend.open() as other:
        copy = other.adapted_model_dir()
        assert copy is not None and copy.name == "fp-2"
        assert sorted(p.name for p in copy.iterdir()) == ["config.json", "weights.bin"]
        assert (copy / "weights.bin").read_bytes() == bytes(range(256)) * 64
        with other.writer() as writer:  # back to a model that is not the index's own
            writer.replace_model(
                ModelRecord("base", "fp-1"), ids, vectors_for([by_id[i].text for i in ids])
            )
        assert other.adapted_model_dir() is None


def test_readers_and_a_writer_at_once(filled: Any) -> None:
    query = vectors_for([TEXTS["/notes/tides.txt"][0]])

    def read() -> None:
        for _ in range(10):
            assert filled.nearest_sentences(query, 1)[0][0][2] == pytest.approx(1.0, abs=2e-3)
            assert filled.search_passages("tide", 1)

    with ThreadPoolExecutor(3) as pool:
        readers = [pool.submit(read) for _ in range(3)]
        with filled.writer() as writer:
            for n in range(5):
                texts = [f"Extra note {n} about lighthouses."]
                path = f"/extra/{n}.txt"
                writer.add_document(document(path), sentences(texts), vectors_for(texts))
        for reader in readers:
            reader.result()  # raises what a reader raised
    assert filled.counts() == (8, 14)


# -- PostgreSQL only ---------------------------------------------------------------------------


def test_vectors_get_their_hnsw_index_once_a_writer_leaves_enough(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import indexer.postgres.schema

    monkeypatch.setattr(indexer.postgres.schema, "HNSW_MIN_ROWS", 12)
    backend = Backend("postgresql", postgres_url)
    with backend.create() as index:
        with index.writer() as writer:
            texts = TEXTS["/docs/sqlite.txt"]
            writer.add_document(document("/docs/sqlite.txt"), sentences(texts), vectors_for(texts))
        assert index.faiss_structure() == ("exact (pgvector)", None)  # 4 vectors: a scan
        with index.writer() as writer:
            for n in range(3):
                texts = [f"Note {n} on lighthouses, line {i}." for i in range(4)]
                writer.add_document(document(f"/l{n}.txt"), sentences(texts), vectors_for(texts))
        structure, ef_search = index.faiss_structure()
        assert structure == "HNSW (pgvector)"  # 16 vectors: indexed
        assert ef_search in indexer.postgres.schema.EF_SEARCH_STEPS  # tuned when it was built
        by_id = all_sentences(index)
        ids = sorted(by_id)
        found = index.nearest_sentences(vectors_for([by_id[i].text for i in ids]), 1)
        assert [row[0][0] for row in found] == ids
        with index.writer() as writer:  # later writes go into the index row by row
            texts = ["A late note about fog horns."]
            writer.add_document(document("/late.txt"), sentences(texts), vectors_for(texts))
        assert index.nearest_sentences(vectors_for(texts), 1)[0][0][2] == pytest.approx(1, abs=2e-3)


def test_a_reader_catches_up_with_other_writers_commits_without_rebuilding(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indexer.lexical.postings import Postings
    from indexer.postgres import PgIndex

    queries = ["tide moon", "bread yeast", "write-ahead log", "lighthouse fog", "channel"]
    backend = Backend("postgresql", postgres_url)
    with backend.create() as writer_host:
        with writer_host.writer() as writer:
            for path, texts in TEXTS.items():
                writer.add_document(document(path), sentences(texts), vectors_for(texts))
        reader = PgIndex.open(postgres_url)
        assert reader.search_passages("tide", 3)  # the reader builds its postings once
        builds: list[int] = []
        original = Postings.build.__func__  # type: ignore[attr-defined]
        monkeypatch.setattr(
            Postings, "build", classmethod(lambda cls, p: builds.append(1) or original(cls, p))
        )
        with writer_host.writer() as writer:  # one commit: a removal, a replacement, an addition
            writer.remove_document("/notes/bread.md")
            texts = ["The harbour master keeps the tide tables and the fog log."]
            writer.add_document(document("/notes/tides.txt"), sentences(texts), vectors_for(texts))
        with writer_host.writer() as writer:  # and a second commit
            texts = ["Lighthouse keepers sound the fog horn when the channel closes."]
            writer.add_document(document("/lighthouse.txt"), sentences(texts), vectors_for(texts))
        caught_up = {q: reader.search_passages(q, 5) for q in queries}
        assert builds == [], "the reader rebuilt its postings instead of applying the changes"
        with PgIndex.open(postgres_url) as fresh:
            rebuilt = {q: fresh.search_passages(q, 5) for q in queries}
        assert builds == [1]
        assert caught_up == rebuilt
        assert not reader.search_passages("bread yeast", 5)
        assert reader.search_passages("lighthouse", 1)
        reader.close()


def test_ef_search_is_the_first_step_that_reaches_the_recall_target(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from indexer.postgres import schema

    monkeypatch.setattr(schema, "HNSW_MIN_ROWS", 1)
    with Backend("postgresql", postgres_url).create() as index:
        with index.writer() as writer:
            for path, texts in TEXTS.items():
                writer.add_document(document(path), sentences(texts), vectors_for(texts))
        engine = sa.create_engine(postgres_url)
        with engine.begin() as c:
            monkeypatch.setattr(schema, "TARGET_RECALL", 0.0)
            assert schema.tune_ef_search(c, "vectors_1")[0] == schema.EF_SEARCH_STEPS[0]
            monkeypatch.setattr(schema, "TARGET_RECALL", 1.01)  # never reached: the last step
            ef_search, recall = schema.tune_ef_search(c, "vectors_1")
            assert ef_search == schema.EF_SEARCH_STEPS[-1] and recall == pytest.approx(1.0)
        engine.dispose()


def test_an_index_made_before_the_change_log_gets_it_when_opened(postgres_url: str) -> None:
    import sqlalchemy as sa

    from indexer.postgres import PgIndex

    Backend("postgresql", postgres_url).create().close()
    engine = sa.create_engine(postgres_url)
    with engine.begin() as c:
        c.execute(sa.text("DROP TABLE passage_changes"))
        c.execute(sa.text("DROP TABLE models"))
    with PgIndex.open(postgres_url) as index:
        with index.writer() as writer:
            texts = TEXTS["/notes/bread.md"]
            writer.add_document(document("/notes/bread.md"), sentences(texts), vectors_for(texts))
        assert index.search_passages("yeast", 1)
    with engine.connect() as c:
        assert sa.inspect(c).has_table("passage_changes") and sa.inspect(c).has_table("models")
    engine.dispose()


def test_an_index_of_another_format_says_so_and_where(postgres_url: str) -> None:
    import json

    import sqlalchemy as sa

    from indexer import FormatMismatch
    from indexer.postgres import PgIndex

    Backend("postgresql", postgres_url).create().close()
    engine = sa.create_engine(postgres_url)
    with engine.begin() as c:
        manifest = json.loads(
            c.execute(sa.text("SELECT value FROM meta WHERE key = 'manifest'")).scalar_one()
        )
        manifest["format_version"] = 99
        c.execute(
            sa.text("UPDATE meta SET value = :v WHERE key = 'manifest'"),
            {"v": json.dumps(manifest)},
        )
    engine.dispose()
    with pytest.raises(FormatMismatch, match="format version 99") as raised:
        PgIndex.open(postgres_url)
    assert sa.make_url(postgres_url).database in str(raised.value)


# -- PostgreSQL only: several writers at once ---------------------------------------------------


def test_two_hosts_write_at_once_without_interleaving_ids(postgres_url: str) -> None:
    """Two `PgIndex` objects (each its own engine, as on two machines) write in parallel."""
    from indexer.postgres import PgIndex

    Backend("postgresql", postgres_url).create().close()
    hosts = [PgIndex.open(postgres_url) for _ in range(2)]
    barrier = threading.Barrier(2)

    def ingest(host: int) -> None:
        with hosts[host].writer() as writer:
            barrier.wait()
            for n in range(6):
                texts = [f"Host {host} document {n} sentence {i}." for i in range(7)]
                path = f"/h{host}/{n}.txt"
                writer.add_document(document(path), sentences(texts), vectors_for(texts))

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(ingest, range(2)))  # raises what a writer raised
    with PgIndex.open(postgres_url) as index:
        assert index.counts() == (12, 84)
        by_document: dict[int, list[int]] = {}
        for s in all_sentences(index).values():
            by_document.setdefault(s.document_id, []).append(s.id)
        for ids in by_document.values():
            assert sorted(ids) == list(range(min(ids), min(ids) + 7)), "ids interleaved"
        assert len(index.search_passages("Host 1 document 4", 20)) == 12
    for host in hosts:
        host.close()


def test_two_writers_of_one_path_leave_one_document(postgres_url: str) -> None:
    from indexer.postgres import PgIndex

    Backend("postgresql", postgres_url).create().close()
    hosts = [PgIndex.open(postgres_url) for _ in range(2)]

    def ingest(host: int) -> None:
        with hosts[host].writer() as writer:
            texts = [f"Version from host {host}, sentence {i}." for i in range(3)]
            writer.add_document(document("/shared.txt"), sentences(texts), vectors_for(texts))

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(ingest, range(2)))  # raises what a writer raised
    with PgIndex.open(postgres_url) as index:
        assert index.counts() == (1, 3)
        texts = {s.text for s in all_sentences(index).values()}
        assert len({t.split(",")[0] for t in texts}) == 1, "two versions mixed"
    for host in hosts:
        host.close()


def pooled_query(texts: list[str], sign: float = 1.0) -> np.ndarray:
    """The pooled vector of these sentences (a passage of them), as a query."""
    summed = sign * vectors_for(texts).sum(axis=0)
    return np.ascontiguousarray((summed / np.linalg.norm(summed))[None, :], dtype=np.float32)


def test_each_passage_is_found_by_its_pooled_vector(filled: Any) -> None:
    by_id = all_sentences(filled)
    for path, texts in TEXTS.items():  # each document here is one passage (< 200 words)
        first = min(i for i, s in by_id.items() if s.path == path)
        found = filled.nearest_passages(pooled_query(texts), 5)[0]
        assert len(found) == 3  # one passage per document
        assert found[0][:2] == (first, by_id[first].document_id)
        assert found[0][2] == pytest.approx(1.0, abs=2e-3)
    docs, allowed = filled.filter(path_glob="/notes/*")
    within = filled.nearest_passages(
        pooled_query(TEXTS["/docs/sqlite.txt"]), 5, allowed_ids=allowed
    )
    assert sorted(d for _, d, _ in within[0]) == sorted(docs.tolist())


def test_passage_vectors_follow_removal_and_a_model_switch(filled: Any) -> None:
    with filled.writer() as writer:
        assert writer.remove_document("/notes/bread.md")
    found = filled.nearest_passages(pooled_query(TEXTS["/notes/bread.md"]), 5)[0]
    assert len(found) == 2 and all(c < 0.99 for _, _, c in found)
    by_id = all_sentences(filled)
    ids = np.array(sorted(by_id), dtype=np.int64)
    flipped = np.ascontiguousarray(-vectors_for([by_id[i].text for i in ids]))
    with filled.writer() as writer:
        writer.replace_model(ModelRecord("adapted", "fp-2"), ids, flipped)
    found = filled.nearest_passages(pooled_query(TEXTS["/notes/tides.txt"], -1.0), 1)[0]
    first = min(i for i, s in by_id.items() if s.path == "/notes/tides.txt")
    assert found[0][0] == first and found[0][2] == pytest.approx(1.0, abs=2e-3)


def test_sentences_and_passages_in_one_read_equal_each_read_alone(filled: Any) -> None:
    queries = np.ascontiguousarray(
        np.concatenate([pooled_query(TEXTS["/notes/tides.txt"]), vectors_for(["bread"])])
    )
    _, allowed = filled.filter(path_glob="/notes/*")
    for options in ({}, {"allowed_ids": allowed}):
        sentences, passages = filled.nearest_sentences_and_passages(queries, 4, **options)
        assert sentences == filled.nearest_sentences(queries, 4, **options)
        assert passages == filled.nearest_passages(queries, 4, **options)
        assert all(len(row) > 0 for row in sentences + passages)
