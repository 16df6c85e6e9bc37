from __future__ import annotations

from pathlib import Path

from docsearch.tokenizer import PAD_ID, Tokenizer
from tests.conftest import TINY_CORPUS


def test_round_trip_save_load_gives_identical_ids(tmp_path: Path) -> None:
    tokenizer = Tokenizer.train(TINY_CORPUS * 20, vocab_size=100)
    tokenizer.save(tmp_path / "t.model")
    loaded = Tokenizer.load(tmp_path / "t.model")
    assert loaded.encode(TINY_CORPUS) == tokenizer.encode(TINY_CORPUS)
    assert loaded.version == tokenizer.version
    assert loaded.vocab_size == tokenizer.vocab_size


def test_training_is_deterministic() -> None:
    a = Tokenizer.train(TINY_CORPUS * 20, vocab_size=100)
    b = Tokenizer.train(TINY_CORPUS * 20, vocab_size=100)
    assert a.to_bytes() == b.to_bytes()


def test_padding_id_never_produced_and_unicode_survives() -> None:
    tokenizer = Tokenizer.train(TINY_CORPUS * 20, vocab_size=100)
    ids = tokenizer.encode(["Crème brûlée 😀 ünïcödé", ""])
    assert ids[1] == []
    assert ids[0] and PAD_ID not in ids[0]


def test_case_is_folded() -> None:
    tokenizer = Tokenizer.train(TINY_CORPUS * 20, vocab_size=100)
    assert tokenizer.encode(["THE MOON"]) == tokenizer.encode(["the moon"])


def test_token_spans_cover_words_and_match_token_count() -> None:
    tokenizer = Tokenizer.train(TINY_CORPUS * 20, vocab_size=100)
    text = "  Bees   communicate with a waggle-dance!"
    spans = tokenizer.token_spans(text)
    assert len(spans) == len(tokenizer.encode([text])[0])
    words = {text[a:b] for a, b in spans}
    assert words == {"Bees", "communicate", "with", "a", "waggle-dance!"}
