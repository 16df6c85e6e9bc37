"""A model with a query tower: queries through their own GRU, documents through the base's."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from docsearch.encoder import Encoder
from docsearch.model import load_model, save_model
from docsearch.query_encoder import QueryEncoder
from docsearch.tokenizer import Tokenizer
from docsearch.training.query_tower import (
    AnswerBank,
    Batches,
    TeacherRanking,
    TowerConfig,
    make_tower,
    ranking_loss,
    tower_loss,
    with_tower,
)
from docsearch.training.questions import QuestionPair, clean_heading, rst_sections, term_pairs


@pytest.fixture(scope="module")
def tower_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with a query tower whose GRU differs from the document side's."""
    base = load_model(tiny_model_dir)
    tower = make_tower(base)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in tower.gru.parameters():
            p.add_(0.3 * torch.randn_like(p))
    directory = tmp_path_factory.mktemp("models") / "tower"
    tokenizer = Tokenizer.load(tiny_model_dir / "tokenizer.model")
    save_model(with_tower(base, tower.eval()), tokenizer.to_bytes(), directory)
    return directory


TEXTS = ["how do tides work?", "", "bees " * 40, "Crème brûlée 😀"]


def test_queries_go_through_the_tower_and_documents_stay_as_they_were(
    tower_dir: Path, tiny_encoder: Encoder
) -> None:
    encoder = Encoder.load(tower_dir, device="cpu")
    assert encoder.model.config.query_tower
    np.testing.assert_allclose(encoder.encode(TEXTS), tiny_encoder.encode(TEXTS), atol=1e-6)
    queries = encoder.encode_queries(TEXTS)
    assert not np.allclose(queries, encoder.encode(TEXTS), atol=1e-3)
    np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 1.0, atol=1e-5)


def test_numpy_query_encoder_follows_the_tower(tower_dir: Path) -> None:
    numpy_vectors = QueryEncoder(tower_dir).encode_queries(TEXTS)
    torch_vectors = Encoder.load(tower_dir, device="cpu").encode_queries(TEXTS)
    np.testing.assert_allclose(numpy_vectors, torch_vectors, atol=1e-5)


def test_a_model_without_a_tower_encodes_queries_like_documents(tiny_encoder: Encoder) -> None:
    np.testing.assert_allclose(
        tiny_encoder.encode_queries(TEXTS), tiny_encoder.encode(TEXTS), atol=1e-6
    )


def test_search_scores_are_cosines_of_the_towers_query_vector(
    tower_dir: Path, tmp_path: Path
) -> None:
    from docsearch import DocSearch

    encoder = Encoder.load(tower_dir, device="cpu")
    sentences = ["The tide rises twice a day.", "Bees make honey in summer."]
    with DocSearch(tmp_path / "index", model=tower_dir, device="cpu") as ds:
        ds.add_text("tides.txt", " ".join(sentences))
        hits = ds.search("how do tides work?", k=2, mode="dense", per_document=2)
    assert hits and all(hit.text in sentences for hit in hits)
    query = encoder.encode_queries(["how do tides work?"])[0]
    pooled = encoder.encode(sentences).sum(axis=0)  # the document's one passage
    passage = float(query @ pooled) / float(np.linalg.norm(pooled))
    for hit in hits:
        cosine = float(query @ encoder.encode([hit.text])[0])
        assert hit.score == pytest.approx(0.5 * (cosine + passage), abs=1e-3)


def test_the_loss_prefers_queries_on_their_own_targets() -> None:
    torch.manual_seed(0)
    targets = torch.nn.functional.normalize(torch.randn(8, 16), dim=-1)
    bank = torch.nn.functional.normalize(torch.randn(32, 16), dim=-1)
    aligned = tower_loss(targets, targets, bank, 0.05)
    shuffled = tower_loss(targets[torch.randperm(8)], targets, bank, 0.05)
    assert float(aligned) < 0.1 < float(shuffled)


def test_the_ranking_loss_is_zero_only_where_the_student_ranks_as_the_teacher() -> None:
    torch.manual_seed(0)
    teacher = torch.nn.functional.normalize(torch.randn(4, 16), dim=-1)
    answers = torch.nn.functional.normalize(torch.randn(10, 16), dim=-1)
    same = ranking_loss(teacher, answers, teacher, answers, 0.05)
    assert float(same) == pytest.approx(0.0, abs=1e-6)
    other = ranking_loss(teacher.flip(0), answers, teacher, answers, 0.05)
    assert float(other) > 0.1
    # The student's answers live in another space: a rotation of both sides changes nothing.
    rotation, _ = torch.linalg.qr(torch.randn(16, 16))
    rotated = ranking_loss(teacher @ rotation, answers @ rotation, teacher, answers, 0.05)
    assert float(rotated) == pytest.approx(0.0, abs=1e-5)


def test_teacher_ranking_reads_the_cached_questions_and_answers(
    tiny_encoder: Encoder, tmp_path: Path
) -> None:
    from docsearch.training.teacher import SHARD_SIZE

    pairs = [QuestionPair(f"what is thing {i}?", (f"Thing {i} is a tool.",), "a") for i in range(6)]
    bank = AnswerBank(pairs, tiny_encoder, tmp_path)
    cached = ["Thing 4 is a tool.", "what is thing 1?", "Thing 2 is a tool.", "unrelated text"]
    teacher = np.eye(len(cached), 384, dtype=np.float16)
    (tmp_path / "teacher").mkdir()
    (tmp_path / "teacher" / "texts.jsonl").write_text("".join(f'"{t}"\n' for t in cached))
    np.save(tmp_path / "teacher" / "vectors-00000.npy", teacher)
    assert len(cached) < SHARD_SIZE
    ranking = TeacherRanking(tmp_path / "teacher", bank, {p.query for p in pairs}, seed=0)
    assert ranking.questions == ["what is thing 1?"]
    np.testing.assert_array_equal(ranking.teacher_questions.numpy(), teacher[[1]])
    np.testing.assert_array_equal(ranking.teacher_answers.numpy(), teacher[[0, 2]])
    np.testing.assert_array_equal(ranking.student_answers.numpy(), bank.vectors[[4, 2]])
    questions, vectors = ranking.sample(1)
    assert questions == ["what is thing 1?"] and vectors.shape == (1, 384)


def test_batches_mix_questions_and_identity_rows_without_repeats(
    tiny_encoder: Encoder, tmp_path: Path
) -> None:
    pairs = [
        QuestionPair(f"what is thing {i}?", (f"Thing {i} is a tool.", f"It has {i} parts."), "a")
        for i in range(40)
    ]
    bank = AnswerBank(pairs, tiny_encoder, tmp_path)
    assert bank.vectors.shape == (80, tiny_encoder.dim)
    config = TowerConfig(batch_size=16, identity_share=0.25, mix={"a": 1.0})
    batches = Batches(pairs, bank, config)
    texts, rows, identity_rows = batches.sample()
    assert len(texts) == 16 and len(set(rows.tolist())) == 16
    assert identity_rows.tolist() == [False] * 12 + [True] * 4
    questions, identity = texts[:12], texts[12:]
    assert all(t.startswith("what is thing") for t in questions)
    for text, row in zip(identity, rows[12:], strict=True):
        assert text == bank.texts[row], "an identity row's target is its own vector"
    for text, row in zip(questions, rows[:12], strict=True):
        number = text.split()[3].rstrip("?")
        assert number in bank.texts[row].split() or f"{number}." in bank.texts[row]
    np.testing.assert_array_equal(batches.targets(rows, identity_rows), bank.vectors[rows])
    cached = AnswerBank(pairs, tiny_encoder, tmp_path)  # read back, not encoded again
    np.testing.assert_array_equal(cached.vectors, bank.vectors)


def test_a_pooled_bank_targets_passages_and_keeps_sentences_for_identity_rows(
    tiny_encoder: Encoder, tmp_path: Path
) -> None:
    pairs = [
        QuestionPair(f"what is thing {i}?", (f"Thing {i} is a tool. It has {i} parts.",), "a")
        for i in range(40)
    ]
    bank = AnswerBank(pairs, tiny_encoder, tmp_path, pooled=True)
    first = bank.texts[0]
    halves = tiny_encoder.encode(["Thing 0 is a tool.", "It has 0 parts."])
    expected = halves.sum(axis=0) / np.linalg.norm(halves.sum(axis=0))
    np.testing.assert_allclose(bank.vectors[0], expected, atol=1e-5)
    assert first == "Thing 0 is a tool. It has 0 parts."
    assert len(bank.sentences) == 80 and "It has 7 parts." in bank.sentences
    config = TowerConfig(batch_size=16, identity_share=0.25, mix={"a": 1.0}, passage_words=200)
    batches = Batches(pairs, bank, config)
    texts, rows, identity_rows = batches.sample()
    targets = batches.targets(rows, identity_rows).numpy()
    for text, row, target in zip(texts[12:], rows[12:], targets[12:], strict=True):
        assert text == bank.sentences[row]
        np.testing.assert_allclose(target, tiny_encoder.encode([text])[0], atol=1e-5)
    np.testing.assert_array_equal(targets[:12], bank.vectors[rows[:12]])


def test_headings_lose_numbering_and_shouting() -> None:
    assert clean_heading("1.6 What is memory spread ?") == "What is memory spread ?"
    assert clean_heading("Q: Are tracepoints part of the stable ABI?") == (
        "Are tracepoints part of the stable ABI?"
    )
    assert clean_heading("4.  WHAT IF MY UPDATING THREAD CANNOT BLOCK?") == (
        "What if my updating thread cannot block?"
    )


def test_rst_sections_pair_each_heading_with_its_body() -> None:
    text = "Title\n=====\n\nIntro text.\n\nHow do I start?\n---------------\n\nRun it.\n"
    assert list(rst_sections(text)) == [
        ("Title", "\nIntro text.\n"),
        ("How do I start?", "\nRun it."),
    ]


def test_term_pairs_ask_about_the_term() -> None:
    pairs = term_pairs(
        iter([("tide", "The rise and fall of the sea. It comes twice a day."), ("x", "short")]),
        "wordnet",
        random.Random(0),
    )
    assert len(pairs) == 1, "a definition under four words is dropped"
    assert "tide" in pairs[0].query
    assert pairs[0].answers == ("The rise and fall of the sea.", "It comes twice a day.")


def test_the_document_side_drops_the_tower(tower_dir: Path, tiny_encoder: Encoder) -> None:
    model = load_model(tower_dir).document_side()
    assert not model.config.query_tower
    assert not any(name.startswith("query_") for name in model.state_dict())
    ids, lengths = torch.tensor([[5, 6, 7]]), torch.tensor([3])
    with torch.no_grad():
        np.testing.assert_allclose(
            model.encode_queries(ids, lengths), tiny_encoder.model(ids, lengths), atol=1e-6
        )
