"""The "auto" FAISS factory: flat while small, IVF once large, removal in every structure."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from indexer import AutoFactory, DocumentRecord, Index, IndexWriter, SentenceRecord
from indexer.auto_factory import adapt, ideal_nlist, planned_nlist, recall_at_k
from indexer.faiss_index import FaissIndex
from indexer.vectors import ExactIndex

DIM = 16
# Small thresholds keep k-means to a few hundred points: each test takes milliseconds.
SMALL = AutoFactory(flat_max=400, tune_queries=50)


def clustered(n: int, seed: int, clusters: int = 12) -> np.ndarray:
    """Unit vectors around fixed random centres (the same centres for every seed)."""
    centres = np.random.default_rng(1234).standard_normal((clusters, DIM))
    rng = np.random.default_rng(seed)
    points = centres[rng.integers(clusters, size=n)] + 0.35 * rng.standard_normal((n, DIM))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return np.ascontiguousarray(points, dtype=np.float32)


def ids_from(start: int, n: int) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.int64)


# -- the plan (pure) ---------------------------------------------------------------------------


def test_ideal_nlist_is_flat_below_the_threshold_then_four_sqrt_n() -> None:
    policy = AutoFactory()  # flat_max 50_000
    assert ideal_nlist(49_999, policy) is None
    assert ideal_nlist(50_000, policy) == 894  # 4 * sqrt(50_000) = 894.4
    assert ideal_nlist(1_000_000, policy) == 4000
    # Tiny thresholds: at least 39 points per list.
    assert ideal_nlist(400, SMALL) == 10


def test_planned_nlist_switches_once_and_only_when_far_from_ideal() -> None:
    policy = AutoFactory()
    assert planned_nlist(None, 10_000, policy) is None
    assert planned_nlist(None, 60_000, policy) == 980
    assert planned_nlist(980, 100_000, policy) == 980  # ideal 1265: close enough, no retraining
    assert planned_nlist(980, 240_000, policy) == 1960  # ideal 1960 = 2 x 980: retrain
    assert planned_nlist(980, 30_000, policy) == 980  # hysteresis: flat only below 25_000
    assert planned_nlist(980, 24_999, policy) is None
    assert planned_nlist(4000, 60_000, policy) == 980  # shrunk far below its lists


def test_policy_validates_itself() -> None:
    with pytest.raises(ValueError, match="flat_max"):
        AutoFactory(flat_max=5)
    with pytest.raises(ValueError, match="target_recall"):
        AutoFactory(target_recall=1.5)


def test_recall_counts_ties_with_the_kth_exact_score() -> None:
    exact = np.array([[0.9, 0.8, 0.7]], dtype=np.float32)
    # id 7 scores 0.7 like the 3rd exact hit (a duplicate vector): it counts; padding does not.
    found_ids = np.array([[1, 7, -1]], dtype=np.int64)
    found_scores = np.array([[0.9, 0.7, -np.inf]], dtype=np.float32)
    assert recall_at_k(found_ids, found_scores, exact, 3) == pytest.approx(2 / 3)
    assert recall_at_k(found_ids, found_scores, exact, 2) == pytest.approx(1 / 2)


# -- FaissIndex ---------------------------------------------------------------------------------


def test_contents_round_trip_through_every_structure() -> None:
    index = FaissIndex(DIM, "auto")
    vectors = clustered(500, seed=1)
    ids = ids_from(100, 500)
    index.add(ids, vectors)
    got_ids, got = index.contents()
    np.testing.assert_array_equal(got_ids, ids)
    np.testing.assert_array_equal(got, vectors)
    index.rebuild(got_ids, got, 8)
    assert index.current_factory == "IVF8,SQfp16" and index.nlist == 8
    ivf_ids, ivf_vectors = index.contents()
    order = np.argsort(ivf_ids)
    np.testing.assert_array_equal(ivf_ids[order], ids)
    # Stored as float16: each component within its rounding, and no further loss after that.
    np.testing.assert_allclose(ivf_vectors[order], vectors, rtol=1e-3, atol=1e-6)
    np.testing.assert_array_equal(ivf_vectors, ivf_vectors.astype(np.float16))
    index.rebuild(ivf_ids, ivf_vectors, None)
    assert index.current_factory == "Flat" and index.nlist is None and len(index) == 500
    index.rebuild(*index.contents(), 8)
    again_ids, again = index.contents()
    np.testing.assert_array_equal(again[np.argsort(again_ids)], ivf_vectors[order])


def test_auto_index_of_the_older_ivf_flat_layout_still_loads(tmp_path: Path) -> None:
    import faiss

    vectors = clustered(500, seed=5)
    ids = ids_from(100, 500)
    ivf = faiss.index_factory(DIM, "IVF8,Flat", faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors)
    ivf.add_with_ids(vectors, ids)
    faiss.write_index(ivf, str(tmp_path / "old.faiss"))
    for mmap in (False, True):
        old = FaissIndex.load(tmp_path / "old.faiss", factory="auto", mmap=mmap)
        assert old.current_factory == "IVF8,Flat"
        got_ids, got = old.contents()
        order = np.argsort(got_ids)
        np.testing.assert_array_equal(got[order], vectors)
        old.nprobe = 8
        assert old.search(vectors[:3], 1)[1][:, 0].tolist() == ids[:3].tolist()


def test_rebuild_is_only_for_auto() -> None:
    index = FaissIndex(DIM, "Flat")
    with pytest.raises(ValueError, match="auto"):
        index.rebuild(ids_from(0, 3), clustered(3, seed=2), None)


def test_adapt_trains_ivf_with_tuned_nprobe_and_high_recall() -> None:
    index = FaissIndex(DIM, "auto")
    vectors = clustered(1600, seed=3)
    ids = ids_from(0, 1600)
    index.add(ids[:300], vectors[:300])
    assert adapt(index, SMALL) is False and index.current_factory == "Flat"
    index.add(ids[300:], vectors[300:])
    assert adapt(index, SMALL) is True
    assert index.current_factory == "IVF41,SQfp16"  # min(4 * sqrt(1600) = 160, 1600 // 39 = 41)
    assert 1 <= index.nprobe < 41
    assert adapt(index, SMALL) is False, "a second checkpoint does not retrain"
    queries = clustered(60, seed=4)
    found_scores, found_ids = index.search(queries, 10)
    exact = ExactIndex(DIM)
    exact.add(ids, vectors)
    exact_scores, _ = exact.search(queries, 10)
    assert recall_at_k(found_ids, found_scores, exact_scores, 10) >= 0.9


def test_auto_ivf_keeps_structure_and_nprobe_through_save(tmp_path: Path) -> None:
    index = FaissIndex(DIM, "auto")
    index.add(ids_from(0, 800), clustered(800, seed=5))
    adapt(index, SMALL)
    index.nprobe = 3
    index.save(tmp_path / "v.faiss")
    loaded = FaissIndex.load(tmp_path / "v.faiss", factory="auto")
    assert (loaded.factory, loaded.current_factory) == ("auto", index.current_factory)
    assert loaded.nprobe == 3
    queries = clustered(5, seed=6)
    np.testing.assert_array_equal(loaded.search(queries, 5)[1], index.search(queries, 5)[1])


def test_a_mapped_index_searches_but_refuses_changes(tmp_path: Path) -> None:
    index = FaissIndex(DIM, "auto")
    vectors = clustered(800, seed=10)
    index.add(ids_from(0, 800), vectors)
    adapt(index, SMALL)
    index.save(tmp_path / "v.faiss")
    mapped = FaissIndex.load(tmp_path / "v.faiss", factory="auto", mmap=True)
    np.testing.assert_array_equal(mapped.search(vectors[:5], 4)[1], index.search(vectors[:5], 4)[1])
    with pytest.raises(ValueError, match="read-only"):
        mapped.remove(ids_from(0, 1))
    with pytest.raises(ValueError, match="read-only"):
        mapped.add(ids_from(900, 1), vectors[:1])


def test_one_query_search_leaves_the_thread_count_alone() -> None:
    index = FaissIndex(DIM, "auto")
    index.add(ids_from(0, 50), clustered(50, seed=7))
    faiss.omp_set_num_threads(2)
    try:
        index.search(clustered(1, seed=8), 3)
        assert faiss.omp_get_max_threads() == 2
        index.search(clustered(3, seed=9), 3)  # a batch keeps every thread
        assert faiss.omp_get_max_threads() == 2
    finally:
        faiss.omp_set_num_threads(1)


# -- through the Index and its checkpoints ------------------------------------------------------


def create(root: Path) -> Index:
    return Index.create(
        root,
        dim=DIM,
        model_name="tiny",
        model_fingerprint="fp",
        tokenizer_version="tok",
        docsearch_version="0.1.0",
        faiss_factory="auto",
        auto_factory=SMALL,
    )


def add(writer: IndexWriter, path: str, n: int, seed: int) -> np.ndarray:
    vectors = clustered(n, seed)
    sentences = [SentenceRecord(f"{path} {i}", 0, 1, i + 1) for i in range(n)]
    writer.add_document(DocumentRecord(path, f"sha-{seed}", 1, "text"), sentences, vectors)
    return vectors


def all_ids(index: Index) -> list[int]:
    everything = index.filter(path_glob="*")
    assert everything is not None
    return sorted(everything[1].tolist())


def assert_each_sentence_finds_itself(index: Index, seeds: dict[str, int]) -> None:
    """Every stored sentence's vector is searchable (an IVF probes the query's own list first)."""
    for path, seed in seeds.items():
        hits = index.search_vectors(clustered(100, seed), 1)
        found = index.sentences([h[0][0] for h in hits])
        # float16 storage in IVF moves a score by up to ~2e-4
        assert [h[0][1] for h in hits] == pytest.approx([1.0] * 100, abs=1e-3)
        assert [found[h[0][0]].text for h in hits] == [f"{path} {i}" for i in range(100)]


def test_index_switches_at_a_checkpoint_and_removal_works_after(tmp_path: Path) -> None:
    with create(tmp_path / "idx") as index:
        with index.writer() as writer:
            for d in range(3):
                add(writer, f"/d{d}.txt", 100, seed=d)
        assert index.faiss_structure() == ("Flat", None)
        assert index.manifest.faiss_factory == "auto"
        with index.writer() as writer:
            for d in range(3, 10):
                add(writer, f"/d{d}.txt", 100, seed=d)
            assert index.faiss_structure() == ("Flat", None), "readers see the last checkpoint"
        factory, nprobe = index.faiss_structure()
        assert factory == "IVF25,SQfp16" and nprobe is not None  # 1000 // 39 = 25 lists
        removed_vectors = clustered(100, seed=4)  # the vectors of /d4.txt
        with index.writer() as writer:
            assert writer.remove_document("/d4.txt")
        assert index.counts() == (9, 900)
        for hits in index.search_vectors(removed_vectors[:20], 5):
            assert all(score < 0.9999 for _, score in hits), "a removed vector came back"
        assert_each_sentence_finds_itself(index, {f"/d{d}.txt": d for d in range(10) if d != 4})

    with Index.open(tmp_path / "idx", auto_factory=SMALL) as reopened:
        assert reopened.faiss_structure()[0] == "IVF25,SQfp16"
        with reopened.writer() as writer:  # 900 -> 150 sentences: below flat_max / 2
            for d in (0, 1, 2, 3, 5, 6, 7, 8):
                writer.remove_document(f"/d{d}.txt")
            add(writer, "/new.txt", 50, seed=50)
        assert reopened.faiss_structure() == ("Flat", None)
        assert reopened.counts() == (2, 150)
        hits = reopened.search_vectors(clustered(1, seed=99), 200)
        assert sorted(i for i, _ in hits[0]) == all_ids(reopened)


def test_a_document_too_large_to_encode_at_once_becomes_ivf_between_its_parts(
    tmp_path: Path,
) -> None:
    vectors = clustered(1000, seed=7)
    sentences = [SentenceRecord(f"/big.txt {i}", 0, 1, i + 1) for i in range(1000)]
    with create(tmp_path / "idx") as index:
        with index.writer() as writer:
            document = DocumentRecord("/big.txt", "sha-big", 1, "text")
            document_id = writer.add_document(document, sentences[:100], vectors[:100])
            for start in range(100, 1000, 100):
                part = slice(start, start + 100)
                writer.extend_document(document_id, start, sentences[part], vectors[part])
                if start == 400:  # 500 vectors > flat_max 400: lists before the checkpoint
                    assert writer._vectors.nlist is not None
            assert index.faiss_structure() == ("Flat", None), "readers see the last checkpoint"
        assert index.counts() == (1, 1000)
        assert index.faiss_structure()[0].startswith("IVF")
        hits = index.search_vectors(np.ascontiguousarray(vectors[::50]), 1)
        assert [h[0][1] for h in hits] == pytest.approx([1.0] * 20, abs=1e-3)
        found = index.sentences([h[0][0] for h in hits])
        assert [found[h[0][0]].text for h in hits] == [f"/big.txt {i}" for i in range(0, 1000, 50)]


def test_a_failed_switch_discards_the_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with create(tmp_path / "idx") as index:
        with index.writer() as writer:
            add(writer, "/small.txt", 100, seed=1)

        def out_of_memory(*_: object, **__: object) -> None:
            raise MemoryError("k-means")

        monkeypatch.setattr(FaissIndex, "rebuild", out_of_memory)
        with pytest.raises(MemoryError), index.writer() as writer:
            add(writer, "/big.txt", 500, seed=2)
        assert index.counts() == (1, 100)
        assert index.faiss_structure() == ("Flat", None)
