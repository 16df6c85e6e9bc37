from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from docsearch.training.data import Pair, batches, build_pool, sentences_of, snli_hard_triples
from docsearch.training.evaluation import ndcg_at_k, spearman
from docsearch.training.train import PairSampler, TrainConfig, pad_batch


def test_sentences_of_cuts_and_filters_by_length() -> None:
    text = (
        "Short one. This sentence has enough words to count.\n\nAnother paragraph starts here now."
    )
    assert sentences_of(text) == [
        "This sentence has enough words to count.",
        "Another paragraph starts here now.",
    ]


def test_build_pool_is_seeded_deduplicated_and_capped() -> None:
    texts = {"science": ["a", "b", "c", "a"], "books": ["d", "e", "f", "g"]}
    pool = build_pool(texts, {"science": 10, "books": 2}, seed=1)
    assert pool == build_pool(texts, {"science": 10, "books": 2}, seed=1)
    assert sorted(pool[:3]) == ["a", "b", "c"]
    assert len(pool) == 5 and len(set(pool)) == 5


def test_batches_cover_each_index_once() -> None:
    seen = np.concatenate(list(batches(10, 3, np.random.default_rng(0))))
    assert len(seen) == 9 and len(set(seen.tolist())) == 9


def test_pad_batch_pads_cuts_and_keeps_empty_rows_valid() -> None:
    ids, lengths = pad_batch([[5, 6, 7, 8], [9], []], max_tokens=3)
    assert ids.tolist() == [[5, 6, 7], [9, 0, 0], [0, 0, 0]]
    assert lengths.tolist() == [3, 1, 1]


def test_pair_sampler_respects_the_mix_and_unique_anchors() -> None:
    pairs = [Pair(f"q{i}", f"p{i}", "a") for i in range(50)] + [Pair("x", "y", "b")]
    sampler = PairSampler(pairs, {"a": 1.0, "b": 0.0}, seed=0)
    batch = sampler.sample(20)
    assert all(p.source == "a" for p in batch)
    assert len({p.anchor for p in batch}) == 20


def test_opt_in_pair_source_is_drawn_only_when_named_and_leaves_other_draws_unchanged() -> None:
    pairs = [Pair(f"q{i}", f"p{i}", "pubmedqa") for i in range(50)]
    pairs += [Pair(f"s{i}", f"t{i}", "snli") for i in range(50)]
    claims = [Pair(f"c{i}", f"e{i}", "pubmedqa_claim") for i in range(50)]
    before = PairSampler(pairs, {}, seed=3).sample(30)
    assert PairSampler(pairs + claims, {}, seed=3).sample(30) == before
    named = PairSampler(pairs + claims, {"pubmedqa_claim": 1.0}, seed=3).sample(30)
    assert any(p.source == "pubmedqa_claim" for p in named)


def test_train_config_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("steps = 10\nstepz = 3\n")
    with pytest.raises(ValueError, match="stepz"):
        TrainConfig.from_toml(path)


def test_default_config_parses() -> None:
    config = TrainConfig.from_toml(Path(__file__).resolve().parents[2] / "configs" / "default.toml")
    assert config.out_dim == 384 and config.steps > 0


def test_spearman_and_ndcg_hand_checked() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 2], [1, 1, 2]) == pytest.approx(1.0)
    assert ndcg_at_k(["a", "b"], {"a": 1}) == pytest.approx(1.0)
    assert ndcg_at_k(["b", "a"], {"a": 1}) == pytest.approx(1 / np.log2(3))
    assert ndcg_at_k(["c"], {"a": 1}) == 0.0


def test_finetune_reads_pairs_and_moves_the_model(tmp_path: Path, tiny_model_dir: Path) -> None:
    from docsearch.encoder import Encoder
    from docsearch.training.finetune import finetune, read_pairs

    path = tmp_path / "pairs.jsonl"
    rows = [
        {
            "query": "why do tides happen",
            "positive": "The Moon's gravity pulls the oceans toward it.",
        },
        {
            "query": "how does bread rise",
            "positive": "Bread dough rises because yeast produces gas.",
            "negative": "Volcanoes erupt when magma reaches the surface.",
        },
        {"query": "what do vaccines do", "positive": "A vaccine trains the immune system."},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    triples = read_pairs(path)
    assert triples[1].negative is not None
    before = Encoder.load(tiny_model_dir, device="cpu")
    out = finetune(
        triples, tmp_path / "tuned", base_dir=tiny_model_dir, steps=40, batch_size=3, lr=1e-2
    )
    after = Encoder.load(out, device="cpu")

    def margin(encoder: Encoder) -> float:
        q = encoder.encode([r["query"] for r in rows])
        p = encoder.encode([r["positive"] for r in rows])
        sims = q @ p.T
        return float(np.mean(np.diag(sims)) - np.mean(sims[~np.eye(3, dtype=bool)]))

    assert margin(after) > margin(before)


@pytest.mark.slow
def test_short_training_run_lowers_the_loss(tmp_path: Path) -> None:
    from docsearch.tokenizer import Tokenizer
    from docsearch.training.train import train
    from tests.conftest import TINY_CORPUS

    torch.manual_seed(0)
    texts = [f"{s} ({i})" for i, s in enumerate(TINY_CORPUS * 16)]
    teacher = np.random.default_rng(0).normal(size=(len(texts), 16)).astype(np.float32)
    teacher /= np.linalg.norm(teacher, axis=1, keepdims=True)
    tokenizer = Tokenizer.train(texts, vocab_size=120)
    config = TrainConfig(
        embed_dim=16,
        hidden_dim=16,
        out_dim=16,
        batch_size=32,
        steps=60,
        warmup_steps=5,
        eval_every=1000,
        checkpoint_every=1000,
        threads=1,
        pair_weight=0.0,
    )
    train(config, tmp_path, texts, teacher, [], tokenizer=tokenizer)
    losses = [
        json.loads(line)["loss"] for line in (tmp_path / "log.jsonl").read_text().splitlines()
    ]
    assert (tmp_path / "best" / "weights.npz").exists()
    first = DistillationLossProbe.initial(config, tokenizer, texts, teacher)
    assert losses[-1] < first


class DistillationLossProbe:
    """The loss of a freshly initialised model on the whole pool (what training must beat)."""

    @staticmethod
    def initial(config: TrainConfig, tokenizer, texts, teacher) -> float:  # type: ignore[no-untyped-def]
        from docsearch.model import BiGRUEncoder
        from docsearch.training.losses import DistillationLoss

        torch.manual_seed(config.seed)
        model = BiGRUEncoder(config.encoder_config(tokenizer.vocab_size)).eval()
        ids, lengths = pad_batch(tokenizer.encode(texts[: config.batch_size]), 64)
        with torch.no_grad():
            return float(
                DistillationLoss()(
                    model(ids, lengths), torch.from_numpy(teacher[: config.batch_size])
                )
            )


def test_a_run_can_start_from_a_model(tmp_path: Path, tiny_model_dir: Path) -> None:
    from docsearch.model import load_model
    from docsearch.tokenizer import Tokenizer
    from docsearch.training.train import train

    start = load_model(tiny_model_dir)
    tokenizer = Tokenizer.load(tiny_model_dir / "tokenizer.model")
    c = start.config
    config = TrainConfig(
        embed_dim=c.embed_dim,
        hidden_dim=c.hidden_dim,
        num_layers=c.num_layers,
        out_dim=c.out_dim,
        pooling=c.pooling,
        max_tokens=c.max_tokens,
        seed=1,  # the start model was made under seed 0: a fresh model would differ
        batch_size=4,
        steps=1,
        peak_lr=0.0,  # the one step leaves the weights as they started
        eval_every=1000,
        checkpoint_every=1000,
        threads=1,
        pair_weight=0.0,
    )
    texts = ["a first text", "a second one", "three", "four words in here"]
    teacher = np.eye(4, c.out_dim, dtype=np.float32)
    out = train(
        config, tmp_path / "run", texts, teacher, [], tokenizer=tokenizer, init_from=tiny_model_dir
    )
    started = load_model(out)
    for name, tensor in start.state_dict().items():
        assert torch.equal(started.state_dict()[name], tensor), name


def test_snli_hard_triples_pair_an_entailment_with_a_contradiction_of_the_same_premise() -> None:
    by_premise = {
        "A dog runs.": {"entailment": "An animal moves.", "contradiction": "A cat sleeps."},
        "A man sings.": {"entailment": "Someone sings.", "neutral": "A man sings well."},
    }
    assert snli_hard_triples(by_premise) == [
        Pair("A dog runs.", "An animal moves.", "snli_hard", negative="A cat sleeps.")
    ]


def test_hard_negative_source_is_opt_in_and_its_texts_stay_unique_in_a_batch() -> None:
    pairs = [Pair(f"q{i}", f"p{i}", "pubmedqa") for i in range(50)]
    hard = [Pair(f"h{i}", f"e{i}", "snli_hard", negative=f"c{i % 5}") for i in range(50)]
    assert PairSampler(pairs + hard, {}, seed=1).sample(30) == PairSampler(pairs, {}, 1).sample(30)
    batch = PairSampler(pairs + hard, {"snli_hard": 1.0, "pubmedqa": 0.0}, seed=1).sample(5)
    assert sorted(p.negative for p in batch) == [f"c{i}" for i in range(5)]


def test_hard_negatives_join_the_candidates_of_the_pair_loss(tiny_model_dir: Path) -> None:
    from docsearch.model import load_model
    from docsearch.tokenizer import Tokenizer
    from docsearch.training.losses import PairLoss
    from docsearch.training.train import _pair_batch_loss

    model = load_model(tiny_model_dir).eval()
    tokenizer = Tokenizer.load(tiny_model_dir / "tokenizer.model")
    plain = [Pair("the cat sat", "a cat was sitting", "snli"), Pair("rain fell", "it rained", "x")]
    hard = [plain[0], Pair("rain fell", "it rained", "x", negative="the sun shone")]
    with torch.no_grad():
        without = _pair_batch_loss(model, plain, tokenizer, TrainConfig(), PairLoss())
        with_negative = _pair_batch_loss(model, hard, tokenizer, TrainConfig(), PairLoss())
    # One more candidate in the anchor -> candidates direction can only raise InfoNCE.
    assert float(with_negative) > float(without)


def test_topic_batches_are_runs_of_one_topic_covering_every_text_once() -> None:
    from docsearch.training.data import topic_batches

    topics = np.repeat(np.arange(6), 40)  # 6 topics of 40 texts
    np.random.default_rng(3).shuffle(topics)
    drawn = list(topic_batches(topics, batch_size=40, per_topic=10, rng=np.random.default_rng(0)))
    assert len(drawn) == 6 and all(len(b) == 40 for b in drawn)
    assert sorted(np.concatenate(drawn).tolist()) == list(range(240))
    for batch in drawn:
        for run in batch.reshape(4, 10):
            assert len(set(topics[run].tolist())) == 1
