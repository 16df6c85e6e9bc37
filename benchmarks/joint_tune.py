"""Can one BiGRU hold the teacher's fit on several corpora at once? (session 21, a diagnostic)

    python benchmarks/joint_tune.py --sets sqlite3-doc [git-doc zsh-doc ...]
                                    [--minutes-per-set 10] [--first N] [--seed 0] [--label NAME]

`docsearch tune --teacher` on one FAQ index lifts that index's dense MRR@10 most of the way to
the teacher, and the tuned model then falls on every other dev set (session 20). Two readings:
the 5M-parameter student has room for one corpus's share of the teacher's geometry at a time
(capacity), or tuning on one corpus forgets what it does not see (data). This script tells them
apart: it runs tune's training loop (`docsearch.tuning.trainer.train_until`, `WITH_TEACHER`)
from the shipped model on the *union* of the named dev indexes' sentences, with the teacher's
vectors of all of them (read from the cache `dense_dev.py --teacher` filled; nothing is
encoded by the teacher here) moved into the base's space as tune moves them, for
`--minutes-per-set` times the number of sets: every corpus gets the steps a run on it alone
would get. A run with one set is the control. `--first N` gives targets only to each set's
first N sentences in the order tune's teacher encodes them (`coverage_order`), as a 15-minute
tune does (~16,000), the pairs still drawing on every sentence. The model is saved under
`~/.cache/docsearch/runs/joint-<label>/`; score it through the engine's unit with

    python benchmarks/dense_units.py --hybrid --pooled --model ~/.cache/docsearch/runs/joint-<label>

Not a shippable recipe: it trains on dev sets' documents (never on their questions). Appends the
run's facts to benchmarks/results/joint_tune.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from machine import RESULTS, machine_info

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import dense_dev  # noqa: E402

RUNS = Path.home() / ".cache" / "docsearch" / "runs"


def cached_teacher(texts: list[str]) -> np.ndarray:
    """The teacher's unit vectors of `texts` as `dense_dev.TeacherEncoder` cached them."""
    path = dense_dev.teacher_cache(texts)
    if not path.exists():
        sys.exit(f"no teacher vectors cached at {path}: run dense_dev.py --teacher first")
    vectors = np.load(path).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    return vectors


def union(names: list[str], first: int | None = None):  # type: ignore[no-untyped-def]
    """The named sets' sentences as one corpus (document ids kept apart), and the rows of it
    that get the teacher's vectors with those vectors: all, or each set's `first` sentences in
    the order tune's teacher encodes them (`coverage_order`)."""
    from docsearch.tuning.pairs import Corpus
    from docsearch.tuning.teacher import coverage_order

    sets = dense_dev.built_dev_sets()
    texts: list[str] = []
    documents: list[np.ndarray] = []
    teacher: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    offset = 0
    for name in names:
        folder = sets[name][1]
        these = dense_dev.sentence_texts(folder)
        ids = dense_dev.sentence_documents(folder)
        chosen = np.arange(len(these)) if first is None else coverage_order(these)[:first]
        rows.append(chosen + len(texts))
        teacher.append(cached_teacher(these)[chosen])
        texts.extend(these)
        documents.append(ids + offset)
        offset += int(ids.max()) + 1
        print(f"{name}: {len(these):,} sentences, {len(chosen):,} with targets", flush=True)
    corpus = Corpus(texts, np.concatenate(documents))
    return corpus, np.concatenate(rows), np.concatenate(teacher)


def held_in(corpus, rows: np.ndarray, teacher: np.ndarray):  # type: ignore[no-untyped-def]
    """What tune trains on: `corpus` without the documents `validation.split` holds out, and
    the targets of the sentences kept (renumbered)."""
    from docsearch.tuning.validation import held_out, split

    keep = ~held_out(corpus.document_ids)
    new_row = np.cumsum(keep) - 1
    kept, _ = split(corpus)
    targeted = keep[rows]
    return kept, new_row[rows[targeted]], teacher[targeted]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sets", nargs="+", required=True, choices=list(dense_dev.dev_sets()))
    parser.add_argument("--minutes-per-set", type=float, default=10.0)
    parser.add_argument(
        "--first",
        type=int,
        default=None,
        help="targets for each set's first N sentences in tune's coverage order (default: all)",
    )
    parser.add_argument(
        "--hold-out",
        action="store_true",
        help="train on what tune trains on: every tenth document left out (validation.split)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", default=None, help="name of the run (default: the sets)")
    parser.add_argument("--out", type=Path, default=RESULTS / "joint_tune.json")
    args = parser.parse_args()
    import dataclasses

    import torch

    from docsearch.encoder import Encoder
    from docsearch.model import save_model
    from docsearch.tuning.pairs import PairBatcher
    from docsearch.tuning.run import in_base_space
    from docsearch.tuning.trainer import WITH_TEACHER, Targets, train_until

    torch.set_num_threads(2)
    label = args.label or "+".join(args.sets)
    config = dataclasses.replace(WITH_TEACHER, seed=args.seed)
    corpus, rows, teacher = union(args.sets, args.first)
    if args.hold_out:
        corpus, rows, teacher = held_in(corpus, rows, teacher)
    targeted = [corpus.texts[i] for i in rows]
    base = Encoder.load(None, device="cpu")
    started = time.perf_counter()
    moved = in_base_space(
        teacher,
        base.encode(targeted, batch_size=128),
        how=config.teacher_map,
        whitening=config.teacher_whitening,
    )
    mapping_seconds = time.perf_counter() - started
    model = base.model.document_side()
    seconds = 60.0 * args.minutes_per_set * len(args.sets)
    print(f"training on {len(corpus.texts):,} sentences for {seconds:.0f} s", flush=True)
    started = time.perf_counter()
    steps = train_until(
        model,
        base.tokenizer,
        PairBatcher(corpus, seed=config.seed),
        Targets(targeted, moved),
        seconds,
        config,
        device=torch.device("cpu"),
    )
    training_seconds = time.perf_counter() - started
    directory = RUNS / f"joint-{label}"
    save_model(model, base.tokenizer.to_bytes(), directory)
    result = {
        "label": label,
        "sets": args.sets,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "sentences": len(corpus.texts),
        "with_targets": len(targeted),
        "hold_out": args.hold_out,
        "seed": args.seed,
        "steps": steps,
        "mapping_seconds": round(mapping_seconds, 1),
        "training_seconds": round(training_seconds, 1),
        "model": str(directory),
        "machine": machine_info(),
    }
    runs = json.loads(args.out.read_text()) if args.out.exists() else {}
    runs[label] = result
    args.out.write_text(json.dumps(runs, indent=2) + "\n")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
