"""The teacher's throughput by precision: can `tune --teacher` and distillation get more vectors?

    python benchmarks/teacher_speed.py [--sentences 1000] [--rounds 3] [--threads 2]

The teacher (all-MiniLM-L6-v2) is the slow part of `docsearch tune --teacher` (it may spend a
fifth of the budget encoding, ~100 sentences/s on two cores) and of every distillation run. This
times it on the same real sentences as `encoder_speed.py` in fp32, under bf16 autocast (fast on
CPUs with AVX512-BF16 or AMX, emulated and slow elsewhere) and with dynamic int8 Linear layers,
in interleaved rounds, and reports each variant's cosine to the fp32 vectors.
Writes benchmarks/results/teacher_speed.json.
"""

from __future__ import annotations

import argparse
import contextlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch  # noqa: E402 (after encoder_speed, which sets the offline switch)
from encoder_speed import Encode, cosine, interleaved, load_reference, rates, reference_tokens
from machine import peak_rss_mib, write_result
from sentences import real_sentences


def variants(model: Any, batch_size: int) -> dict[str, Encode]:
    """fp32, bf16 autocast and int8 dynamic encoders of one teacher."""
    warnings.filterwarnings("ignore", message=".*deprecated.*")
    int8 = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)

    def encoder(m: Any, context: Any) -> Encode:
        def encode(batch: list[str]) -> np.ndarray:
            with context():
                return np.asarray(
                    m.encode(batch, batch_size=batch_size, normalize_embeddings=True),
                    dtype=np.float32,
                )

        return encode

    return {
        "fp32": encoder(model, contextlib.nullcontext),
        "bf16_autocast": encoder(model, lambda: torch.autocast("cpu", dtype=torch.bfloat16)),
        "int8_dynamic": encoder(int8, contextlib.nullcontext),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sentences", type=int, default=1000, help="real sentences encoded")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--batch-size", type=int, default=64, help="as tune's teacher uses")
    parser.add_argument("--out", type=Path, default=None, help="default results/teacher_speed.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    texts = real_sentences(args.sentences)
    teacher = load_reference()
    tokens = reference_tokens(teacher, texts)
    encoders = variants(teacher, args.batch_size)
    fp32 = encoders["fp32"](texts)
    precision: dict[str, Any] = {}
    for name, encode in encoders.items():
        precision[name] = {"cosine_to_fp32": cosine(fp32, encode(texts))}
    for name, seconds in interleaved(encoders, texts, args.rounds).items():
        precision[name].update(rates(seconds, len(texts), tokens))
    print(precision, flush=True)
    result = {
        "sentences": len(texts),
        "teacher_tokens": tokens,
        "threads": args.threads,
        "rounds": args.rounds,
        "batch_size": args.batch_size,
        "bf16_supported": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
        "precision": precision,
        "peak_rss_mib": peak_rss_mib(),
    }
    write_result("teacher_speed", result, args.out)


if __name__ == "__main__":
    main()
