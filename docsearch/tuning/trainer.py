"""The tuning loop: train until a deadline, on self-supervised pairs plus target vectors.

Each step mixes two losses:
- pairs (`docsearch.tuning.pairs`): symmetric InfoNCE, the other pairs of the batch as negatives;
- targets: the student matches given vectors of corpus sentences (`DistillationLoss`). With a
  teacher they are the teacher's vectors (learn its meaning of this corpus's words); without,
  they are the base model's own vectors (stay where you were, so general knowledge is kept).
The learning rate warms up, then decays linearly with the time left, so a run of any length
ends gently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from docsearch.model import BiGRUEncoder
from docsearch.tokenizer import Tokenizer
from docsearch.training.losses import DistillationLoss, PairLoss
from docsearch.training.train import pad_batch

log = logging.getLogger(__name__)


class PairSource(Protocol):
    """What the loop draws its pairs from (`docsearch.tuning.pairs.PairBatcher` and the like)."""

    def sample(self, size: int) -> tuple[list[str], list[str]]:
        """Up to `size` (anchor, positive) pairs, as two lists of texts."""
        ...


@dataclass(frozen=True)
class TuneConfig:
    """Hyper-parameters of `docsearch tune` (chosen on SciFact's corpus, see benchmarks/tune.py).

    Attributes:
        pair_batch: self-supervised pairs per step.
        target_batch: sentences with target vectors per step.
        pair_weight: weight of the pair loss (the target loss has weight 1).
        lr: peak learning rate (the base model was trained at 2e-3).
        warmup_steps: steps of linear warm-up.
        temperature: InfoNCE temperature.
        max_tokens: tokens per training text.
        seed: random seed.
        max_steps: stop after this many steps even before the deadline (None: no limit).
        teacher_map: how the teacher's vectors are moved into the base model's coordinates
            ("least_squares" or "rotation", see `docsearch.tuning.run.in_base_space`).
        teacher_share: share of the training budget the teacher may spend encoding sentences.
        teacher_whitening: partial whitening of the teacher's vectors, fitted on themselves,
            before they are moved (0: none; the shipped model was whitened at 0.75).
        teacher_order: which sentences the teacher encodes first: "random" (a seeded
            sample) or "coverage" (those that bring the most unseen words first,
            `docsearch.tuning.teacher.coverage_order`).
        teacher_precision: "fp32", "bf16" (autocast on the CPU) or "auto" (bf16 where the CPU
            has it natively, `docsearch.tuning.teacher.native_bf16`).
        target_negatives: target vectors of other sentences drawn each step as extra
            negatives of the target loss, besides the batch's own (0: the batch's only).
        embedding_lr_scale: the token embeddings' learning rate over `lr`. A corpus's own
            words are where the base is weakest, and each token's row is trained only in the
            steps whose texts hold it.
    """

    pair_batch: int = 64
    target_batch: int = 128
    pair_weight: float = 1.0
    lr: float = 1e-3
    warmup_steps: int = 20
    temperature: float = 0.05
    max_tokens: int = 64
    seed: int = 0
    max_steps: int | None = None
    teacher_map: str = "least_squares"
    teacher_share: float = 0.4
    teacher_whitening: float = 0.0
    teacher_order: str = "random"
    teacher_precision: str = "fp32"
    target_negatives: int = 0
    embedding_lr_scale: float = 1.0


# Chosen by benchmarks/tune_sweep.py on SciFact's abstracts (results in benchmarks/RESULTS.md).
# Without a teacher: pairs, and the base model's own vectors as a gentle anchor. Since session
# 15 the token embeddings learn at 10 times the rate here too (`tune.py --minutes 5`, base v4):
# SciFact dense 0.5216 / 0.5165 at seeds 0 / 1 (1x: 0.5075 / 0.5136), held-out validation
# 0.3675 / 0.3533 (1x: 0.3579 / 0.3453), STS-B test 0.723 / 0.721 (1x: 0.727 / 0.725);
# Cranfield dense 0.2743 (1x: 0.2679), validation 0.5780 (0.5771).
SELF_SUPERVISED = TuneConfig(embedding_lr_scale=10.0)
# With a teacher: its vectors (mapped into the base's space) as the targets, the pairs kept,
# the same gentle learning rate. The earlier choice, lr 1.2e-2 without pairs, was swept with v1
# as the base (SciFact dense 0.463 / 0.489 / 0.515 / 0.494 at lr 3e-3 / 6e-3 / 1.2e-2 / 2.4e-2);
# with v4 it wrecked the base (SciFact dense 0.492 -> 0.467, STS-B 0.7345 -> 0.667), and on
# Cranfield in 5 minutes held-out validation fell 0.5402 -> 0.4789 where lr 1e-3 with pairs
# gives 0.5601 and dense 0.2426 -> 0.2680 (benchmarks/RESULTS.md, session 7). Since session 9
# the teacher's vectors are rotated into the base's space rather than regressed onto it:
# SciFact dense 0.492 -> 0.524 in 15 minutes (least squares: 0.494), Cranfield 0.2426 ->
# 0.2737 in 5 (least squares: 0.2680). Since session 11 the teacher's vectors are whitened like
# the base's first, the rate is 3e-3 and the teacher gets 20% of the budget rather than 40%
# (more steps over fewer sentences): SciFact dense 0.532 in 15 minutes, held-out validation
# 0.3242 -> 0.382 (session 9's setting: 0.3634); Cranfield in 5 minutes 0.2426 -> 0.2907 (0.2737);
# one run per setting, see benchmarks/RESULTS.md. Since session 12 the teacher encodes the
# sentences that bring the most unseen words first ("coverage"; a random ~16,000 of SciFact's
# 50,165 sentences hold 67% of its word types, the coverage order's all of them): SciFact dense
# 0.5399 and 0.5355 with seeds 0 and 1, against 0.5321 and 0.5215 for the random sample.
# Since session 13 each step's target loss also pushes every student vector away from 4,096
# other sentences' targets, not only the batch's 127. Seeds 0 / 1 / 2 against the batch alone:
# SciFact dense 0.5381 / 0.5415 / 0.5222 (0.5372 / 0.5355 / 0.5270: no difference), held-out
# validation +0.009 / +0.000 / +0.006, STS-B test +0.004 / +0.013 / +0.002.
# Since session 14 the token embeddings learn at 10 times the rate: in 6-minute screens on the
# teacher's cached vectors (seed 0, exact search; benchmarks/RESULTS.md) SciFact dense 0.542 at
# 1x, 0.554 at 5x, 0.576 at 10x, 0.576 at 20x (STS-B test 0.703 / 0.694 / 0.679 / 0.636).
# Through tune, 15 minutes, seeds 0 / 1 / 2: SciFact dense 0.5552 / 0.5583 / 0.5652 (1x:
# 0.5381 / 0.5415 / 0.5222), STS-B test 0.656 / 0.634 / 0.643 (1x: 0.705 / 0.703 / 0.691).
WITH_TEACHER = TuneConfig(
    lr=3e-3,
    teacher_map="rotation",
    teacher_whitening=0.75,
    teacher_share=0.2,
    teacher_order="coverage",
    target_negatives=4096,
    embedding_lr_scale=10.0,
)


@dataclass(frozen=True)
class Targets:
    """Texts and the vectors the student should give them (float32[n, dim])."""

    texts: list[str]
    vectors: np.ndarray


def train_until(
    model: BiGRUEncoder,
    tokenizer: Tokenizer,
    pairs: PairSource,
    targets: Targets,
    seconds: float,
    config: TuneConfig,
    *,
    device: torch.device,
    progress: Callable[[float], None] | None = None,
    forward: Callable[[list[str]], torch.Tensor] | None = None,
) -> int:
    """Train `model` in place for `seconds` (or `config.max_steps`); return the steps taken.

    The learning rate warms up, then decays linearly to 5% over the time or the steps given,
    whichever runs out first.

    `progress` is called with the share of the time spent, after each step. `forward` encodes a
    step's texts (default: each text as one sequence of up to `config.max_tokens` tokens; see
    `docsearch.training.pooling` for passages pooled from their sentences).
    """
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model.to(device).train()
    optimizer = torch.optim.AdamW(_parameter_groups(model, config), lr=config.lr, weight_decay=0.01)
    pair_loss = PairLoss(config.temperature)
    target_loss = DistillationLoss(config.temperature)
    # On the device once: each step gathers its targets and extra negatives there.
    target_vectors = torch.from_numpy(np.ascontiguousarray(targets.vectors, dtype=np.float32)).to(
        device
    )
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    encode = forward or _whole_texts(model, tokenizer, config.max_tokens, device)
    started = time.monotonic()
    step = 0
    while config.max_steps is None or step < config.max_steps:
        spent = (time.monotonic() - started) / max(seconds, 1e-9)
        if spent >= 1.0 and step > 0:
            break
        warm = min(1.0, (step + 1) / config.warmup_steps)
        # The rate decays with the time spent, or with the steps taken when they are counted.
        done = max(spent, step / config.max_steps if config.max_steps else 0.0)
        for group in optimizer.param_groups:
            group["lr"] = config.lr * group["scale"] * warm * max(0.05, 1.0 - done)
        rows = rng.choice(len(targets.texts), min(config.target_batch, len(targets.texts)), False)
        anchors, positives = pairs.sample(config.pair_batch)
        negatives = draw_negatives(rng, len(targets.texts), rows, config.target_negatives)
        texts = [targets.texts[i] for i in rows] + anchors + positives
        with autocast:
            vectors = encode(texts)
            n, m = len(rows), len(anchors)
            loss = target_loss(
                vectors[:n],
                target_vectors[rows],
                None if negatives is None else target_vectors[negatives],
            )
            if m > 1:
                pair = pair_loss(vectors[n : n + m], vectors[n + m :])
                loss = loss + config.pair_weight * pair
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        if step % 50 == 0:
            log.debug("tune step %d loss %.4f", step, loss.item())
        if progress is not None:
            progress(min(1.0, (time.monotonic() - started) / max(seconds, 1e-9)))
    model.eval()
    return step


def _whole_texts(
    model: BiGRUEncoder, tokenizer: Tokenizer, max_tokens: int, device: torch.device
) -> Callable[[list[str]], torch.Tensor]:
    """The default forward: each text one sequence, cut to `max_tokens` tokens."""

    def forward(texts: list[str]) -> torch.Tensor:
        ids, lengths = pad_batch(tokenizer.encode(texts), max_tokens)
        return model(ids.to(device), lengths.to(device))  # type: ignore[no-any-return]

    return forward


def _parameter_groups(model: BiGRUEncoder, config: TuneConfig) -> list[dict[str, object]]:
    """The token embeddings at `embedding_lr_scale` times the rate, the rest at the rate."""
    embedding = [p for name, p in model.named_parameters() if name.startswith("embed.")]
    rest = [p for name, p in model.named_parameters() if not name.startswith("embed.")]
    return [
        {"params": embedding, "scale": config.embedding_lr_scale},
        {"params": rest, "scale": 1.0},
    ]


def draw_negatives(
    rng: np.random.Generator, total: int, rows: np.ndarray, size: int
) -> np.ndarray | None:
    """Up to `size` target rows other than `rows`, drawn at random (None when `size` is 0)."""
    if size <= 0 or total <= len(rows):
        return None
    drawn = rng.choice(total, min(total, size + len(rows)), replace=False)
    return drawn[~np.isin(drawn, rows)][:size]
