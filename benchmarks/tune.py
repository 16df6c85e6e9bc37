"""`docsearch tune` on SciFact (or another dev set): retrieval before and after adapting.

    python benchmarks/tune.py [--set scifact|cranfield|sqlite3-doc|git-doc|zsh-doc]
                              [--minutes 15] [--teacher] [--force]
                              [--teacher-map least_squares|rotation] [--teacher-whitening S]
                              [--teacher-share S] [--teacher-order random|coverage]
                              [--teacher-precision fp32|bf16|auto] [--target-negatives N]
                              [--lr LR] [--embedding-lr-scale S] [--seed N] [--label NAME]

The 5,183 SciFact abstracts are ingested with the shipped model (as in quality.py), the index is
copied, and `DocSearch.tune` adapts the encoder to the copy: it sees the abstracts only, never the
claims (the queries) or the qrels. Then the 300 test claims are queried: nDCG@10 in dense,
lexical and hybrid mode, before and after, plus STS-B test Spearman of the base and adapted
models (does tuning on one corpus wreck the model elsewhere?) and the wall time of `tune`.

With a Debian FAQ set (session 20) the index `debian_faq.py` left in the bench cache is copied
and tuned, and its FAQ questions are scored by MRR@10 (`dense_dev.py`'s sets).

Needs ../shared/data/eval; `--teacher` needs `pip install -e ".[teacher]"`.
Appends to benchmarks/results/tune.json (one entry per run, keyed by label).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from machine import machine_info
from quality import CACHE, EVAL, RESULTS, load_beir, write_corpus_files

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from docsearch.training.evaluation import read_sts, sts_spearman  # noqa: E402

FAQ_SETS = ("sqlite3-doc", "git-doc", "zsh-doc")


def set_scores(ds, queries, qrels, metric: str = "ndcg10") -> dict[str, float]:  # type: ignore[no-untyped-def]
    """nDCG@10 (or MRR@10) of the set's test queries in each mode, through the engine."""
    import dense_units

    qids = [q for q in queries if q in qrels]
    scores = {}
    for mode in ("dense", "lexical", "hybrid"):
        hits = ds.search_many(
            [queries[q] for q in qids], k=10, mode=mode, context=0, per_document=1
        )
        rankings = {q: [Path(h.path).stem for h in row] for q, row in zip(qids, hits, strict=True)}
        values = [dense_units.score(metric, rankings[q], qrels[q]) for q in qids]
        scores[mode] = round(sum(values) / len(values), 4)
    return scores


def base_index(corpus, name: str = "scifact") -> Path:  # type: ignore[no-untyped-def]
    """The set's documents ingested with the shipped model (built once, then reused)."""
    from docsearch import DocSearch
    from docsearch.model_config import fingerprint, shipped_model_dir

    suffix = "" if name == "scifact" else f"_{name}"
    root = CACHE / f"tune_base{suffix}_{fingerprint(shipped_model_dir())}"
    if not (root / "manifest.json").exists():
        shutil.rmtree(root, ignore_errors=True)
        DocSearch(root, device="cpu").ingest([write_corpus_files(corpus, name)])
    return root


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--set", dest="name", choices=("scifact", "cranfield", *FAQ_SETS), default="scifact"
    )
    parser.add_argument("--minutes", type=float, default=15.0, help="tune's time budget")
    parser.add_argument("--teacher", action="store_true", help="tune --teacher")
    parser.add_argument(
        "--teacher-map",
        default=None,
        choices=["least_squares", "rotation"],
        help="how teacher vectors enter the base's space (default: WITH_TEACHER's)",
    )
    parser.add_argument(
        "--teacher-whitening",
        type=float,
        default=None,
        help="whiten the teacher's vectors this far first (default: WITH_TEACHER's)",
    )
    parser.add_argument(
        "--teacher-share",
        type=float,
        default=None,
        help="share of the budget the teacher may spend encoding (default: the config's)",
    )
    parser.add_argument(
        "--teacher-order",
        default=None,
        choices=["random", "coverage"],
        help="which sentences the teacher encodes first (default: the config's)",
    )
    parser.add_argument(
        "--teacher-precision",
        default=None,
        choices=["fp32", "bf16", "auto"],
        help="the teacher's arithmetic on the CPU (default: the config's)",
    )
    parser.add_argument(
        "--target-negatives",
        type=int,
        default=None,
        help="other targets drawn as extra negatives each step (default: the config's)",
    )
    parser.add_argument(
        "--lr", type=float, default=None, help="peak learning rate (default: the config's)"
    )
    parser.add_argument(
        "--embedding-lr-scale",
        type=float,
        default=None,
        help="the token embeddings' rate over --lr (default: the config's)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="tune's seed (default: the config's; for the noise)"
    )
    parser.add_argument("--label", default=None, help="name of this run in the results")
    parser.add_argument(
        "--force", action="store_true", help="switch even when validation says no (to measure)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "tune.json")
    args = parser.parse_args()
    if not EVAL.exists():
        sys.exit(f"no evaluation data at {EVAL}")
    from docsearch import DocSearch
    from docsearch.encoder import Encoder

    metric = "ndcg10"
    if args.name in FAQ_SETS:
        import dense_dev

        metric, base_root, queries, qrels = dense_dev.dev_sets()[args.name]
    else:
        corpus, queries, qrels = load_beir(args.name)
        base_root = base_index(corpus, args.name)
    sts = read_sts(EVAL / "stsb" / "sts-test.jsonl")
    work = CACHE / "tune_work"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base_root, work)

    ds = DocSearch(work, device="cpu")
    before = set_scores(ds, queries, qrels, metric)
    base_sts = sts_spearman(ds.encoder.encode, *sts)
    started = time.perf_counter()
    config = None
    changes = {
        key: value
        for key, value in (
            ("teacher_map", args.teacher_map),
            ("teacher_whitening", args.teacher_whitening),
            ("lr", args.lr),
            ("teacher_share", args.teacher_share),
            ("seed", args.seed),
            ("teacher_order", args.teacher_order),
            ("teacher_precision", args.teacher_precision),
            ("target_negatives", args.target_negatives),
            ("embedding_lr_scale", args.embedding_lr_scale),
        )
        if value is not None
    }
    if changes:
        import dataclasses

        from docsearch.tuning.trainer import SELF_SUPERVISED, WITH_TEACHER

        default = WITH_TEACHER if args.teacher else SELF_SUPERVISED
        config = dataclasses.replace(default, **changes)
    report = ds.tune(args.minutes, teacher=args.teacher, force=args.force, config=config)
    wall = time.perf_counter() - started
    after = set_scores(ds, queries, qrels, metric)
    adapted = Encoder.load(ds.model_dir(), device="cpu")
    prefix = "" if args.name == "scifact" else f"{args.name}-"
    label = args.label or f"{prefix}{'teacher' if args.teacher else 'self'}-{args.minutes:g}min"
    result = {
        "label": label,
        "set": args.name,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "minutes": args.minutes,
        "teacher": args.teacher,
        "config_changes": changes,
        "tune_wall_seconds": round(wall, 1),
        "report": report.to_dict(),
        f"{args.name}_before": before,
        f"{args.name}_after": after,
        "stsb_test_before": round(base_sts, 4),
        "stsb_test_after": round(sts_spearman(adapted.encode, *sts), 4),
        "machine": machine_info(),
    }
    runs = json.loads(args.out.read_text()) if args.out.exists() else {}
    runs[label] = result
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(runs, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))


if __name__ == "__main__":
    main()
