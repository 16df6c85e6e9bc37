"""The model shipped in the package: loads without pickle and separates meaning."""

from __future__ import annotations

import json

import numpy as np

from docsearch.encoder import Encoder
from docsearch.model_config import CONFIG_FILE, shipped_model_dir

PARAPHRASES = [
    ("A man is playing a guitar.", "Someone is strumming a guitar."),
    ("The cat sleeps on the sofa.", "A cat is napping on the couch."),
    ("How do I reset my password?", "Steps to change a forgotten password."),
]
UNRELATED = "Interest rates rose sharply after the central bank meeting."


def test_shipped_model_is_complete_and_small() -> None:
    directory = shipped_model_dir()
    config = json.loads((directory / CONFIG_FILE).read_text())
    assert config["out_dim"] == 384
    total = sum(f.stat().st_size for f in directory.iterdir())
    assert total < 30 * 1024 * 1024
    assert (directory / "README.md").is_file(), "the model card is missing"


def test_paraphrases_are_closer_than_unrelated_sentences() -> None:
    encoder = Encoder.load(device="cpu")
    for a, b in PARAPHRASES:
        va, vb, vu = encoder.encode([a, b, UNRELATED])
        assert float(va @ vb) > float(va @ vu) + 0.1, (a, b)


def test_vectors_are_unit_norm_float32() -> None:
    vectors = Encoder.load(device="cpu").encode([p for pair in PARAPHRASES for p in pair])
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
