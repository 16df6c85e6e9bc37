"""How closely does a student reproduce the teacher's geometry on texts its run did not train on?

    python benchmarks/teacher_fit.py --model NAME=DIR [--model NAME=DIR ...] [--out FILE]

Session 24's question (issue 13): when a run leaves retrieval flat, did the student fail to fit
the teacher better, or fit it better without it showing in retrieval? Retrieval scores answer
only the second half. This measures the fit itself, in ways that do not depend on the
student's coordinates (a whitened, rotated student is as good as any other):

- `neighbours@10`: over N texts, each text's 10 nearest others by the student against its 10
  nearest by the teacher (all-MiniLM-L6-v2), the mean overlap (1.0 = the same neighbours);
- `cosine_pearson`: Pearson's r between the student's and the teacher's cosines of every pair
  of the N texts;
each against the teacher's vectors as they are (`teacher`, whose geometry retrieval would
inherit) and whitened at v4's 0.75, fitted on the sample (`teacher whitened 0.75`, what the
shipped model and its continuations are trained towards).

Two samples from `cpu_distill.py encode`'s cache (~/.cache/docsearch/distill/teacher), both
drawn with seed 0: `short`, N texts of the short texts at positions 794,624 onwards (session
22's runs and `--widen` runs trained on the first 794,624; run 28 and v4 may have seen some of
them), and `passages`, N of the question -> passage answers (up to 200 words), which no
distillation run here trained on. The student encodes as the engine does (`Encoder.encode`);
N = 5,000 takes about a minute per model on two cores. A reference row scores the whitened
teacher against the teacher: what a student that matched its whitened targets exactly would
score in the `teacher` columns.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from machine import RESULTS, machine_info

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cpu_distill import TEACHER, ordered_texts  # noqa: E402
from gpu_distill import PACKED, read_corpus  # noqa: E402

HELD_OUT_FROM = 794_624  # session 22's and session 24's runs trained on the texts before this


def samples(n: int) -> dict[str, tuple[list[str], np.ndarray]]:
    """The two held-out samples: texts and the teacher's float32 vectors."""
    from docsearch.training.teacher import load_teacher_cache

    _, short = ordered_texts(*read_corpus(PACKED / "corpus.json.xz"))
    texts, vectors = load_teacher_cache(TEACHER)
    ranges = {"short": range(HELD_OUT_FROM, short), "passages": range(short, len(texts))}
    rng = np.random.default_rng(0)
    drawn = {}
    for name, positions in ranges.items():
        picked = np.sort(rng.choice(np.asarray(positions), min(n, len(positions)), replace=False))
        drawn[name] = ([texts[i] for i in picked], vectors[picked].astype(np.float32))
    return drawn


def fit(student: np.ndarray, teacher: np.ndarray, k: int = 10) -> dict[str, float]:
    """neighbours@k and cosine_pearson of two sets of unit vectors of the same texts."""
    s, t = student @ student.T, teacher @ teacher.T
    np.fill_diagonal(s, -np.inf)
    np.fill_diagonal(t, -np.inf)
    top_s = np.argpartition(-s, k, axis=1)[:, :k]
    top_t = np.argpartition(-t, k, axis=1)[:, :k]
    overlap = [len(set(a) & set(b)) / k for a, b in zip(top_s, top_t, strict=True)]
    upper = np.triu_indices(len(s), 1)
    pearson = np.corrcoef(s[upper], t[upper])[0, 1]
    return {
        f"neighbours@{k}": round(float(np.mean(overlap)), 4),
        "cosine_pearson": round(float(pearson), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", action="append", required=True, metavar="NAME=DIR")
    parser.add_argument("--n", type=int, default=5000, help="texts per sample")
    parser.add_argument("--out", type=Path, default=RESULTS / "teacher_fit.json")
    args = parser.parse_args()

    from docsearch.encoder import Encoder
    from docsearch.training.whitening import fit_whitening, whitened_unit

    drawn = samples(args.n)
    report: dict[str, object] = {"machine": machine_info(), "n": args.n, "models": {}}
    models: dict[str, dict[str, object]] = report["models"]  # type: ignore[assignment]
    targets = {}  # sample -> {"teacher": vectors, "teacher whitened 0.75": vectors}
    for sample, (_, teacher) in drawn.items():
        mean, matrix = fit_whitening(teacher.astype(np.float64), 0.75)
        whitened = whitened_unit(teacher.astype(np.float64), mean, matrix).astype(np.float32)
        targets[sample] = {"teacher": teacher, "teacher whitened 0.75": whitened}
    models["teacher whitened 0.75"] = {
        sample: {"teacher": fit(t["teacher whitened 0.75"], t["teacher"])}
        for sample, t in targets.items()
    }
    print("teacher whitened 0.75", json.dumps(models["teacher whitened 0.75"]), flush=True)
    for spec in args.model:
        name, directory = spec.split("=", 1)
        encoder = Encoder.load(Path(directory).expanduser())
        scores = {}
        for sample, (texts, _) in drawn.items():
            vectors = encoder.encode(texts, batch_size=256)
            scores[sample] = {ref: fit(vectors, t) for ref, t in targets[sample].items()}
        models[name] = scores
        print(name, json.dumps(scores), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
