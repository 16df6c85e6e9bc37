"""The parts of question distillation (docsearch/training/question_distill.py) that need no data."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from docsearch.training.question_distill import (
    QuestionDistillConfig,
    QuestionPairs,
    mixed_answers,
    replay_texts,
    teacher_texts,
)
from docsearch.training.questions import QuestionPair, answer_of


def pairs(n: int = 40) -> list[QuestionPair]:
    out = [
        QuestionPair(f"what is thing {i}?", (f"Thing {i} is a tool.", f"It has {i} parts."), "a")
        for i in range(n)
    ]
    out += [QuestionPair(f"paper {i}", (f"We study topic {i}.",), "arxiv") for i in range(n)]
    return out


def test_pair_batches_hold_distinct_texts_from_the_sources_mixed_in() -> None:
    answers_of = {p.query: p.answers for p in pairs()}
    batcher = QuestionPairs(pairs(), {"a": 1.0, "arxiv": 0.0}, seed=0)
    questions, answers = batcher.sample(16)
    assert len(questions) == len(answers) == 16
    assert len(set(questions + answers)) == 32
    assert all(q.startswith("what is thing") for q in questions)
    assert all(a in answers_of[q] for q, a in zip(questions, answers, strict=True))


def test_teacher_texts_are_a_seeded_distinct_sample_of_queries_and_answers() -> None:
    config = QuestionDistillConfig(answers=20, queries=10, seed=3)
    first, second = teacher_texts(pairs(), config), teacher_texts(pairs(), config)
    assert first == second
    assert len(first) == len(set(first)) <= 30
    assert sum(t.startswith(("what is", "paper")) for t in first) == 10
    assert teacher_texts(pairs(), QuestionDistillConfig(answers=20, queries=10, seed=4)) != first


def test_a_training_seed_leaves_the_drawn_texts_and_their_teacher_cache_alone() -> None:
    drawn = teacher_texts(pairs(), QuestionDistillConfig(answers=20, queries=10, seed=3))
    reseeded = QuestionDistillConfig(answers=20, queries=10, seed=3, train_seed=1)
    assert teacher_texts(pairs(), reseeded) == drawn


def test_replay_puts_science_first_and_skips_the_teacher_texts() -> None:
    excluded = {"We study topic 0."}
    replay = replay_texts(pairs(), excluded, 10, seed=0)
    assert len(replay) == 10
    assert "We study topic 0." not in replay
    assert all(t.startswith("We study topic") for t in replay)


def test_config_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("steps = 3\nstepz = 4\n")
    with pytest.raises(ValueError, match="stepz"):
        QuestionDistillConfig.from_toml(path)
    path.write_text("steps = 3\n[mix]\narxiv = 2.0\n")
    config = QuestionDistillConfig.from_toml(path)
    assert (config.steps, config.mix) == (3, {"arxiv": 2.0})


def test_unknown_replay_targets_are_refused_before_any_work(tmp_path: Path) -> None:
    from docsearch.training.question_distill import distil_questions

    config = QuestionDistillConfig(replay=10, replay_targets="neighbours", data_dir="/nonexistent")
    with pytest.raises(ValueError, match="replay_targets"):
        distil_questions(config, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_passage_answer_joins_sentences_while_they_fit_in_its_words() -> None:
    sentences = ["one two three.", "four five six.", "seven eight nine ten.", "eleven."]
    assert answer_of(sentences, 2, 0) == ("one two three.", "four five six.")
    assert answer_of(sentences, 2, 6) == ("one two three. four five six.",)
    assert answer_of(sentences, 2, 10) == ("one two three. four five six. seven eight nine ten.",)
    assert answer_of(["a very long first sentence."], 1, 2) == ("a very long first sentence.",)
    assert answer_of([], 2, 200) == ()


def test_passage_answers_are_drawn_by_the_mix_until_a_source_runs_out() -> None:
    drawn = mixed_answers(pairs(), {"a": 1.0, "arxiv": 3.0}, 50, random.Random(0))
    assert len(drawn) == len(set(drawn)) == 50
    science = [t for t in drawn if t.startswith("We study")]
    assert 30 <= len(science) <= 40  # ~3/4 while both last; arXiv's 40 answers cap it
    everything = mixed_answers(pairs(), {"a": 1.0, "arxiv": 0.0}, 1000, random.Random(0))
    assert len(everything) == 80 and not any(t.startswith("We study") for t in everything)


def test_passage_distillation_draws_its_teacher_texts_by_the_mix() -> None:
    config = QuestionDistillConfig(answers=20, queries=10, seed=3, passage_words=200, mix={"a": 1})
    texts = teacher_texts(pairs(), config)
    assert texts == teacher_texts(pairs(), config)
    answers = [t for t in texts if not t.startswith(("what is", "paper"))]
    assert len(answers) == 20 and not any(t.startswith("We study") for t in answers)


def test_pairs_of_one_file_come_into_a_batch_together() -> None:
    grouped = [
        QuestionPair(f"section {f}.{i}", (f"Body of section {f}.{i}.",), "kernel", f"file{f}")
        for f in range(10)
        for i in range(6)
    ]
    plain = QuestionPairs(grouped, {"kernel": 1.0}, seed=0)
    together = QuestionPairs(grouped, {"kernel": 1.0}, seed=0, group_size=4)

    def largest_file_share(batcher: QuestionPairs) -> int:
        questions, answers = batcher.sample(8)
        assert len(set(questions + answers)) == 16
        files = [q.split()[1].split(".")[0] for q in questions]
        return max(files.count(f) for f in files)

    assert largest_file_share(together) >= 4
    assert min(largest_file_share(plain) for _ in range(3)) < 4  # 8 draws over 10 files


def test_one_pair_a_draw_keeps_the_draws_of_earlier_recipes() -> None:
    grouped = [QuestionPair(p.query, p.answers, p.source, "one file") for p in pairs()]
    drawn = QuestionPairs(pairs(), {"a": 1.0, "arxiv": 1.0}, seed=5).sample(12)
    assert QuestionPairs(grouped, {"a": 1.0, "arxiv": 1.0}, seed=5).sample(12) == drawn
