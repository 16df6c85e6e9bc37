"""Did a passage-distillation run learn question -> passage on its own kind of data?

    python benchmarks/passage_fit.py --model DIR [--model DIR ...] [--pairs 1000]

Runs 22 and 23 (model card) trained v4 on question -> passage pairs of the R training data and
scored worse than v4 on the dev sets' passages. This tells apart the two readings: the run
learnt passages of its training distribution but the gain does not carry to documentation
folders, or it did not learn them at all (on these pairs, at this scale). From the pairs of
`configs/attempt-passage-distill.toml` (`load_question_pairs(passage_words=200)`, seed 0, the
same source mix), it draws `--pairs` pairs whose question and passage were among the run's
teacher texts (**seen**) and as many whose question and passage were not (**held out** of the
targets; the runs' pair sampler draws from every pair, so a few were training pairs), and
ranks each question's passage among the passages of its group by cosine: MRR@10, for v4, each
model given and all-MiniLM-L6-v2 (the teacher; its vectors of whole passages), with each
student's passage encoded whole (at its own window: v4's 128 tokens, run 22's 256) and
pooled from its sentences (`training.pooling`); `by_source`: the held-out MRR@10 of each
source's questions (still ranked among all the group's passages).
Writes benchmarks/results/passage_fit.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from machine import RESULTS, machine_info

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONFIG = REPO / "configs" / "attempt-passage-distill.toml"


def draw(pairs, mix: dict[str, float], taught: set[str], n: int, seed: int):  # type: ignore[no-untyped-def]
    """n (question, passage) of the mixed sources, seen (both taught) and held out (neither)."""
    rng = random.Random(seed)
    usable = [p for p in pairs if mix.get(p.source, 0) > 0]
    rng.shuffle(usable)
    seen: list[tuple[str, str, str]] = []
    held: list[tuple[str, str, str]] = []
    passages: set[str] = set()
    for p in usable:
        answer = p.answers[0]
        if answer in passages or p.query == answer:
            continue
        inside = p.query in taught and answer in taught
        outside = p.query not in taught and answer not in taught
        group = seen if inside else held if outside else None
        if group is not None and len(group) < n:
            group.append((p.query, answer, p.source))
            passages.add(answer)
        if len(seen) == n and len(held) == n:
            break
    return seen, held


def reciprocal_ranks(questions: np.ndarray, passages: np.ndarray, k: int = 10) -> np.ndarray:
    """Question i's answer is passage i: 1 / its rank, 0 below the k-th."""
    scores = questions @ passages.T
    rank = (scores > scores[np.arange(len(scores)), np.arange(len(scores))][:, None]).sum(1)
    return np.where(rank < k, 1.0 / (rank + 1), 0.0)


def by_source(ranks: np.ndarray, group: list[tuple[str, str, str]]) -> dict[str, float]:
    sources = np.array([s for _, _, s in group])
    return {str(s): round(float(ranks[sources == s].mean()), 3) for s in sorted(set(sources))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, action="append", default=[])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=RESULTS / "passage_fit.json")
    args = parser.parse_args()
    import dense_dev

    from docsearch.encoder import Encoder
    from docsearch.training.pooling import SentenceSplits, pooled_encode
    from docsearch.training.question_distill import QuestionDistillConfig, teacher_texts
    from docsearch.training.questions import load_question_pairs

    config = QuestionDistillConfig.from_toml(CONFIG)
    data = (REPO / config.data_dir).resolve()
    pairs = load_question_pairs(data, seed=config.seed, passage_words=config.passage_words)
    taught = set(teacher_texts(pairs, config))
    seen, held = draw(pairs, config.mix, taught, args.pairs, 0)
    groups = {"seen": seen, "held_out": held}
    result: dict[str, object] = {"machine": machine_info(), "pairs": args.pairs}
    teacher = dense_dev.TeacherEncoder()
    ranks = {
        name: reciprocal_ranks(
            teacher.encode([q for q, _, _ in g]), teacher.encode([p for _, p, _ in g])
        )
        for name, g in groups.items()
    }
    result["teacher"] = {name: round(float(r.mean()), 4) for name, r in ranks.items()}
    result["teacher"]["by_source"] = by_source(ranks["held_out"], groups["held_out"])
    result["held_out_sources"] = dict(Counter(s for _, _, s in groups["held_out"]).most_common())
    print("teacher", result["teacher"], flush=True)
    splits = SentenceSplits()  # the passages' sentences, cut once for every model
    for model in [None, *args.model]:
        encoder = Encoder.load(model, device="cpu")  # each with its own window
        row: dict[str, object] = {}
        for name, g in groups.items():
            questions = encoder.encode_queries([q for q, _, _ in g])
            texts = [p for _, p, _ in g]
            whole = reciprocal_ranks(questions, encoder.encode(texts))
            pooled = reciprocal_ranks(questions, pooled_encode(encoder, texts, splits))
            row[f"{name}_whole"] = round(float(whole.mean()), 4)
            row[f"{name}_pooled"] = round(float(pooled.mean()), 4)
            if name == "held_out":
                row["by_source_whole"] = by_source(whole, g)
                row["by_source_pooled"] = by_source(pooled, g)
        result[encoder.name if model is None else str(model)] = row
        print(encoder.name if model is None else model, row, flush=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
