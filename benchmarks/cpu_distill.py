"""gpu_distill.py's distillation on two CPU cores, spread over sessions (issue 13).

    python benchmarks/cpu_distill.py encode            # resumable; stop it any time (Ctrl-C)
    python benchmarks/cpu_distill.py progress          # how many texts have teacher vectors
    python benchmarks/cpu_distill.py train --minutes 45 [--recipe continue|scratch|self]
    python benchmarks/cpu_distill.py train --steps 8000 --recipe scratch   # resumable
    python benchmarks/cpu_distill.py train --steps 1580 --texts 794624 --widen 320  # session 24
    python benchmarks/cpu_distill.py train --steps 1580 --texts 794624 \
        --config configs/attempt-topic-batches.toml                             # session 24

Why: no session since 8 has been lent a GPU, and gpu_distill.py's "far more distillation" (the
teacher's vectors of ~1M R texts where v4 saw 362k) waits on one. On two cores the teacher
encodes ~150 short texts/s, so the same corpus takes a few hours: more than a session spends,
less than two. `encode` writes them as `training.teacher` shards (8,192 texts each, float16)
under ~/.cache/docsearch/distill/teacher; a shard is written whole or not at all, so a run cut
short (or killed to free the cores) resumes at the next shard.

Its input is `.gpu/corpus.json.xz` (`gpu_distill.py pack`, 3 minutes, from
../shared/data/train). The order is fixed once, in `texts.jsonl` beside the shards: the short
texts in a seeded shuffle, so that any prefix is a fair sample of every source, then the
86,585 answers of the question -> passage pairs (up to 200 words; a third over 40), which cost
the teacher up to ~10x a sentence each and which the sentence recipe leaves out (model card: the
teacher's sentence vectors, pooled as the engine pools them, already clear the dense bars).

`train` trains on the short texts encoded so far, with the corpus's sentence-level pairs, by
gpu_distill.py's own `student` (`configs/attempt-cpu-distill.toml`: v4's batch sizes, 64
tokens in training and v4's 128 when encoding, two threads), and writes
~/.cache/docsearch/runs/cpu-distill-RECIPE/{run.json,model,last} (`model`: the best STS-B
dev checkpoint; `last`: the end of the run).
`continue` (the default) continues the shipped model on the teacher's vectors whitened and
rotated into its space at a quarter of the rate; `scratch` trains a new one and whitens it;
`self`, a control, continues the shipped model on its own vectors (what continuing costs or
gains with nothing new from the teacher).
Measure what it makes through the engine's unit:

    python benchmarks/dense_units.py --hybrid --pooled \
        --model ~/.cache/docsearch/runs/cpu-distill-continue/model
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import random
import shutil
import sys
from pathlib import Path
from typing import Any

from gpu_distill import PACKED, REPO, phase_timer, read_corpus, student

CACHE = Path.home() / ".cache" / "docsearch" / "distill"
TEACHER = CACHE / "teacher"
CONFIG = REPO / "configs" / "attempt-cpu-distill.toml"
RUNS = Path.home() / ".cache" / "docsearch" / "runs"
SEED = 0


def ordered_texts(texts: list[str], pairs: list[Any]) -> tuple[list[str], int]:
    """The corpus's texts in encoding order, and how many come before the passages."""
    passages = {p.positive for p in pairs if p.source.startswith("passage_")}
    short = [t for t in texts if t not in passages]
    random.Random(SEED).shuffle(short)
    return short + [t for t in texts if t in passages], len(short)


def encode() -> None:
    from docsearch.training.teacher import cache_teacher_vectors

    corpus = PACKED / "corpus.json.xz"
    if not corpus.exists():
        sys.exit(f"{corpus} is missing: run `python benchmarks/gpu_distill.py pack` first")
    texts, short = ordered_texts(*read_corpus(corpus))
    print(f"{len(texts):,} texts, the first {short:,} short; shards in {TEACHER}", flush=True)
    cache_teacher_vectors(texts, TEACHER, show_progress=True)


def progress() -> None:
    from docsearch.training.teacher import SHARD_SIZE

    done = len(list(TEACHER.glob("vectors-?????.npy")))
    total = sum(1 for _ in (TEACHER / "texts.jsonl").open()) if TEACHER.exists() else 0
    print(f"{min(done * SHARD_SIZE, total):,} of {total:,} texts have teacher vectors")


def train(
    minutes: float,
    recipe: str,
    steps: int | None,
    first: int | None,
    wider: int | None,
    config_file: Path = CONFIG,
    seed: int | None = None,
) -> None:
    from docsearch.training.teacher import load_teacher_cache
    from docsearch.training.train import TrainConfig

    corpus, pairs = read_corpus(PACKED / "corpus.json.xz")
    _, short = ordered_texts(corpus, pairs)
    texts, vectors = load_teacher_cache(TEACHER)
    kept = min(short, first or short)
    texts, vectors = texts[:kept], vectors[:kept]
    pairs = [p for p in pairs if not p.source.startswith("passage_")]
    out = RUNS / (f"cpu-distill-{recipe}" + (f"-wide{wider}" if wider else ""))
    if config_file != CONFIG:  # another recipe's run keeps its own directory
        out = out.with_name(out.name + "-" + config_file.stem.removeprefix("attempt-"))
    if seed is not None:  # a replicate: its own directory too
        out = out.with_name(f"{out.name}-seed{seed}")
    if steps is None:  # a run of so many minutes starts afresh (train() would resume one)
        shutil.rmtree(out / "work", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"device": "cpu", "texts": len(texts), "pairs": len(pairs)}
    print(f"{len(texts):,} texts with teacher vectors, {len(pairs):,} pairs", flush=True)
    phase = phase_timer(out, report)
    config = TrainConfig.from_toml(config_file)
    if seed is not None:
        config = dataclasses.replace(config, seed=seed)
    init_dir = None
    if wider:
        if recipe == "scratch":
            sys.exit("--widen grows the shipped model: use it with --recipe continue or self")
        init_dir = widened_shipped_model(wider, out / "widened")
        config = dataclasses.replace(config, hidden_dim=wider)
        report["hidden_dim"] = wider
    work = out / "work"
    student(
        texts,
        vectors,
        pairs,
        config,
        work,
        out,
        minutes,
        recipe,
        "cpu",
        phase,
        report,
        steps,
        init_dir,
    )


def widened_shipped_model(hidden_dim: int, directory: Path) -> Path:
    """The shipped model grown to `hidden_dim` units a direction (`training.widen`), written
    to `directory`: it encodes as the shipped model, and the run trains the new units."""
    from docsearch.model import load_model, save_model
    from docsearch.model_config import shipped_model_dir
    from docsearch.training.widen import widen

    shipped = shipped_model_dir()
    tokenizer = (shipped / "tokenizer.model").read_bytes()
    save_model(widen(load_model(shipped), hidden_dim), tokenizer, directory)
    return directory


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("encode", help="teacher vectors, resumable shards")
    commands.add_parser("progress", help="how far encode has got")
    training = commands.add_parser("train", help="a student on the vectors so far")
    training.add_argument("--minutes", type=float, default=45.0, help="of training")
    training.add_argument(
        "--recipe",
        choices=("continue", "scratch", "self"),
        default="continue",
        help="self: continue on the shipped model's own vectors (a control: what continuing "
        "costs by itself)",
    )
    training.add_argument("--texts", type=int, default=None, help="only the first N texts")
    training.add_argument(
        "--steps",
        type=int,
        default=None,
        help="exactly this many steps instead of --minutes, resumable: stop it any time and "
        "run the same command again (a checkpoint every 250 steps)",
    )
    training.add_argument(
        "--widen",
        type=int,
        default=None,
        metavar="H",
        help="continue a copy of the shipped model grown to H hidden units a direction "
        "(training.widen: it starts out encoding exactly as the shipped one); its own run "
        "directory, cpu-distill-RECIPE-wideH",
    )
    training.add_argument(
        "--config",
        type=Path,
        default=CONFIG,
        help="a TrainConfig other than configs/attempt-cpu-distill.toml (its run directory gets "
        "the config's name: cpu-distill-RECIPE-NAME)",
    )
    training.add_argument("--seed", type=int, default=None, help="instead of the config's seed")
    args = parser.parse_args()
    if args.command == "train":
        train(args.minutes, args.recipe, args.steps, args.texts, args.widen, args.config, args.seed)
    else:
        {"encode": encode, "progress": progress}[args.command]()


if __name__ == "__main__":
    main()
