"""Reproduce the shipped encoder: `python -m docsearch.training {teacher,train,whiten,finetune}`.

python -m docsearch.training teacher --config configs/default.toml   # cache teacher vectors
python -m docsearch.training train --config configs/attempt-distill-only.toml --out STAGE1_DIR
python -m docsearch.training train --config configs/default.toml --out DIR   # starts from STAGE1
python -m docsearch.training train --config configs/attempt-claims.toml --out DIR3  # from DIR
python -m docsearch.training whiten --config configs/default.toml --model DIR3/model --out OUT
(`init_from` in each config names the model it starts from, under ~/.cache/docsearch/runs)
python -m docsearch.training finetune --pairs my_pairs.jsonl --out DIR
python -m docsearch.training query-tower --config configs/attempt-query-tower.toml --out DIR
python -m docsearch.training question-distill \
    --config configs/attempt-question-distill.toml --out DIR
"""

from __future__ import annotations

import logging
import random
import shutil
from pathlib import Path

import click
import numpy as np

from docsearch.training.train import TrainConfig

log = logging.getLogger("docsearch.training")

# The STS Benchmark *dev* split chooses the best checkpoint; the test split is only for measuring.
STS_DEV = "eval/stsb/sts-dev.jsonl"


def _expand(path: str) -> Path:
    return Path(path).expanduser()


@click.group()
def main() -> None:
    """Train the docsearch sentence encoder."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")


@main.command()
@click.option(
    "--config", "config_path", type=click.Path(exists=True, path_type=Path), required=True
)
@click.option("--device", default="cpu", show_default=True, help="Where the teacher runs.")
def teacher(config_path: Path, device: str) -> None:
    """Encode the distillation pool with the teacher (cached; resumes where it stopped)."""
    from docsearch.training.data import build_pool, load_sources
    from docsearch.training.teacher import cache_teacher_vectors

    config = TrainConfig.from_toml(config_path)
    texts, _ = load_sources(_expand(config.data_dir))
    seen: set[str] = set()
    for i, cache in enumerate(config.teacher_caches):
        # Each cache holds the pool of its stage, minus texts an earlier cache already holds.
        pool = [
            t
            for t in build_pool(texts, _pool_sizes(config, i), seed=config.seed + i)
            if t not in seen
        ]
        seen.update(pool)
        cache_teacher_vectors(pool, _expand(cache), device=device, show_progress=True)


def _pool_sizes(config: TrainConfig, stage: int) -> dict[str, int] | None:
    from docsearch.training.data import DEFAULT_POOL_SIZES, EXTRA_POOL_SIZES

    return DEFAULT_POOL_SIZES if stage == 0 else EXTRA_POOL_SIZES


@main.command()
@click.option(
    "--config", "config_path", type=click.Path(exists=True, path_type=Path), required=True
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
def train(config_path: Path, out_dir: Path) -> None:
    """Train the tokenizer and the encoder from cached teacher vectors; OUT/model is the result."""
    from docsearch.tokenizer import Tokenizer
    from docsearch.training.data import load_sources
    from docsearch.training.teacher import load_teacher_cache
    from docsearch.training.train import train as run

    config = TrainConfig.from_toml(config_path)
    sources, pairs = load_sources(_expand(config.data_dir))
    texts: list[str] = []
    vectors = []
    for cache in config.teacher_caches:
        t, v = load_teacher_cache(_expand(cache))
        texts += t
        vectors.append(v)
    teacher_vectors = np.concatenate(vectors)
    if config.max_teacher_texts:
        texts, teacher_vectors = (
            texts[: config.max_teacher_texts],
            teacher_vectors[: config.max_teacher_texts],
        )
    log.info("%d teacher vectors, %d pairs", len(texts), len(pairs))

    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer_path = out_dir / "tokenizer.model"
    init_from = _expand(config.init_from) if config.init_from else None
    if init_from is not None and not tokenizer_path.exists():
        shutil.copyfile(init_from / "tokenizer.model", tokenizer_path)
    if tokenizer_path.exists():
        tokenizer = Tokenizer.load(tokenizer_path)
    else:
        rng = random.Random(config.seed)
        corpus = (
            texts + [p.anchor for p in pairs] + [t for group in sources.values() for t in group]
        )
        corpus = list(dict.fromkeys(corpus))
        rng.shuffle(corpus)
        tokenizer = Tokenizer.train(corpus[: config.tokenizer_sentences], config.vocab_size)
        tokenizer.save(tokenizer_path)
    log.info("tokenizer: %d pieces, version %s", tokenizer.vocab_size, tokenizer.version)

    best = run(
        config,
        out_dir,
        texts,
        teacher_vectors,
        pairs,
        tokenizer=tokenizer,
        evaluate=_sts_dev_evaluator(_expand(config.data_dir).parent / STS_DEV, tokenizer),
        show_progress=True,
        init_from=init_from,
    )
    shutil.copytree(best, out_dir / "model", dirs_exist_ok=True)
    click.echo(str(out_dir / "model"))


def _sts_dev_evaluator(path: Path, tokenizer: object) -> object:
    if not path.exists():
        log.warning("no %s: keeping the last checkpoint instead of the best", path)
        return None
    from docsearch.training.evaluation import sts_model_evaluator

    return sts_model_evaluator(path, tokenizer)


@main.command()
@click.option(
    "--pairs",
    "pairs_path",
    type=click.Path(exists=True, path_type=Path),
    required=True,
    help='JSONL, one {"query": ..., "positive": ..., "negative": ...} a line (negative optional).',
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
@click.option(
    "--base",
    "base_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Model to start from (default: the shipped model).",
)
@click.option("--steps", default=300, show_default=True)
@click.option("--batch-size", default=64, show_default=True)
@click.option("--lr", default=3e-4, show_default=True)
def finetune(
    pairs_path: Path, out_dir: Path, base_dir: Path | None, steps: int, batch_size: int, lr: float
) -> None:
    """Fine-tune an encoder on your own (query, positive[, negative]) pairs."""
    from docsearch.training.finetune import finetune as run
    from docsearch.training.finetune import read_pairs

    rows = read_pairs(pairs_path)
    model_dir = run(rows, out_dir, base_dir=base_dir, steps=steps, batch_size=batch_size, lr=lr)
    click.echo(str(model_dir))


@main.command()
@click.option(
    "--config", "config_path", type=click.Path(exists=True, path_type=Path), required=True
)
@click.option("--model", "model_dir", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
@click.option("--texts", "n_texts", default=20_000, show_default=True)
@click.option(
    "--strength", type=float, default=None, help="0: centre only, 1: full (default: STRENGTH)."
)
def whiten(
    config_path: Path, model_dir: Path, out_dir: Path, n_texts: int, strength: float | None
) -> None:
    """Whiten a trained model (see docsearch/training/whitening.py) into OUT.

    The statistics come from N texts of the config's training pool (seeded).
    """
    from docsearch.model import load_model, save_model
    from docsearch.model_config import TOKENIZER_FILE
    from docsearch.tokenizer import Tokenizer
    from docsearch.training.data import build_pool, load_sources
    from docsearch.training.whitening import STRENGTH, fit_whitening, fold_whitening, projections

    config = TrainConfig.from_toml(config_path)
    sources, _ = load_sources(_expand(config.data_dir))
    pool = build_pool(sources, seed=config.seed)
    random.Random(config.seed).shuffle(pool)
    model = load_model(model_dir)
    tokenizer_bytes = (model_dir / TOKENIZER_FILE).read_bytes()
    vectors = projections(model, Tokenizer.load(model_dir / TOKENIZER_FILE), pool[:n_texts])
    fold_whitening(model, *fit_whitening(vectors, STRENGTH if strength is None else strength))
    save_model(model, tokenizer_bytes, out_dir)
    log.info("whitened on %d texts", len(vectors))
    click.echo(str(out_dir))


@main.command("query-tower")
@click.option(
    "--config", "config_path", type=click.Path(exists=True, path_type=Path), required=True
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
@click.option(
    "--cache",
    type=click.Path(path_type=Path),
    default=Path("~/.cache/docsearch/query-tower"),
    show_default=True,
    help="Where the base model's vectors of the answers are kept between runs.",
)
def query_tower(config_path: Path, out_dir: Path, cache: Path) -> None:
    """Train a query tower over the base model (see docsearch/training/query_tower.py);
    OUT/step-N is a whole model (the base for documents, the tower for queries) at each
    evaluation, OUT/log.jsonl the losses."""
    from docsearch.training.query_tower import TowerConfig, train_tower

    train_tower(TowerConfig.from_toml(config_path), out_dir, cache=cache.expanduser())
    click.echo(str(out_dir))


@main.command("question-distill")
@click.option(
    "--config", "config_path", type=click.Path(exists=True, path_type=Path), required=True
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
@click.option("--device", default="cpu", show_default=True, help="Where teacher and student run.")
def question_distill(config_path: Path, out_dir: Path, device: str) -> None:
    """Continue a whitened model on questions and answers with the whitened teacher's vectors
    as targets (see docsearch/training/question_distill.py); OUT is the whole model."""
    from docsearch.training.question_distill import QuestionDistillConfig, distil_questions

    distil_questions(QuestionDistillConfig.from_toml(config_path), out_dir, device=device)
    click.echo(str(out_dir))


if __name__ == "__main__":
    main()
