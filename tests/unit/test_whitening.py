"""Whitening gives unit covariance and folds exactly into the model's last linear layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from docsearch.model import load_model
from docsearch.query_encoder import QueryEncoder
from docsearch.tokenizer import Tokenizer
from docsearch.training.train import pad_batch
from docsearch.training.whitening import fit_whitening, fold_whitening, projections, whiten_unit
from tests.conftest import TINY_CORPUS

WORDS = " ".join(TINY_CORPUS).split()


def varied_texts(n: int = 300) -> list[str]:
    """n seeded word salads: enough distinct texts for a full-rank covariance in 16 dimensions."""
    rng = np.random.default_rng(1)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(3, 12)))) for _ in range(n)]


def test_whitened_sample_has_zero_mean_and_identity_covariance() -> None:
    rng = np.random.default_rng(0)
    # Strongly anisotropic: one direction 30x wider than another, and off-centre.
    data = rng.normal(size=(4000, 3)) @ np.array([[30.0, 0, 0], [2, 1, 0], [0, 0, 5]]) + 7.0
    mean, matrix = fit_whitening(data, strength=1.0)
    white = (data - mean) @ matrix
    assert np.allclose(white.mean(0), 0.0, atol=1e-9)
    assert np.allclose(np.cov(white.T), np.eye(3), atol=1e-6)


def test_partial_whitening_shrinks_the_spread_of_variances_by_the_strength() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(20000, 2)) * np.array([10.0, 1.0])  # variances 100 and 1
    for strength, ratio in ((0.0, 100.0), (0.5, 10.0), (0.75, 100**0.25)):
        mean, matrix = fit_whitening(data, strength)
        variances = np.sort(np.var((data - mean) @ matrix, axis=0))
        assert variances[1] / variances[0] == pytest.approx(ratio, rel=0.05)


def test_fitting_needs_more_samples_than_dimensions() -> None:
    with pytest.raises(ValueError, match="more samples"):
        fit_whitening(np.ones((5, 8)))


def test_folding_makes_the_model_output_the_whitened_projection(tiny_model_dir: Path) -> None:
    model = load_model(tiny_model_dir)
    tokenizer = Tokenizer.load(tiny_model_dir / "tokenizer.model")
    texts = varied_texts()
    before = projections(model, tokenizer, texts)
    mean, matrix = fit_whitening(before)
    fold_whitening(model, mean, matrix)
    after = projections(model, tokenizer, texts)
    assert np.allclose(after, (before - mean) @ matrix, atol=1e-4)
    # The normalised output is the unit vector of that, as for any model.
    ids, lengths = pad_batch(tokenizer.encode(texts[:1]), model.config.max_tokens)
    unit = model(ids, lengths).detach().numpy()[0]
    assert np.allclose(unit, after[0] / np.linalg.norm(after[0]), atol=1e-5)


def test_a_whitened_model_encodes_alike_in_torch_and_numpy(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from docsearch.encoder import Encoder
    from docsearch.model import save_model

    model = load_model(tiny_model_dir)
    tokenizer = Tokenizer.load(tiny_model_dir / "tokenizer.model")
    fold_whitening(model, *fit_whitening(projections(model, tokenizer, varied_texts())))
    save_model(model, tokenizer.to_bytes(), tmp_path / "white")
    torch_vectors = Encoder.load(tmp_path / "white", device="cpu").encode_queries(TINY_CORPUS[:4])
    numpy_vectors = QueryEncoder(tmp_path / "white").encode_queries(TINY_CORPUS[:4])
    assert np.allclose(torch_vectors, numpy_vectors, atol=1e-4)


def test_whitening_the_teacher_evens_out_its_directions() -> None:
    rng = np.random.default_rng(0)
    raw = rng.standard_normal((2000, 8)) * np.array([10, 5, 2, 1, 1, 1, 1, 1]) + 3.0
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    np.testing.assert_array_equal(whiten_unit(raw.astype(np.float32), 0.0), raw.astype(np.float32))
    full = whiten_unit(raw.astype(np.float32), 1.0)
    np.testing.assert_allclose(np.linalg.norm(full, axis=1), 1.0, rtol=1e-5)
    spread = np.linalg.eigvalsh(np.cov(full.T))
    before = np.linalg.eigvalsh(np.cov(raw.T))
    assert spread.max() / spread.min() < before.max() / before.min() / 10
    assert abs(full.mean(0)).max() < abs(raw.mean(0)).max()
