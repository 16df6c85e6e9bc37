"""One contract suite for every VectorIndex, with ExactIndex as the oracle; then FAISS specifics."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
import pytest

from indexer.errors import StorageError
from indexer.faiss_index import FaissIndex
from indexer.vectors import PAD_ID, ExactIndex, VectorIndex

DIM = 16
Factory = Callable[[int], VectorIndex]


IMPLEMENTATIONS: dict[str, Factory] = {
    "faiss-flat": lambda dim: FaissIndex(dim),
    # nprobe == nlist searches every list, so the IVF index is exact too.
    "faiss-ivf": lambda dim: FaissIndex(dim, "IVF2,Flat", nprobe=2, train_size=80),
    "exact": ExactIndex,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def make_index(request: pytest.FixtureRequest) -> Factory:
    return IMPLEMENTATIONS[request.param]


def clustered(n: int, seed: int, dim: int = DIM, clusters: int = 8) -> np.ndarray:
    """Unit vectors around a few random centres: recall on uniform noise means nothing."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    points = centres[rng.integers(clusters, size=n)] + 0.3 * rng.standard_normal((n, dim))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return np.ascontiguousarray(points, dtype=np.float32)


def filled(make_index: Factory, n: int = 300) -> tuple[VectorIndex, np.ndarray, np.ndarray]:
    """An index holding n clustered vectors under ids 1000..1000+n, added in two batches."""
    index = make_index(DIM)
    vectors = clustered(n, seed=1)
    ids = np.arange(1000, 1000 + n, dtype=np.int64)
    index.add(ids[: n // 3], vectors[: n // 3])
    index.add(ids[n // 3 :], vectors[n // 3 :])
    return index, ids, vectors


def oracle(ids: np.ndarray, vectors: np.ndarray) -> ExactIndex:
    exact = ExactIndex(DIM)
    exact.add(ids, vectors)
    return exact


def test_top_k_equals_exact_top_k(make_index: Factory) -> None:
    index, ids, vectors = filled(make_index)
    queries = clustered(20, seed=2)
    scores, found = index.search(queries, 10)
    want_scores, want_ids = oracle(ids, vectors).search(queries, 10)
    assert scores.shape == found.shape == (20, 10)
    assert scores.dtype == np.float32 and found.dtype == np.int64
    np.testing.assert_array_equal(found, want_ids)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-5)
    assert (np.diff(scores, axis=1) <= 1e-6).all(), "scores must be descending"


def test_a_stored_vector_finds_itself_first(make_index: Factory) -> None:
    index, ids, vectors = filled(make_index)
    scores, found = index.search(vectors[:5], 1)
    np.testing.assert_array_equal(found[:, 0], ids[:5])
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)


def test_padding_when_k_exceeds_n(make_index: Factory) -> None:
    index = make_index(DIM)
    vectors = clustered(5, seed=3)
    ids = np.array([7, 3, 11, 5, 9], dtype=np.int64)
    index.add(ids, vectors)
    scores, found = index.search(vectors[:2], 8)
    assert found.shape == (2, 8)
    assert (found[:, 5:] == PAD_ID).all()
    assert np.isneginf(scores[:, 5:]).all()
    for row in found:
        assert sorted(row[:5].tolist()) == sorted(ids.tolist())


def test_empty_index_returns_only_padding(make_index: Factory) -> None:
    index = make_index(DIM)
    assert len(index) == 0
    scores, found = index.search(clustered(3, seed=4), 4)
    assert (found == PAD_ID).all() and np.isneginf(scores).all()


def test_no_queries_gives_empty_result(make_index: Factory) -> None:
    index, _, _ = filled(make_index, n=10)
    scores, found = index.search(np.empty((0, DIM), dtype=np.float32), 3)
    assert scores.shape == found.shape == (0, 3)


def test_remove(make_index: Factory) -> None:
    index, ids, vectors = filled(make_index)
    gone = np.ascontiguousarray(ids[::3])
    assert index.remove(np.concatenate([gone, np.array([5, 6], dtype=np.int64)])) == gone.size
    assert len(index) == ids.size - gone.size
    assert index.remove(gone) == 0
    _, found = index.search(np.ascontiguousarray(vectors[::3][:20]), 10)
    assert not np.isin(found, gone).any()
    keep = ~np.isin(ids, gone)
    _, want = oracle(ids[keep], vectors[keep]).search(vectors[:20], 10)
    np.testing.assert_array_equal(index.search(vectors[:20], 10)[1], want)


def test_allowed_ids(make_index: Factory) -> None:
    index, ids, vectors = filled(make_index)
    allowed = np.ascontiguousarray(ids[5::7])
    queries = clustered(10, seed=5)
    scores, found = index.search(queries, 6, allowed_ids=allowed)
    assert np.isin(found, allowed).all()
    mask = np.isin(ids, allowed)
    want_scores, want_ids = oracle(ids[mask], vectors[mask]).search(queries, 6)
    np.testing.assert_array_equal(found, want_ids)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-5)


def test_allowed_ids_fewer_than_k_and_unknown_ids(make_index: Factory) -> None:
    index, ids, vectors = filled(make_index)
    allowed = np.array([ids[3], ids[40], 999_999], dtype=np.int64)
    _, found = index.search(vectors[:1], 5, allowed_ids=allowed)
    assert sorted(found[0, :2].tolist()) == sorted([ids[3], ids[40]])
    assert (found[0, 2:] == PAD_ID).all()
    _, none = index.search(vectors[:1], 5, allowed_ids=np.empty(0, dtype=np.int64))
    assert (none == PAD_ID).all()


def test_save_load_round_trip(make_index: Factory, tmp_path: Path) -> None:
    index, _, _ = filled(make_index)
    path = tmp_path / "vectors.bin"
    index.save(path)
    loaded = type(index).load(path)
    assert len(loaded) == len(index) and loaded.dim == DIM
    queries = clustered(7, seed=6)
    np.testing.assert_array_equal(loaded.search(queries, 5)[1], index.search(queries, 5)[1])
    assert [p.name for p in tmp_path.iterdir()] == ["vectors.bin"], "no temporary file left"


def test_save_replaces_an_existing_file(make_index: Factory, tmp_path: Path) -> None:
    path = tmp_path / "vectors.bin"
    make_index(DIM).save(path)
    index, _, _ = filled(make_index, n=20)
    index.save(path)
    assert len(type(index).load(path)) == 20


def _bad_inputs() -> list[tuple[str, Callable[[VectorIndex], object], str]]:
    good = clustered(4, seed=7)
    ids = np.arange(4, dtype=np.int64)
    return [
        ("float64", lambda ix: ix.add(ids, good.astype(np.float64)), "float64[4, 16]"),
        ("wrong dim", lambda ix: ix.add(ids, good[:, :8].copy()), "float32[4, 8]"),
        ("1-D vectors", lambda ix: ix.add(ids, good[0]), "float32[16]"),
        ("not contiguous", lambda ix: ix.add(ids, np.asfortranarray(good)), "C-contiguous"),
        ("nan", lambda ix: ix.add(ids, np.full_like(good, np.nan)), "NaN"),
        ("int32 ids", lambda ix: ix.add(ids.astype(np.int32), good), "int32[4]"),
        ("ids length", lambda ix: ix.add(ids[:3].copy(), good), "int64[3]"),
        ("duplicate ids", lambda ix: ix.add(np.zeros(4, dtype=np.int64), good), "duplicates"),
        ("negative id", lambda ix: ix.add(ids - 1, good), "-1"),
        ("query dim", lambda ix: ix.search(good[:, :3].copy(), 2), "float32[4, 3]"),
        ("query dtype", lambda ix: ix.search(good.astype(np.float16), 2), "float16[4, 16]"),
        ("k = 0", lambda ix: ix.search(good, 0), "k must be"),
        ("allowed dtype", lambda ix: ix.search(good, 2, allowed_ids=ids.astype(float)), "float64"),
        ("remove dtype", lambda ix: ix.remove(ids.astype(np.uint8)), "uint8[4]"),
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [(c, m) for _, c, m in _bad_inputs()],
    ids=[name for name, _, _ in _bad_inputs()],
)
def test_bad_input_raises_value_error_naming_it(
    make_index: Factory, call: Callable[[VectorIndex], object], message: str
) -> None:
    index = make_index(DIM)
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        call(index)
    assert len(index) == 0


# -- FAISS specifics -------------------------------------------------------------------------


def test_ivf_stays_flat_until_it_has_enough_vectors_to_train() -> None:
    index = FaissIndex(DIM, "IVF4,Flat")  # trains at 39 * 4 = 156 vectors
    vectors = clustered(200, seed=8)
    index.add(np.arange(150, dtype=np.int64), vectors[:150])
    assert not index.is_trained
    index.add(np.arange(150, 200, dtype=np.int64), vectors[150:])
    assert index.is_trained and len(index) == 200


def test_ivf_with_few_probes_still_has_high_recall_on_clustered_data() -> None:
    vectors = clustered(2000, seed=9, clusters=16)
    ids = np.arange(2000, dtype=np.int64)
    index = FaissIndex(DIM, "IVF16,Flat", nprobe=4)
    index.add(ids, vectors)
    queries = clustered(50, seed=10, clusters=16)
    _, found = index.search(queries, 10)
    _, want = oracle(ids, vectors).search(queries, 10)
    recall = np.mean([len(set(f) & set(w)) / 10 for f, w in zip(found, want, strict=True)])
    assert recall >= 0.9


def test_ivf_keeps_nprobe_and_factory_through_save(tmp_path: Path) -> None:
    index = FaissIndex(DIM, "IVF4,Flat", nprobe=3)
    index.add(np.arange(160, dtype=np.int64), clustered(160, seed=11))
    index.save(tmp_path / "v.faiss")
    loaded = FaissIndex.load(tmp_path / "v.faiss")
    assert loaded.is_trained and loaded.nprobe == 3 and loaded.factory == "IVF4,Flat"
    with pytest.raises(ValueError, match="4 lists"):
        FaissIndex.load(tmp_path / "v.faiss", factory="IVF8,Flat")


def test_untrained_ivf_keeps_its_factory_through_save(tmp_path: Path) -> None:
    index = FaissIndex(DIM, "IVF4,Flat")
    index.add(np.arange(3, dtype=np.int64), clustered(3, seed=12))
    index.save(tmp_path / "v.faiss")
    loaded = FaissIndex.load(tmp_path / "v.faiss", factory="IVF4,Flat")
    assert not loaded.is_trained and loaded.factory == "IVF4,Flat" and len(loaded) == 3


@pytest.mark.parametrize("factory", ["HNSW32", "IVF0,Flat", "Flat,IVF", "PQ8"])
def test_unsupported_factory_is_rejected(factory: str) -> None:
    with pytest.raises(ValueError, match="factory"):
        FaissIndex(DIM, factory)


def test_mmap_load_searches_like_a_normal_load(tmp_path: Path) -> None:
    index, _, vectors = filled(IMPLEMENTATIONS["faiss-flat"])
    index.save(tmp_path / "v.faiss")
    mapped = FaissIndex.load(tmp_path / "v.faiss", mmap=True)
    np.testing.assert_array_equal(mapped.search(vectors[:4], 3)[1], index.search(vectors[:4], 3)[1])


def test_failed_save_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v.faiss"
    index, _, _ = filled(IMPLEMENTATIONS["faiss-flat"], n=30)
    index.save(path)
    before = path.read_bytes()

    def disk_full(_index: object, name: str) -> None:
        Path(name).write_bytes(b"partial")
        raise RuntimeError("fwrite failed: No space left on device")

    monkeypatch.setattr(faiss, "write_index", disk_full)
    index.add(np.array([5], dtype=np.int64), clustered(1, seed=13))
    with pytest.raises(StorageError, match="No space left"):
        index.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["v.faiss"]


def test_load_rejects_a_file_that_is_not_an_index(tmp_path: Path) -> None:
    (tmp_path / "junk.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(ValueError, match="junk.faiss"):
        FaissIndex.load(tmp_path / "junk.faiss")
