"""Shared fixtures: an isolated home, fixed seeds, small encoders and a built index."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DOCS = REPO / "sample_docs"
SHARED_DATA = REPO.parent / "shared" / "data"

# A small corpus for the tokenizer of the tiny test encoder.
TINY_CORPUS = [
    "The Moon's gravity pulls the oceans toward it.",
    "Bread dough rises because yeast produces carbon dioxide.",
    "A vaccine trains the immune system to recognise a pathogen.",
    "Volcanoes erupt when magma reaches the surface of the Earth.",
    "SQLite keeps a write-ahead log so readers never block writers.",
    "Bees communicate the direction of flowers with a waggle dance.",
    "Photosynthesis turns light, water and carbon dioxide into sugar.",
    "The printing press made books cheap enough for ordinary people.",
]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own DOCSEARCH_HOME and no inherited index/model settings."""
    home = tmp_path / "home"
    monkeypatch.setenv("DOCSEARCH_HOME", str(home))
    for name in (
        "DOCSEARCH_INDEX",
        "DOCSEARCH_READ_INDEX",
        "DOCSEARCH_MODEL",
        "DOCSEARCH_DEVICE",
        "DOCSEARCH_THREADS",
    ):
        monkeypatch.delenv(name, raising=False)
    random.seed(0)
    np.random.seed(0)
    return home


@pytest.fixture(scope="session")
def sample_docs() -> Path:
    """The checked-in sample corpus."""
    return SAMPLE_DOCS


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved, seeded, untrained BiGRU (dim 16) with a tokenizer trained on TINY_CORPUS."""
    import torch

    from docsearch.model import BiGRUEncoder, EncoderConfig, save_model
    from docsearch.tokenizer import Tokenizer

    torch.manual_seed(0)
    tokenizer = Tokenizer.train(TINY_CORPUS * 20, vocab_size=120)
    config = EncoderConfig(
        vocab_size=tokenizer.vocab_size, embed_dim=12, hidden_dim=8, out_dim=16, max_tokens=24
    )
    directory = tmp_path_factory.mktemp("models") / "tiny"
    save_model(BiGRUEncoder(config), tokenizer.to_bytes(), directory)
    return directory


@pytest.fixture()
def tiny_encoder(tiny_model_dir: Path):  # type: ignore[no-untyped-def]
    """The tiny model, loaded on the CPU."""
    from docsearch.encoder import Encoder

    return Encoder.load(tiny_model_dir, device="cpu")


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sample_docs ingested once per session with the shipped model; copy it before mutating."""
    from docsearch import DocSearch

    root = tmp_path_factory.mktemp("built") / "index"
    report = DocSearch(root).ingest([SAMPLE_DOCS])
    assert report.added > 0
    return root


@pytest.fixture()
def index_copy(built_index: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the built index that a test may change."""
    target = tmp_path / "index"
    shutil.copytree(built_index, target)
    yield target


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real PostgreSQL server with pgvector, for the whole session (or a skip)."""
    from tests.postgres_server import start_server

    yield from start_server(tmp_path_factory.mktemp("postgres"))


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """The URL of an empty database of its own on the session's PostgreSQL server."""
    from tests.postgres_server import fresh_database

    yield from fresh_database(postgres_server)
