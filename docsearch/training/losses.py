"""Training losses, one class each; `forward` takes embeddings, the math is in plain functions.

Batch format: row i of `anchors` belongs with row i of `positives`; every other row of
`positives` in the batch serves as a negative for anchor i.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def info_nce(anchors: torch.Tensor, positives: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE with in-batch negatives.

    Args:
        anchors: float[batch, dim], unit norm.
        positives: float[batch + extra, dim], unit norm; rows past `batch` are extra (hard)
            negatives for every anchor and have no anchor of their own.
        temperature: softmax temperature (0.05 is typical for unit vectors).

    Returns:
        Scalar loss: mean of anchor->positive and positive->anchor cross-entropies.
    """
    batch = anchors.shape[0]
    logits = anchors @ positives.T / temperature  # (batch, batch + extra)
    labels = torch.arange(batch, device=anchors.device)
    forward = F.cross_entropy(logits, labels)
    backward = F.cross_entropy(logits[:, :batch].T, labels)
    return (forward + backward) / 2


def distance_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean squared Euclidean distance between matching rows (2 - 2cos for unit vectors).

    Args:
        student, teacher: float[batch, dim].
    """
    return ((student - teacher) ** 2).sum(-1).mean()


class DistillationLoss(nn.Module):
    """Pull each student vector onto its teacher vector, away from the batch's other ones.

    Args:
        temperature: InfoNCE temperature over student-teacher similarities.
        distance_weight: weight of the squared-distance term.
    """

    def __init__(self, temperature: float = 0.05, distance_weight: float = 1.0) -> None:
        super().__init__()
        self.temperature = temperature
        self.distance_weight = distance_weight

    def forward(
        self, student: torch.Tensor, teacher: torch.Tensor, negatives: torch.Tensor | None = None
    ) -> torch.Tensor:
        """student, teacher: float[batch, dim] unit vectors of the same texts; negatives:
        float[m, dim] teacher vectors of other texts, extra negatives for every student row."""
        teacher = teacher.to(student.dtype)
        candidates = teacher if negatives is None else torch.cat([teacher, negatives.to(teacher)])
        return self.distance_weight * distance_loss(student, teacher) + info_nce(
            student, candidates, self.temperature
        )


class PairLoss(nn.Module):
    """Symmetric InfoNCE over (anchor, positive[, hard negative]) pairs of student vectors.

    Args:
        temperature: InfoNCE temperature.
    """

    def __init__(self, temperature: float = 0.05) -> None:
        super().__init__()
        self.temperature = temperature

    def forward(
        self, anchors: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor | None = None
    ) -> torch.Tensor:
        """anchors, positives: float[batch, dim]; negatives: float[m, dim] extra negatives."""
        candidates = positives if negatives is None else torch.cat([positives, negatives])
        return info_nce(anchors, candidates, self.temperature)
