"""Index: opening, the writer's checkpoint/rollback, locking, isolation of readers, recovery."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
import pytest
import sqlalchemy as sa

from indexer import (
    DocumentRecord,
    FormatMismatch,
    Index,
    IndexCorrupt,
    IndexExists,
    IndexLocked,
    IndexNotFound,
    IndexWriter,
    ModelMismatch,
    SentenceRecord,
    StorageError,
)
from indexer.faiss_index import FaissIndex

DIM = 8


def unit_vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, DIM))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors, dtype=np.float32)


def create(root: Path, faiss_factory: str = "Flat") -> Index:
    return Index.create(
        root,
        dim=DIM,
        model_name="tiny-bigru",
        model_fingerprint="fp-1",
        tokenizer_version="tok-1",
        docsearch_version="0.1.0",
        faiss_factory=faiss_factory,
    )


def add(writer: IndexWriter, path: str, n: int, seed: int, type_: str = "md") -> np.ndarray:
    """Add a document of n sentences whose vectors come from `seed`; return the vectors."""
    vectors = unit_vectors(n, seed)
    sentences = [
        SentenceRecord(f"{path} sentence {i}", 10 * i, 10 * i + 9, i + 1) for i in range(n)
    ]
    writer.add_document(DocumentRecord(path, f"sha-{seed}", 100, type_), sentences, vectors)
    return vectors


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    with create(tmp_path / "idx") as opened:
        yield opened


def files(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if not p.name.startswith("index.sqlite3"))


def assert_consistent(index: Index) -> None:
    """Every sentence row has exactly one vector and every vector a row."""
    documents, sentences = index.counts()
    assert index.manifest.dim == DIM
    everything = index.filter(path_glob="*")
    assert everything is not None
    document_ids, sentence_ids = everything
    assert (len(document_ids), len(sentence_ids)) == (documents, sentences)
    if sentences:
        hits = index.search_vectors(unit_vectors(1, 0), sentences + 5, allowed_ids=sentence_ids)
        assert sorted(i for i, _ in hits[0]) == sentence_ids.tolist()


# -- create / open ---------------------------------------------------------------------------


def test_create_writes_a_self_describing_directory(index: Index) -> None:
    assert files(index.root) == [
        "lexical.0.postings",
        "manifest.json",
        "passages.0.faiss",
        "vectors.0.faiss",
        "write.lock",
    ]
    manifest = json.loads((index.root / "manifest.json").read_text())
    assert manifest == {
        "format_version": 2,
        "model_name": "tiny-bigru",
        "model_fingerprint": "fp-1",
        "tokenizer_version": "tok-1",
        "dim": DIM,
        "faiss_factory": "Flat",
        "documents": 0,
        "sentences": 0,
        "docsearch_version": "0.1.0",
        "built_at": index.manifest.built_at,
        "generation": 0,
        "model_dir": "",
        "base_model_fingerprint": "",
    }
    assert index.counts() == (0, 0)
    assert index.search_vectors(unit_vectors(2, 1), 3) == [[], []]
    assert index.search_lexical("anything", 3) == []
    assert Index.exists(index.root)


def test_create_refuses_an_existing_index(index: Index) -> None:
    with pytest.raises(IndexExists, match="already holds an index"):
        create(index.root)


def test_create_validates_its_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="factory"):
        create(tmp_path / "a", faiss_factory="HNSW32")
    with pytest.raises(ValueError, match="dim"):
        Index.create(
            tmp_path / "b",
            dim=0,
            model_name="m",
            model_fingerprint="f",
            tokenizer_version="t",
            docsearch_version="v",
        )


def test_create_over_an_interrupted_create(tmp_path: Path) -> None:
    root = tmp_path / "idx"
    create(root).close()
    (root / "manifest.json").unlink()  # as if killed before the last step
    assert not Index.exists(root)
    with pytest.raises(IndexNotFound, match="interrupted"):
        Index.open(root)
    with create(root) as index:
        assert index.counts() == (0, 0)


def test_open_missing_index(tmp_path: Path) -> None:
    assert not Index.exists(tmp_path / "nothing")
    with pytest.raises(IndexNotFound, match=r"no index at .*docsearch ingest"):
        Index.open(tmp_path / "nothing")


def test_open_checks_the_model(index: Index) -> None:
    with Index.open(index.root, model_fingerprint="fp-1") as same:
        assert same.manifest == index.manifest
    with pytest.raises(ModelMismatch) as caught:
        Index.open(index.root, model_fingerprint="fp-2")
    message = str(caught.value)
    assert "tiny-bigru" in message and "fp-2" in message and str(index.root) in message
    assert "docsearch ingest --rebuild" in message


def test_open_checks_the_format_version(index: Index) -> None:
    path = index.root / "manifest.json"
    path.write_text(path.read_text().replace('"format_version": 2', '"format_version": 99'))
    with pytest.raises(FormatMismatch, match=r"format version 99.*rebuild"):
        Index.open(index.root)


@pytest.mark.parametrize("text", ["{not json", "[]", '{"format_version": 1}'])
def test_open_rejects_a_broken_manifest(index: Index, text: str) -> None:
    (index.root / "manifest.json").write_text(text)
    with pytest.raises(IndexCorrupt, match="rebuild"):
        Index.open(index.root)


# -- writing ---------------------------------------------------------------------------------


def test_checkpoint_makes_data_visible_and_durable(index: Index) -> None:
    with index.writer() as writer:
        a = add(writer, "/a.md", 3, seed=1)
        add(writer, "/b.pdf", 2, seed=2, type_="pdf")
    assert index.counts() == (2, 5)
    assert (index.manifest.documents, index.manifest.sentences) == (2, 5)
    assert files(index.root) == [
        "lexical.1.postings",
        "manifest.json",
        "passages.1.faiss",
        "vectors.1.faiss",
        "write.lock",
    ]
    with Index.open(index.root) as reopened:
        assert reopened.counts() == (2, 5)
        assert reopened.manifest.generation == 1
        hit_id, score = reopened.search_vectors(a[1:2], 1)[0][0]
        assert score == pytest.approx(1.0, abs=1e-5)
        assert reopened.sentences([hit_id])[hit_id].text == "/a.md sentence 1"
        document = reopened.document("/b.pdf")
        assert document is not None and (document.type, document.sentences) == ("pdf", 2)
        assert [d.path for d in reopened.documents()] == ["/a.md", "/b.pdf"]
    assert index.disk_bytes() > 0


def test_vector_id_is_the_sentence_id(index: Index) -> None:
    with index.writer() as writer:
        vectors = {
            path: add(writer, path, 4, seed=seed) for seed, path in enumerate("/x /y /z".split())
        }
    for path, doc_vectors in vectors.items():
        hits = index.search_vectors(doc_vectors, 1)
        found = index.sentences([h[0][0] for h in hits])
        assert [found[h[0][0]].text for h in hits] == [f"{path} sentence {i}" for i in range(4)]
        assert all(found[h[0][0]].path == path for h in hits)


def test_exception_in_the_block_discards_everything_since_the_checkpoint(index: Index) -> None:
    with index.writer() as writer:
        add(writer, "/keep.md", 2, seed=1)
    with pytest.raises(KeyError), index.writer() as writer:
        add(writer, "/lost.md", 3, seed=2)
        writer.remove_document("/keep.md")
        raise KeyError("boom")
    assert index.counts() == (1, 2)
    assert index.document("/lost.md") is None and index.document("/keep.md") is not None
    assert files(index.root) == [
        "lexical.1.postings",
        "manifest.json",
        "passages.1.faiss",
        "vectors.1.faiss",
        "write.lock",
    ]
    assert_consistent(index)


def test_explicit_checkpoint_keeps_work_done_before_it(index: Index) -> None:
    with pytest.raises(RuntimeError), index.writer() as writer:
        add(writer, "/first.md", 2, seed=1)
        writer.checkpoint()
        add(writer, "/second.md", 2, seed=2)
        raise RuntimeError("crash after the checkpoint")
    assert [d.path for d in index.documents()] == ["/first.md"]
    assert_consistent(index)


def test_replacing_a_document_leaves_no_orphans(index: Index) -> None:
    with index.writer() as writer:
        old = add(writer, "/a.md", 5, seed=1)
        add(writer, "/b.md", 2, seed=2)
    with index.writer() as writer:
        new = add(writer, "/a.md", 3, seed=3)
    assert index.counts() == (2, 5)
    assert_consistent(index)
    assert all(hits[0][1] < 0.9999 for hits in index.search_vectors(old, 1))  # old vectors gone
    texts = [index.sentences([h[0][0]]) for h in index.search_vectors(new, 1)]
    assert [next(iter(t.values())).text for t in texts] == [f"/a.md sentence {i}" for i in range(3)]


def test_remove_document(index: Index) -> None:
    with index.writer() as writer:
        add(writer, "/a.md", 2, seed=1)
        add(writer, "/b.md", 2, seed=2)
    with index.writer() as writer:
        assert writer.remove_document("/a.md") is True
        assert writer.remove_document("/a.md") is False
        assert writer.remove_document("/never.md") is False
    assert [d.path for d in index.documents()] == ["/b.md"]
    assert_consistent(index)


def test_nearest_sentences_name_each_hit_s_document(index: Index) -> None:
    with index.writer() as writer:
        a = add(writer, "/a.md", 3, seed=1)
        add(writer, "/b.md", 2, seed=2)
    hits = index.nearest_sentences(a[:1], 5)[0]
    rows = index.sentences([i for i, _, _ in hits])
    assert len(hits) == 5
    assert all(rows[i].document_id == document for i, document, _ in hits)
    assert hits[0][2] == pytest.approx(1.0, abs=1e-5)
    assert [(i, s) for i, _, s in hits] == index.search_vectors(a[:1], 5)[0]


def test_a_checkpoint_without_changes_writes_nothing(index: Index) -> None:
    with index.writer() as writer:
        writer.checkpoint()
    assert index.manifest.generation == 0
    assert files(index.root) == [
        "lexical.0.postings",
        "manifest.json",
        "passages.0.faiss",
        "vectors.0.faiss",
        "write.lock",
    ]


def test_add_document_validates_vectors(index: Index) -> None:
    sentences = [SentenceRecord("a", 0, 1, 1), SentenceRecord("b", 2, 3, 1)]
    document = DocumentRecord("/a.md", "sha", 1, "md")
    with index.writer() as writer:
        with pytest.raises(ValueError, match=r"float32\[2, 8\].*float32\[3, 8\]"):
            writer.add_document(document, sentences, unit_vectors(3, 1))
        with pytest.raises(ValueError, match=r"float64\[2, 8\]"):
            writer.add_document(document, sentences, unit_vectors(2, 1).astype(np.float64))
    assert index.counts() == (0, 0)


def test_writer_is_unusable_after_its_block(index: Index) -> None:
    with index.writer() as writer:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        writer.remove_document("/a.md")


def test_second_writer_gets_index_locked(index: Index) -> None:
    with index.writer(), Index.open(index.root) as other:
        with pytest.raises(IndexLocked, match=r"being written by .*try again"):
            with other.writer():
                pass
        with pytest.raises(IndexLocked):
            with index.writer(wait_seconds=0.1):
                pass


def test_writer_waits_for_the_lock(index: Index) -> None:
    released = threading.Event()

    def hold_briefly() -> None:
        with index.writer():
            released.wait(5)

    holder = threading.Thread(target=hold_briefly)
    holder.start()
    try:
        threading.Timer(0.2, released.set).start()
        with index.writer(wait_seconds=5) as writer:
            add(writer, "/a.md", 1, seed=1)
    finally:
        released.set()
        holder.join()
    assert index.counts() == (1, 1)


# -- readers ---------------------------------------------------------------------------------


def test_reader_in_another_thread_sees_the_old_generation_until_checkpoint(index: Index) -> None:
    with index.writer() as writer:
        add(writer, "/old.md", 2, seed=1)
    seen: list[tuple[tuple[int, int], int, list[str]]] = []

    def look() -> None:
        hits = index.search_vectors(unit_vectors(1, 9), 10)[0]
        seen.append((index.counts(), len(hits), [d.path for d in index.documents()]))

    other_process = Index.open(index.root)  # another Index object: like another process
    with index.writer() as writer:
        new = add(writer, "/new.md", 3, seed=2)
        for reader in (threading.Thread(target=look), threading.Thread(target=look)):
            reader.start()
            reader.join()
        assert other_process.counts() == (1, 2)
        assert other_process.search_vectors(new, 1)[0][0][1] < 0.9999
        writer.checkpoint()
        reader = threading.Thread(target=look)
        reader.start()
        reader.join()
        assert other_process.search_vectors(new, 1)[0][0][1] == pytest.approx(1.0, abs=1e-5)
    other_process.close()
    assert seen == [
        ((1, 2), 2, ["/old.md"]),
        ((1, 2), 2, ["/old.md"]),
        ((2, 5), 5, ["/new.md", "/old.md"]),
    ]


def test_many_threads_search_while_a_writer_commits(index: Index) -> None:
    with index.writer() as writer:
        for d in range(4):
            add(writer, f"/{d}.md", 5, seed=d)
    errors: list[BaseException] = []
    stop = threading.Event()

    def search_forever(seed: int) -> None:
        queries = unit_vectors(3, 100 + seed)
        try:
            while not stop.is_set():
                for hits in index.search_vectors(queries, 5):
                    assert 1 <= len(hits) <= 5
                    assert all(-1.0001 <= s <= 1.0001 for _, s in hits)
                index.search_lexical("sentence 3", 5)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=search_forever, args=(s,)) for s in range(6)]
    for thread in threads:
        thread.start()
    try:
        for round_ in range(5):
            with index.writer() as writer:
                add(writer, f"/{round_ % 4}.md", 5, seed=10 + round_)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert_consistent(index)


# -- filters and context -----------------------------------------------------------------------


def test_filters_and_context(index: Index) -> None:
    with index.writer() as writer:
        md = add(writer, "/notes/a.md", 3, seed=1)
        add(writer, "/papers/b.pdf", 3, seed=2, type_="pdf")
    assert index.filter() is None and index.filter(types=[]) is None
    allowed = index.filter(types=["pdf"])
    assert allowed is not None
    document_ids, sentence_ids = allowed
    hits = index.search_vectors(md, 2, allowed_ids=sentence_ids)
    assert all(i in sentence_ids for row in hits for i, _ in row)
    lexical = index.search_lexical("sentence", 10, allowed_document_ids=document_ids)
    assert {index.sentences([i])[i].path for i, _ in lexical} == {"/papers/b.pdf"}
    by_glob = index.filter(path_glob="/notes/*")
    assert by_glob is not None and len(by_glob[1]) == 3
    middle_id = index.search_vectors(md[1:2], 1)[0][0][0]
    middle = index.sentences([middle_id])[middle_id]
    assert index.contexts([middle]) == [(["/notes/a.md sentence 0"], ["/notes/a.md sentence 2"])]
    assert index.contexts([middle], before=0, after=5) == [([], ["/notes/a.md sentence 2"])]


def test_ivf_factory_through_the_index(tmp_path: Path) -> None:
    with create(tmp_path / "ivf", faiss_factory="IVF2,Flat") as index:
        with index.writer() as writer:
            vectors = add(writer, "/big.md", 100, seed=1)  # >= 39 * 2: trains
        hits = index.search_vectors(vectors[:3], 1)
        assert [h[0][1] for h in hits] == pytest.approx([1.0] * 3, abs=1e-5)
        assert_consistent(index)


# -- failures and recovery ---------------------------------------------------------------------


def test_stray_vector_files_are_ignored_and_cleaned_by_the_next_writer(index: Index) -> None:
    with index.writer() as writer:
        add(writer, "/a.md", 3, seed=1)
    root = index.root
    # An interrupted checkpoint: the next generation's file landed but the commit did not.
    (root / "vectors.2.faiss").write_bytes(b"whatever was written")
    (root / ".vectors.3.faiss.123.abcd.tmp").write_bytes(b"half")
    (root / "vectors.0.faiss").write_bytes(b"an old generation that was not deleted")
    with Index.open(root) as reopened:
        assert reopened.counts() == (1, 3)
        assert_consistent(reopened)
        with reopened.writer():
            pass
    assert files(root) == [
        "lexical.1.postings",
        "manifest.json",
        "passages.1.faiss",
        "vectors.1.faiss",
        "write.lock",
    ]


def test_vector_count_mismatch_is_reported_as_corrupt(index: Index) -> None:
    with index.writer() as writer:
        add(writer, "/a.md", 3, seed=1)
    FaissIndex(DIM).save(index.root / "vectors.1.faiss")
    with pytest.raises(IndexCorrupt, match=r"0 vectors.*3 sentences.*docsearch ingest --rebuild"):
        Index.open(index.root)


def test_missing_vector_file_is_reported_as_corrupt(index: Index) -> None:
    (index.root / "vectors.0.faiss").unlink()
    with pytest.raises(IndexCorrupt, match="rebuild"):
        Index.open(index.root)


def test_failed_vector_write_keeps_the_previous_state(
    index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    with index.writer() as writer:
        add(writer, "/a.md", 2, seed=1)

    def disk_full(_index: object, name: str) -> None:
        Path(name).write_bytes(b"partial")
        raise RuntimeError("No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(faiss, "write_index", disk_full)
        with pytest.raises(StorageError, match="No space left"), index.writer() as writer:
            add(writer, "/b.md", 2, seed=2)
            writer.remove_document("/a.md")
    assert [d.path for d in index.documents()] == ["/a.md"]
    assert files(index.root) == [
        "lexical.1.postings",
        "manifest.json",
        "passages.1.faiss",
        "vectors.1.faiss",
        "write.lock",
    ]
    assert_consistent(index)
    with index.writer() as writer:  # and the index is writable again
        add(writer, "/b.md", 2, seed=2)
    assert index.counts() == (2, 4)


def test_failed_commit_keeps_the_previous_state(
    index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(_connection: sa.Connection) -> None:
        raise sa.exc.OperationalError("COMMIT", {}, Exception("database or disk is full"))

    with index.writer() as writer:
        add(writer, "/a.md", 2, seed=1)
        monkeypatch.setattr(sa.Connection, "commit", full)
        add(writer, "/b.md", 2, seed=2)
        with pytest.raises(StorageError, match="disk is full"):
            writer.checkpoint()
        monkeypatch.undo()
        assert index.counts() == (0, 0)  # the writer's work so far is gone
        add(writer, "/c.md", 1, seed=3)  # and it goes on from the committed state
    assert [d.path for d in index.documents()] == ["/c.md"]
    assert files(index.root) == [
        "lexical.1.postings",
        "manifest.json",
        "passages.1.faiss",
        "vectors.1.faiss",
        "write.lock",
    ]
    assert_consistent(index)
