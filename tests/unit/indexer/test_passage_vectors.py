"""Passage vectors: pooled from sentence vectors, kept in step with the passages table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer import Index, IndexCorrupt
from indexer.auto_factory import AutoFactory
from indexer.faiss_index import FaissIndex
from indexer.lexical.passages import group_passages
from indexer.model_record import ModelRecord
from indexer.passage_vectors import passage_vectors, passage_vectors_by_id, pool
from tests.unit.indexer.test_index import DIM, add, create, unit_vectors


def test_pool_is_the_unit_vector_along_the_sum() -> None:
    vectors = unit_vectors(3, seed=1)
    summed = vectors.sum(axis=0)
    np.testing.assert_allclose(pool(vectors), summed / np.linalg.norm(summed), rtol=1e-6)
    np.testing.assert_allclose(pool(vectors[:1]), vectors[0], rtol=1e-6)


def test_passages_are_cut_as_the_store_cuts_them_and_pooled_by_id_alike() -> None:
    texts = [" ".join(["word"] * n) for n in (120, 70, 30, 250, 10)]
    vectors = unit_vectors(len(texts), seed=2)
    ids = np.arange(100, 105, dtype=np.int64)
    firsts, pooled = passage_vectors(ids, texts, vectors)
    cut = group_passages([len(t.split()) for t in texts])
    assert cut == [(0, 1), (2, 2), (3, 3), (4, 4)]
    assert firsts.tolist() == [100 + a for a, _ in cut]
    np.testing.assert_allclose(pooled[0], pool(vectors[0:2]), rtol=1e-6)
    shuffled = np.array([3, 0, 4, 2, 1])
    by_id = passage_vectors_by_id(
        ids[shuffled], vectors[shuffled], [(100 + a, 100 + b) for a, b in cut]
    )
    assert by_id[0].tolist() == firsts.tolist()
    np.testing.assert_allclose(by_id[1], pooled, rtol=1e-6)
    with pytest.raises(ValueError, match="not all given"):
        passage_vectors_by_id(ids[:2], vectors[:2], [(100, 102)])


def query_of(vectors: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(pool(vectors)[None, :])


def test_an_index_without_passage_vectors_is_read_without_them_and_given_them_by_its_writer(
    tmp_path: Path,
) -> None:
    with create(tmp_path / "idx") as index:
        with index.writer() as writer:
            vectors = add(writer, "/a.md", 4, seed=1)
            add(writer, "/b.md", 3, seed=2)
        root = index.root
    (root / "passages.1.faiss").unlink()  # as an earlier docsearch left it
    with Index.open(root) as old:
        assert old.nearest_passages(query_of(vectors), 2) == [[]]
        assert old.nearest_sentences(vectors[:1], 1)[0][0][2] == pytest.approx(1.0, abs=1e-5)
        with old.writer():
            pass  # a writer pools them and commits them even without other changes
        found = old.nearest_passages(query_of(vectors), 2)[0]
    assert (root / "passages.2.faiss").is_file()
    assert len(found) == 2 and found[0][2] == pytest.approx(1.0, abs=1e-5)


def test_a_passage_vector_file_that_disagrees_with_the_table_is_corrupt(tmp_path: Path) -> None:
    with create(tmp_path / "idx") as index:
        with index.writer() as writer:
            vectors = add(writer, "/a.md", 3, seed=1)
        FaissIndex(DIM).save(index.root / "passages.1.faiss")
        with Index.open(index.root) as reopened, pytest.raises(IndexCorrupt, match="passages"):
            reopened.nearest_passages(query_of(vectors), 1)


def test_stray_passage_files_are_cleaned_by_the_next_writer(tmp_path: Path) -> None:
    with create(tmp_path / "idx") as index:
        with index.writer() as writer:
            add(writer, "/a.md", 3, seed=1)
        root = index.root
        (root / "passages.2.faiss").write_bytes(b"an interrupted checkpoint")
        (root / ".passages.3.faiss.123.abcd.tmp").write_bytes(b"half")
        with index.writer():
            pass
    assert not (root / "passages.2.faiss").exists()
    assert not (root / ".passages.3.faiss.123.abcd.tmp").exists()
    assert (root / "passages.1.faiss").is_file()


def test_an_auto_index_grows_its_passage_vectors_into_ivf_too(tmp_path: Path) -> None:
    policy = AutoFactory(flat_max=40, train_points_per_list=1, tune_queries=20)
    root = tmp_path / "idx"
    create(root, faiss_factory="auto").close()
    with Index.open(root, auto_factory=policy) as index:
        with index.writer() as writer:
            # 200-word passages of 3-word sentences: one per 66 sentences; 100 documents of
            # one passage each.
            docs = [add(writer, f"/d{i}.md", 2, seed=i) for i in range(100)]
        for i in (0, 57, 99):
            found = index.nearest_passages(query_of(docs[i]), 1)[0]
            assert found[0][2] == pytest.approx(1.0, abs=1e-2)  # float16 in IVF
        passages = FaissIndex.load(root / "passages.1.faiss", factory="auto")
        assert passages.nlist is not None and len(passages) == 100


def test_an_older_index_whose_vectors_cannot_be_read_back_goes_on_without_passages(
    tmp_path: Path,
) -> None:
    # An IVF with a lossy codec keeps codes, not vectors: nothing to pool from.
    with create(tmp_path / "idx", faiss_factory="IVF2,SQ8") as index:
        with index.writer() as writer:
            vectors = add(writer, "/a.md", 100, seed=1)
        root = index.root
    (root / "passages.1.faiss").unlink()  # as an earlier docsearch left it
    with Index.open(root) as old:
        with old.writer() as writer:  # opens, adds and removes as before
            add(writer, "/b.md", 3, seed=2)
            assert writer.remove_document("/a.md")
        assert old.counts() == (1, 3)
        assert old.nearest_passages(query_of(vectors), 2) == [[]]
        assert not any(p.name.startswith("passages.") for p in root.iterdir())
        ids = old.filter(path_glob="*")[1]
        with old.writer() as writer:  # a model switch gives it vectors to pool
            writer.replace_model(ModelRecord("adapted", "fp-2"), ids, unit_vectors(3, seed=2))
        found = old.nearest_passages(query_of(unit_vectors(3, seed=2)), 1)[0]
    assert found[0][2] == pytest.approx(1.0, abs=1e-5)
