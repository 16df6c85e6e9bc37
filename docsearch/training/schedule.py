"""Learning-rate schedule as a pure function of the step."""

from __future__ import annotations

import math


def learning_rate(step: int, *, peak: float, warmup: int, total: int, floor: float = 0.1) -> float:
    """Linear warm-up to `peak`, then cosine decay to `floor * peak` at `total` steps.

    Args:
        step: 0-based optimisation step.
        peak: the highest learning rate.
        warmup: steps of linear warm-up.
        total: steps of the whole run; later steps stay at the floor.
        floor: final fraction of `peak`.
    """
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))
