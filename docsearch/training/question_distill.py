"""Continue a whitened model on questions: the whitened teacher's vectors as targets, plus pairs.

The shipped model (bigru-minilm-v4) puts a question far from the sentence that answers it. This
continues it, the way `docsearch tune --teacher` adapts a model to a corpus, on text shaped like
what users ask and what answers them (`questions.py`, R data only):

- targets: the teacher's vectors of question and answer texts, **whitened** like the base (the
  shipped model's last layer evens out the directions all sentences share; the teacher's vectors
  do not, and distilling them raw pulled the student back to the unwhitened geometry: SciFact
  dense 0.505 -> 0.434 in 15 minutes) and then rotated into the base's coordinates
  (`docsearch.tuning.run.in_base_space(how="rotation")`);
- pairs: symmetric InfoNCE of a question against its answer, in-batch negatives;
- replay (optional): more texts (science sentences first) whose targets are the base's own
  vectors, so what the base knew is held in place while the rest moves, or
  (`replay_targets = "teacher"`) the teacher's, whitened and rotated with the rest, so that
  science text is taught too rather than held.

With `passage_words` > 0 (session 17) the answers are passages rather than sentences
(`questions.load_question_pairs`), the teacher's vectors of whole passages are the targets, the
answers it encodes are drawn by the same source mix as the pairs, and texts are trained and
encoded up to `max_tokens` tokens (written into the model's config). With `passage_pooling`
(session 18) a passage is instead the mean of its sentences' vectors (`pooling.py`), in
training and in the base's own vectors the teacher's are rotated onto, and the model's window
stays as it was. With `group_size` > 1, pairs of one kernel file share a batch (`QuestionPairs`).

The loop is `docsearch.tuning.trainer.train_until`, run for a fixed number of steps. Teacher
vectors are cached in shards under `teacher_cache` (an interrupted encoding resumes).

    python -m docsearch.training question-distill \
        --config configs/attempt-question-distill.toml --out DIR
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from docsearch.training.pooling import SentenceSplits, pooled_encode, pooled_forward
from docsearch.training.query_tower import TowerConfig
from docsearch.training.questions import QuestionPair, QuestionPairs, load_question_pairs
from docsearch.training.train import read_config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuestionDistillConfig:
    """Every hyper-parameter of a run (read from TOML, saved beside the model)."""

    data_dir: str = "../shared/data/train"
    teacher_cache: str = "~/.cache/docsearch/teacher/questions"
    base_model: str = ""  # a model directory; empty: the shipped default
    seed: int = 0  # which texts are drawn (and so which teacher vectors are cached)
    train_seed: int = -1  # the training loop's draws and initial state; -1: `seed`
    answers: int = 42_000  # answer sentences with teacher targets
    queries: int = 38_000  # queries with teacher targets
    replay: int = 0  # replayed texts (science sentences first)
    replay_targets: str = "base"  # their targets: the base's own vectors, or "teacher"'s
    teacher_whitening: float = 0.75  # as the shipped model's (training/whitening.py); 0: none
    steps: int = 1000
    lr: float = 1e-3
    pair_weight: float = 1.0
    embedding_lr_scale: float = 1.0  # the token embeddings' rate over `lr` (as in `TuneConfig`)
    passage_words: int = 0  # answers as passages of up to this many words; 0: sentences
    max_tokens: int = 64  # tokens per training text (and, for passages, the model's window)
    passage_pooling: bool = False  # every text the mean of its sentences' vectors
    group_size: int = 1  # pairs of one file drawn together into a batch (`QuestionPairs`)
    threads: int = 2
    # The query tower's source mix (session 7), question-shaped sources weighted up.
    mix: dict[str, float] = field(default_factory=lambda: dict(TowerConfig().mix))

    @classmethod
    def from_toml(cls, path: Path) -> QuestionDistillConfig:
        """Read a config file (see `read_config`)."""
        return cls(**read_config(cls, path))


def teacher_texts(pairs: list[QuestionPair], config: QuestionDistillConfig) -> list[str]:
    """The seeded sample of answers and queries the teacher encodes (distinct texts)."""
    rng = random.Random(config.seed)
    queries = [p.query for p in rng.sample(pairs, config.queries)]
    if config.passage_words > 0:
        drawn = mixed_answers(pairs, config.mix, config.answers, rng)
    else:
        answers = list(dict.fromkeys(a for p in pairs for a in p.answers))
        drawn = rng.sample(answers, config.answers)
    return list(dict.fromkeys(drawn + queries))


def mixed_answers(
    pairs: list[QuestionPair], mix: dict[str, float], n: int, rng: random.Random
) -> list[str]:
    """Up to n distinct answers drawn source by source with the mix's weights (a source whose
    answers run out stops being drawn), so that the targets are the texts the pairs train on."""
    by_source: dict[str, list[str]] = {}
    for p in pairs:
        if mix.get(p.source, 0) > 0:
            by_source.setdefault(p.source, []).extend(p.answers)
    for answers in by_source.values():
        rng.shuffle(answers)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n and by_source:
        sources = sorted(by_source)
        source = rng.choices(sources, [mix[s] for s in sources])[0]
        answer = by_source[source].pop()
        if not by_source[source]:
            del by_source[source]
        if answer not in seen:
            seen.add(answer)
            out.append(answer)
    return out


def replay_texts(pairs: list[QuestionPair], exclude: set[str], n: int, seed: int) -> list[str]:
    """n answer texts not in `exclude`: PubMedQA's and arXiv's first, then a seeded sample."""
    science = [a for p in pairs if p.source in ("pubmedqa", "arxiv") for a in p.answers]
    answers = list(dict.fromkeys(a for p in pairs for a in p.answers))
    rest = random.Random(seed + 1).sample(answers, min(len(answers), 2 * n))
    return [t for t in dict.fromkeys(science + rest) if t not in exclude][:n]


def distil_questions(config: QuestionDistillConfig, out_dir: Path, *, device: str = "cpu") -> None:
    """Train from the base model and write the result (a whole model) into `out_dir`."""
    from docsearch.encoder import Encoder
    from docsearch.model import save_model
    from docsearch.tuning.run import in_base_space
    from docsearch.tuning.trainer import Targets, TuneConfig, train_until

    if config.replay_targets not in ("base", "teacher"):
        raise ValueError(
            f"replay_targets must be 'base' or 'teacher', not {config.replay_targets!r}"
        )
    torch.set_num_threads(config.threads)
    base = Encoder.load(config.base_model or None, device=device)
    pairs = load_question_pairs(
        Path(config.data_dir).expanduser(), seed=config.seed, passage_words=config.passage_words
    )
    texts = teacher_texts(pairs, config)
    cache = Path(config.teacher_cache).expanduser()
    teacher = _teacher_of(texts, cache, device)
    splits = SentenceSplits()

    def encode(texts: list[str]) -> np.ndarray:
        if config.passage_pooling:
            return pooled_encode(base, texts, splits)
        return base.encode(texts, batch_size=128)

    own = encode(texts)
    replay = replay_texts(pairs, set(texts), config.replay, config.seed) if config.replay else []
    if replay and config.replay_targets == "teacher":
        replay_cache = cache.with_name(f"{cache.name}-replay-{config.seed}-{config.replay}")
        texts = texts + replay
        teacher = np.concatenate([teacher, _teacher_of(replay, replay_cache, device)])
        own = np.concatenate([own, encode(replay)])
        replay = []
    targets = in_base_space(
        teacher.astype(np.float32), own, how="rotation", whitening=config.teacher_whitening
    )
    log.info("mean cosine of the base to its targets: %.3f", float((own * targets).sum(1).mean()))
    if replay:
        texts = texts + replay
        targets = np.concatenate([targets, encode(replay)])
    model = base.model
    train_seed = config.seed if config.train_seed < 0 else config.train_seed
    tune = TuneConfig(
        lr=config.lr,
        pair_weight=config.pair_weight,
        seed=train_seed,
        max_steps=config.steps,
        embedding_lr_scale=config.embedding_lr_scale,
        max_tokens=config.max_tokens,
    )
    forward = None
    if config.passage_pooling:
        forward = functools.partial(
            pooled_forward,
            model,
            base.tokenizer,
            splits,
            max_tokens=config.max_tokens,
            device=base.device,
        )
    steps = train_until(
        model,
        base.tokenizer,
        QuestionPairs(pairs, config.mix, train_seed, config.group_size),
        Targets(texts, targets),
        float("inf"),
        tune,
        device=base.device,
        progress=None,
        forward=forward,
    )
    if config.passage_words > 0 and not config.passage_pooling:
        model.config = dataclasses.replace(model.config, max_tokens=config.max_tokens)
    save_model(model, base.tokenizer.to_bytes(), out_dir)
    (out_dir / "training.json").write_text(
        json.dumps({"config": asdict(config), "steps": steps}, indent=2) + "\n", encoding="utf-8"
    )
    log.info("trained %d steps; model in %s", steps, out_dir)


def _teacher_of(texts: list[str], cache: Path, device: str) -> np.ndarray:
    """The teacher's vectors of `texts`, encoded into (or read from) the sharded `cache`."""
    from docsearch.training.teacher import cache_teacher_vectors, load_teacher_cache

    cache_teacher_vectors(texts, cache, device=device, show_progress=True)
    cached, vectors = load_teacher_cache(cache)
    if cached != texts:
        raise ValueError(f"{cache} holds other texts; name another teacher_cache")
    return vectors
