"""Passages pooled from their sentences' vectors (docsearch/training/pooling.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from docsearch.encoder import Encoder
from docsearch.model import load_model
from docsearch.tokenizer import Tokenizer
from docsearch.training.pooling import SentenceSplits, pooled_encode, pooled_forward
from docsearch.training.train import pad_batch
from docsearch.tuning.pairs import Corpus, PairBatcher
from docsearch.tuning.trainer import Targets, TuneConfig, train_until
from tests.conftest import TINY_CORPUS

CPU = torch.device("cpu")
PASSAGE = "Volcanoes erupt when magma rises. Birds migrate south in autumn."


def own_vectors(model: torch.nn.Module, tokenizer: Tokenizer, texts: list[str]) -> torch.Tensor:
    ids, lengths = pad_batch(tokenizer.encode(texts), 24)
    with torch.no_grad():
        return model(ids, lengths)  # type: ignore[no-any-return]


def test_a_text_splits_into_the_engines_sentences_once() -> None:
    splits = SentenceSplits()
    first, second = "Volcanoes erupt when magma rises.", "Birds migrate south in autumn."
    assert splits(PASSAGE) == [first, second]
    assert splits(PASSAGE) is splits(PASSAGE)
    assert splits("...") == ["..."]  # no sentence found: the text itself
    sentences, owner = splits.flatten(["One question?", PASSAGE])
    assert sentences == ["One question?", *splits(PASSAGE)]
    assert owner.tolist() == [0, 1, 1]


def test_a_passage_pools_its_sentences_and_a_sentence_stays_itself(tiny_model_dir: Path) -> None:
    model = load_model(tiny_model_dir).eval()
    tokenizer = Tokenizer.load(tiny_model_dir / "tokenizer.model")
    splits = SentenceSplits()
    pooled = pooled_forward(model, tokenizer, splits, ["One question?", PASSAGE], 24, CPU)
    question, first, second = own_vectors(model, tokenizer, ["One question?", *splits(PASSAGE)])
    expected = torch.nn.functional.normalize(first + second, dim=0)
    assert torch.allclose(pooled[0], question, atol=1e-5)
    assert torch.allclose(pooled[1], expected, atol=1e-5)
    assert not torch.allclose(pooled[1], first, atol=1e-3)
    pooled.sum().backward()  # every sentence's tokens get a gradient through the pool
    assert model.embed.weight.grad is not None and model.embed.weight.grad.abs().sum() > 0


def test_pooled_encode_gives_the_training_pool_without_gradients(tiny_model_dir: Path) -> None:
    encoder = Encoder.load(tiny_model_dir, device="cpu")
    splits = SentenceSplits()
    texts = ["One question?", PASSAGE]
    encoded = pooled_encode(encoder, texts, splits)
    with torch.no_grad():
        trained = pooled_forward(encoder.model, encoder.tokenizer, splits, texts, 24, CPU)
    np.testing.assert_allclose(encoded, trained.numpy(), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(encoded, axis=1), 1.0, atol=1e-5)


def test_training_runs_through_the_forward_it_is_given(tiny_model_dir: Path) -> None:
    model = load_model(tiny_model_dir)
    tokenizer = Tokenizer.load(tiny_model_dir / "tokenizer.model")
    splits = SentenceSplits()
    texts = [f"{a} {b}" for a, b in zip(TINY_CORPUS, TINY_CORPUS[1:], strict=False)]
    vectors = np.random.default_rng(0).standard_normal((len(texts), model.config.out_dim))
    targets = Targets(texts, (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype("f"))
    seen: list[list[str]] = []

    def forward(batch: list[str]) -> torch.Tensor:
        seen.append(batch)
        return pooled_forward(model, tokenizer, splits, batch, 24, CPU)

    def pooled_loss() -> float:
        with torch.no_grad():
            pooled = pooled_forward(model.eval(), tokenizer, splits, texts, 24, CPU)
        return float(1 - (pooled * torch.from_numpy(targets.vectors)).sum(1).mean())

    before = pooled_loss()
    config = TuneConfig(max_steps=40, lr=1e-2, warmup_steps=1, target_batch=8, pair_batch=4)
    corpus = Corpus(texts, np.arange(len(texts), dtype=np.int64) // 2)
    steps = train_until(
        model, tokenizer, PairBatcher(corpus), targets, 600.0, config, device=CPU, forward=forward
    )
    assert steps == len(seen) == 40
    # each step: its 8 target texts, then pairs (up to 4 anchors and their positives)
    assert all(len(batch) > 8 and set(batch[:8]) <= set(texts) for batch in seen)
    assert pooled_loss() < before - 0.05
