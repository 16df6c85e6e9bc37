"""`tune` with a tiny model: training moves the student, the switch-over, reset, readers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from docsearch import DocSearch
from docsearch.errors import DocsearchError
from docsearch.model import load_model
from docsearch.model_config import fingerprint
from docsearch.tokenizer import Tokenizer
from docsearch.training.losses import DistillationLoss
from docsearch.training.train import pad_batch
from docsearch.tuning.pairs import Corpus, PairBatcher
from docsearch.tuning.trainer import Targets, TuneConfig, draw_negatives, train_until
from tests.conftest import SAMPLE_DOCS, TINY_CORPUS

FEW_STEPS = TuneConfig(max_steps=3, lr=1e-2, warmup_steps=1)
DOCS = [SAMPLE_DOCS / "science" / "volcanoes.txt", SAMPLE_DOCS / "science" / "bird_migration.html"]


@pytest.fixture
def tiny_index(tmp_path: Path, tiny_model_dir: Path) -> DocSearch:
    ds = DocSearch(tmp_path / "index", model=tiny_model_dir, device="cpu")
    assert ds.ingest(DOCS).ok
    return ds


def target_loss(model: torch.nn.Module, tokenizer: Tokenizer, targets: Targets) -> float:
    ids, lengths = pad_batch(tokenizer.encode(targets.texts), 24)
    with torch.no_grad():
        return float(DistillationLoss()(model(ids, lengths), torch.from_numpy(targets.vectors)))


def random_targets(copies: int, dim: int) -> tuple[Targets, Corpus]:
    """`copies` numbered copies of the tiny corpus with random unit targets, four per document."""
    texts = [f"{t} ({i})" for i, t in enumerate(TINY_CORPUS * copies)]
    vectors = np.random.default_rng(0).standard_normal((len(texts), dim)).astype(np.float32)
    targets = Targets(texts, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    return targets, Corpus(texts, np.arange(len(texts), dtype=np.int64) // 4)


@pytest.mark.parametrize("negatives", [0, 16])
def test_training_moves_the_student_toward_its_targets(
    tiny_model_dir: Path, negatives: int
) -> None:
    model = load_model(tiny_model_dir)
    tokenizer = Tokenizer.load(tiny_model_dir / "tokenizer.model")
    targets, corpus = random_targets(4, model.config.out_dim)
    before = target_loss(model, tokenizer, targets)
    config = TuneConfig(
        max_steps=60,
        lr=1e-2,
        # With negatives, a batch of half the 32 texts leaves the other half to draw them from.
        target_batch=16 if negatives else 32,
        pair_batch=8,
        pair_weight=0.1,
        target_negatives=negatives,
    )
    steps = train_until(
        model, tokenizer, PairBatcher(corpus), targets, 600.0, config, device=torch.device("cpu")
    )
    assert steps == 60
    assert target_loss(model, tokenizer, targets) < before - 0.1


@pytest.mark.parametrize("scale", [0.0, 4.0])
def test_the_token_embeddings_learn_at_their_own_rate(tiny_model_dir: Path, scale: float) -> None:
    model = load_model(tiny_model_dir)
    tokenizer = Tokenizer.load(tiny_model_dir / "tokenizer.model")
    targets, corpus = random_targets(2, model.config.out_dim)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    config = TuneConfig(max_steps=3, lr=1e-3, warmup_steps=1, target_batch=8, pair_batch=4)

    def moved(scale: float) -> dict[str, float]:
        trained = load_model(tiny_model_dir)
        config_here = TuneConfig(**{**config.__dict__, "embedding_lr_scale": scale})
        train_until(
            trained,
            tokenizer,
            PairBatcher(corpus),
            targets,
            600.0,
            config_here,
            device=torch.device("cpu"),
        )
        return {
            n: float((p.detach() - before[n]).abs().max()) for n, p in trained.named_parameters()
        }

    scaled, plain = moved(scale), moved(1.0)
    assert scaled["embed.weight"] == pytest.approx(scale * plain["embed.weight"], rel=0.05)
    for name in scaled.keys() - {"embed.weight"}:  # the rest learns as before
        assert scaled[name] == pytest.approx(plain[name], rel=0.05)


def test_extra_negatives_are_other_targets_than_the_batch_and_none_when_off() -> None:
    rng = np.random.default_rng(0)
    rows = np.array([0, 5, 9])
    drawn = draw_negatives(rng, 20, rows, 8)
    assert drawn is not None and len(drawn) == 8
    assert not set(drawn.tolist()) & {0, 5, 9}
    assert len(set(drawn.tolist())) == 8
    assert draw_negatives(rng, 20, rows, 0) is None
    assert draw_negatives(rng, 3, rows, 8) is None  # nothing but the batch to draw from


def test_tune_switches_the_index_to_an_adapted_model_kept_inside_it(
    tiny_index: DocSearch, tiny_model_dir: Path
) -> None:
    base = fingerprint(tiny_model_dir)
    report = tiny_index.tune(minutes=0.2, config=FEW_STEPS)
    assert report.steps == 3 and report.base_fingerprint == base
    status = tiny_index.status()
    assert status.adapted is True and status.adapted_from == base
    model_dir = Path(status.model_dir)
    assert model_dir.parent == tiny_index.path / "models"
    assert fingerprint(model_dir) == status.model_fingerprint == report.fingerprint != base
    # The index holds the adapted model's vectors: each sentence's new vector is stored.
    from docsearch.encoder import Encoder
    from indexer import Index

    with Index.open(tiny_index.path) as index:
        page = next(index.sentence_texts(batch=20))
        for model, expected in ((model_dir, 1.0), (tiny_model_dir, None)):
            vectors = Encoder.load(model, device="cpu").encode(page.texts)
            best = [hits[0][1] for hits in index.search_vectors(vectors, 1)]
            if expected is None:
                assert min(best) < 0.999  # the base model's vectors are gone
            else:
                assert best == pytest.approx([expected] * len(best), abs=1e-4)


def test_reset_goes_back_to_the_base_model_and_deletes_adapted_ones(
    tiny_index: DocSearch, tiny_model_dir: Path
) -> None:
    tiny_index.tune(minutes=0.2, config=FEW_STEPS)
    report = tiny_index.tune(reset=True)
    status = tiny_index.status()
    assert status.model_fingerprint == report.fingerprint == fingerprint(tiny_model_dir)
    assert status.adapted is False and status.adapted_from is None
    assert list((tiny_index.path / "models").iterdir()) == []
    assert tiny_index.search("volcano", mode="dense")


def test_tuning_twice_starts_from_the_base_and_keeps_one_model(
    tiny_index: DocSearch, tiny_model_dir: Path
) -> None:
    first = tiny_index.tune(minutes=0.2, config=FEW_STEPS)
    second = tiny_index.tune(minutes=0.2, config=TuneConfig(max_steps=4, lr=1e-2))
    assert first.base_fingerprint == second.base_fingerprint == fingerprint(tiny_model_dir)
    assert [p.name for p in (tiny_index.path / "models").iterdir()] == [second.fingerprint]


def test_a_library_user_opened_before_the_tune_follows_the_switch(
    tiny_index: DocSearch, tiny_model_dir: Path
) -> None:
    reader = DocSearch(tiny_index.path, model=tiny_model_dir, device="cpu")
    before = reader.search("magma", mode="dense")
    assert before
    report = tiny_index.tune(minutes=0.2, config=FEW_STEPS)
    after = reader.search("magma", mode="dense")
    assert after and reader.status().model_fingerprint == report.fingerprint
    # Writing after the switch adds the adapted model's vectors, never the old model's.
    assert reader.add_text("more.txt", "Lava cools into basalt on the sea floor.") > 0
    assert reader.search("basalt sea floor", mode="lexical")[0].path == "more.txt"
    tiny_index.tune(minutes=0.2, config=FEW_STEPS)
    assert reader.remove("more.txt") == 1  # a writer opened before the next switch, too


def test_tune_needs_some_text(tmp_path: Path, tiny_model_dir: Path) -> None:
    ds = DocSearch(tmp_path / "index", model=tiny_model_dir, device="cpu")
    ds.add_text("one.txt", "Just one short sentence here.")
    with pytest.raises(DocsearchError, match="ingest more documents"):
        ds.tune(minutes=0.2)


def test_a_budget_that_leaves_no_time_to_train_is_refused_with_a_suggestion(
    tiny_index: DocSearch,
) -> None:
    with pytest.raises(DocsearchError, match=r"give tune --minutes \d+ or more"):
        tiny_index.tune(minutes=0.001)
    assert tiny_index.status().adapted is False


def test_a_rebuilt_index_starts_again_with_the_base_model(
    tiny_index: DocSearch, tiny_model_dir: Path
) -> None:
    tiny_index.tune(minutes=0.2, config=FEW_STEPS)
    tiny_index.add_text("note.txt", "Basalt forms when lava cools quickly.")  # loads the adapted
    tiny_index.rebuild()
    assert tiny_index.ingest(DOCS).ok
    assert tiny_index.status().model_fingerprint == fingerprint(tiny_model_dir)
    assert tiny_index.search("magma", mode="dense")


def test_reset_re_encodes_an_index_built_by_another_base_model(
    tiny_index: DocSearch, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """After an upgrade ships a new model, `tune --reset` moves an index over without re-reading
    any file (uploads included)."""
    from docsearch.model import BiGRUEncoder, save_model
    from indexer import ModelMismatch

    torch.manual_seed(7)
    newer = tmp_path / "newer"
    save_model(
        BiGRUEncoder(load_model(tiny_model_dir).config),
        (tiny_model_dir / "tokenizer.model").read_bytes(),
        newer,
    )
    tiny_index.add_text("notes/upload.txt", "An uploaded note about volcanoes and lava.")
    upgraded = DocSearch(tiny_index.path, model=newer, device="cpu")
    with pytest.raises(ModelMismatch, match="tune --reset"):
        upgraded.search("volcano", mode="dense")
    upgraded.tune(reset=True)
    assert upgraded.status().model_fingerprint == fingerprint(newer)
    assert upgraded.search("uploaded note volcanoes", mode="dense")
    assert upgraded.status().documents == len(DOCS) + 1


def test_teacher_vectors_are_moved_into_the_base_space() -> None:
    from docsearch.tuning.run import in_base_space

    rng = np.random.default_rng(0)
    teacher = rng.standard_normal((500, 16)).astype(np.float32)
    teacher /= np.linalg.norm(teacher, axis=1, keepdims=True)
    # The base sees the same sentences through a whitening-like linear change of coordinates.
    transform = rng.standard_normal((16, 16)) @ np.diag(np.linspace(0.2, 3.0, 16))
    base = teacher @ transform
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    mapped = in_base_space(teacher, base.astype(np.float32), ridge=1e-9)
    cosines = np.sum(mapped * base, axis=1)
    # Undone up to the unit-norm step (not linear): nearly every target lands on its base vector.
    assert cosines.mean() > 0.99 and cosines.min() > 0.97
    assert np.allclose(np.linalg.norm(mapped, axis=1), 1.0, atol=1e-5)
    raw = np.sum(teacher * base, axis=1)
    assert raw.mean() < 0.9, "the raw teacher vectors were far from the base's"


def test_a_rotation_into_the_base_space_keeps_the_teachers_cosines() -> None:
    from docsearch.tuning.run import in_base_space

    rng = np.random.default_rng(1)
    teacher = rng.standard_normal((400, 16))
    teacher /= np.linalg.norm(teacher, axis=1, keepdims=True)
    rotation, _ = np.linalg.qr(rng.standard_normal((16, 16)))
    base = teacher @ rotation + 0.05 * rng.standard_normal((400, 16))
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    mapped = in_base_space(teacher.astype(np.float32), base.astype(np.float32), how="rotation")
    assert np.allclose(mapped @ mapped.T, teacher @ teacher.T, atol=1e-5)  # geometry kept
    assert np.sum(mapped * base, axis=1).mean() > 0.97  # and aligned with the base (noise 0.2)
    assert np.sum(teacher * base, axis=1).mean() < 0.5  # which the raw vectors were not
    with pytest.raises(ValueError, match="unknown teacher map"):
        in_base_space(teacher.astype(np.float32), base.astype(np.float32), how="sideways")


def test_whitening_the_teacher_first_evens_out_its_directions_and_keeps_unit_vectors() -> None:
    from docsearch.tuning.run import in_base_space

    rng = np.random.default_rng(2)
    scale = np.array([8.0, 4.0, 2.0] + [1.0] * 13)
    teacher = rng.standard_normal((600, 16)) * scale + 2.0  # a shared direction, uneven spread
    teacher /= np.linalg.norm(teacher, axis=1, keepdims=True)
    base = rng.standard_normal((600, 16))
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    args = (teacher.astype(np.float32), base.astype(np.float32))
    plain = in_base_space(*args, how="rotation")
    whitened = in_base_space(*args, how="rotation", whitening=1.0)
    np.testing.assert_allclose(np.linalg.norm(whitened, axis=1), 1.0, rtol=1e-5)

    def spread(v: np.ndarray) -> float:
        values = np.linalg.eigvalsh(np.cov(v.T))
        return float(values.max() / values.min())

    assert spread(whitened) < spread(plain) / 5
    # Too few vectors to fit a whitening (no more than 2 d): left as they are, not refused.
    few = in_base_space(args[0][:20], args[1][:20], how="rotation", whitening=1.0)
    np.testing.assert_allclose(few, in_base_space(args[0][:20], args[1][:20], how="rotation"))


def test_coverage_order_meets_every_word_before_repeating_known_ones() -> None:
    from docsearch.tuning.teacher import coverage_order

    texts = [
        "the cat sat on the mat",
        "the cat sat",  # nothing new once the first is in
        "enzymes catalyse reactions in living cells",
        "the mat",  # nothing new either
        "ribosomes translate messenger rna",
        "",
    ]
    order = [int(i) for i in coverage_order(texts, seed=0)]
    assert sorted(order) == list(range(len(texts)))  # a permutation
    assert set(order[:3]) == {0, 2, 4}  # the texts that bring words come first
    assert order[0] == 2  # the one that brings the most of them first of all
    assert order == [int(i) for i in coverage_order(texts, seed=0)]
    limited = [int(i) for i in coverage_order(texts, seed=0, limit=2)]
    assert sorted(limited) == list(range(len(texts)))  # a permutation even when capped


def test_teacher_vectors_take_a_coverage_order_and_refuse_an_unknown_one() -> None:
    from docsearch.tuning.teacher import teacher_vectors

    class Teacher:
        def encode(self, texts: list[str], **_: object) -> np.ndarray:
            return np.ones((len(texts), 384), np.float32)

    texts = ["alpha beta gamma", "alpha", "beta", "delta epsilon"]
    rows, vectors = teacher_vectors(Teacher(), texts, 60.0, order="coverage")
    assert sorted(rows.tolist()) == [0, 1, 2, 3] and vectors.shape == (4, 384)
    with pytest.raises(ValueError, match="order"):
        teacher_vectors(Teacher(), texts, 60.0, order="alphabetical")


def test_a_bf16_teacher_encodes_under_cpu_autocast_and_fp32_does_not() -> None:
    from docsearch.tuning.teacher import teacher_vectors

    class Teacher:
        device = "cpu"
        autocast: list[bool] = []

        def encode(self, texts: list[str], **_: object) -> np.ndarray:
            self.autocast.append(torch.is_autocast_enabled("cpu"))
            return np.ones((len(texts), 384), np.float32)

    teacher = Teacher()
    teacher_vectors(teacher, ["one text", "another"], 60.0, precision="bf16")
    teacher_vectors(teacher, ["one text", "another"], 60.0, precision="fp32")
    assert teacher.autocast == [True, False]
    with pytest.raises(ValueError, match="precision"):
        teacher_vectors(teacher, ["one text"], 60.0, precision="fp8")
