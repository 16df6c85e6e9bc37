"""The CUDA path against the CPU: the same vectors, the same training step, and the GPU's speed.

    python benchmarks/gpu_check.py              # on a machine with CUDA
    python benchmarks/gpu_check.py --cpu-only   # everything that runs without one (smoke test)

Prepared for a session that is lent a GPU (the `device` tool), where it is the first thing to
run: the CUDA path has never run. It needs torch, numpy and sentencepiece (all in the device
image) and this checkout; the ingest check also needs faiss-cpu, SQLAlchemy and pypdf, which the
image lacks: carry them as wheels (23.5 MB; the checkout is ~25 MB, the limit 64 MiB). Here,
once (tried: all three download from the local index):

    echo /.whl/ >> .git/info/exclude
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
        faiss-cpu==1.15.1 sqlalchemy==2.1.9 pypdf==7.1.1

Then one `run` with `carry: [".whl"]`, well inside 10 minutes (without the wheels the ingest
check reports itself skipped and the rest still runs):

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl &&
    PYTHONPATH=/tmp/site python3 benchmarks/gpu_check.py --out $OUT/gpu_check.json

1. **Vectors**: the shipped model encodes sample_docs' sentences (split as ingest splits them)
   on the CPU and on CUDA: the largest |difference| and the lowest cosine between the two.
2. **Ingest**: `DocSearch(device=...)` ingests sample_docs into a fresh index on each device;
   the same sentences, and the top hits of a few queries, must come back.
3. **A training step**: the same model, seed and batch (neighbouring sentences of sample_docs as
   pairs), one AdamW step of the pair loss on each device: both losses and the largest
   parameter difference after the step.
4. **Speed**: the encoder's sentences/s on each device, warm, at several batch sizes.

Writes benchmarks/results/gpu_check.json (or --out). `gpu_distill.py`'s docstring gives the one
call that runs this and then the distillation at scale in the same device time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

SAMPLE_DOCS = REPO / "sample_docs"
QUERIES = ["how does yeast make bread rise", "why do tides follow the moon", "write-ahead log"]


def sentences() -> list[str]:
    """Every sentence of sample_docs, split as ingest splits them."""
    from docsearch.documents import find_files, read_file
    from docsearch.splitting import split_document

    out: list[str] = []
    for path in find_files([SAMPLE_DOCS]).files:
        out += [s.text for s in split_document(read_file(Path(path).resolve()))]
    return out


def vectors_check(texts: list[str], devices: list[str]) -> dict[str, Any]:
    from docsearch.encoder import Encoder

    found = {d: Encoder.load(device=d).encode(texts) for d in devices}
    out: dict[str, Any] = {"sentences": len(texts)}
    if len(devices) == 2:
        cpu, gpu = found["cpu"], found["cuda"]
        out["max_abs_difference"] = float(np.abs(cpu - gpu).max())
        out["min_cosine"] = float((cpu * gpu).sum(axis=1).min())
    return out


def ingest_check(devices: list[str]) -> dict[str, Any]:
    try:
        import faiss  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError as exc:
        return {"skipped": f"needs faiss-cpu and SQLAlchemy: {exc}"}
    from docsearch import DocSearch

    out: dict[str, Any] = {}
    hits: dict[str, list[list[tuple[str, int | None]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for device in devices:
            ds = DocSearch(Path(tmp) / device, device=device)
            started = time.perf_counter()
            report = ds.ingest([SAMPLE_DOCS])
            seconds = time.perf_counter() - started
            out[device] = {
                "sentences": report.sentences,
                "seconds": round(seconds, 2),
                "sentences_per_s": round(report.sentences / seconds),
            }
            hits[device] = [
                [(Path(h.path).name, h.line) for h in ds.search(q, k=5, mode="dense")]
                for q in QUERIES
            ]
            ds.close()
    if len(devices) == 2:
        out["same_top_hits"] = hits["cpu"] == hits["cuda"]
        out["same_first_hits"] = [
            a[0] == b[0] for a, b in zip(hits["cpu"], hits["cuda"], strict=True)
        ]
    return out


def training_step_check(texts: list[str], devices: list[str]) -> dict[str, Any]:
    from docsearch.model import load_model
    from docsearch.model_config import shipped_model_dir
    from docsearch.tokenizer import Tokenizer
    from docsearch.training.losses import PairLoss
    from docsearch.training.train import pad_batch

    tokenizer = Tokenizer.load(shipped_model_dir() / "tokenizer.model")
    anchors, positives = texts[0:128:2], texts[1:129:2]
    ids, lengths = pad_batch(tokenizer.encode(anchors + positives), 64)
    out: dict[str, Any] = {"pairs": len(anchors)}
    after: dict[str, dict[str, torch.Tensor]] = {}
    for device in devices:
        torch.manual_seed(0)
        model = load_model(shipped_model_dir()).to(device).train()
        optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
        vectors = model(ids.to(device), lengths.to(device))
        loss = PairLoss()(vectors[: len(anchors)], vectors[len(anchors) :])
        loss.backward()
        optimiser.step()
        out[f"loss_{device}"] = float(loss.detach())
        after[device] = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if len(devices) == 2:
        out["max_parameter_difference"] = max(
            float((after["cpu"][k] - after["cuda"][k]).abs().max()) for k in after["cpu"]
        )
    return out


def speed_check(texts: list[str], devices: list[str]) -> dict[str, Any]:
    from docsearch.encoder import Encoder

    many = (texts * (20_000 // max(len(texts), 1) + 1))[:20_000]
    out: dict[str, Any] = {"sentences": len(many), "threads": torch.get_num_threads()}
    for device in devices:
        encoder = Encoder.load(device=device)
        sizes = [32, 128] if device == "cpu" else [256, 1024, 4096]
        for batch in sizes:
            encoder.encode(many[:2000], batch_size=batch)  # warm-up
            if device == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
            encoder.encode(many, batch_size=batch)
            if device == "cuda":
                torch.cuda.synchronize()
            out[f"{device}_batch_{batch}_sentences_per_s"] = round(
                len(many) / (time.perf_counter() - started)
            )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu-only", action="store_true", help="run the CPU half only")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/gpu_check.json")
    args = parser.parse_args()
    if not args.cpu_only and not torch.cuda.is_available():
        print("no CUDA device here; run with --cpu-only for the CPU half", file=sys.stderr)
        return 2
    devices = ["cpu"] if args.cpu_only else ["cpu", "cuda"]
    result: dict[str, Any] = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if "cuda" in devices else "cpu only",
    }
    texts = sentences()
    checks = {
        "vectors": lambda: vectors_check(texts, devices),
        "ingest": lambda: ingest_check(devices),
        "training_step": lambda: training_step_check(texts, devices),
        "speed": lambda: speed_check(texts, devices),
    }
    for name, check in checks.items():
        started = time.perf_counter()
        try:
            result[name] = check()
        except Exception:  # noqa: BLE001 - every check reports, whatever the others do
            result[name] = {"error": traceback.format_exc(limit=5)}
        result[name]["check_seconds"] = round(time.perf_counter() - started, 1)
        print(name, json.dumps(result[name]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
