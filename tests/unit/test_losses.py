from __future__ import annotations

import math

import pytest
import torch

from docsearch.training.losses import DistillationLoss, PairLoss, distance_loss, info_nce
from docsearch.training.schedule import learning_rate


def test_info_nce_hand_checked_value() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # Perfectly aligned pairs at temperature 1: logits are the identity matrix.
    expected = -math.log(math.e / (math.e + 1))
    assert info_nce(a, a, 1.0).item() == pytest.approx(expected, rel=1e-6)


def test_info_nce_extra_negatives_raise_the_loss() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    hard = torch.tensor([[0.9, 0.1]])
    assert info_nce(a, torch.cat([a, hard]), 1.0) > info_nce(a, a, 1.0)


def test_distance_loss_is_two_minus_two_cos() -> None:
    s = torch.tensor([[1.0, 0.0]])
    t = torch.tensor([[0.0, 1.0]])
    assert distance_loss(s, t).item() == pytest.approx(2.0)
    assert distance_loss(s, s).item() == 0.0


def test_distillation_loss_lower_when_student_matches_teacher() -> None:
    torch.manual_seed(0)
    teacher = torch.nn.functional.normalize(torch.randn(8, 4), dim=-1)
    noise = torch.nn.functional.normalize(torch.randn(8, 4), dim=-1)
    loss = DistillationLoss()
    assert loss(teacher, teacher) < loss(noise, teacher)


def test_distillation_loss_counts_extra_teacher_negatives() -> None:
    teacher = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    near = torch.nn.functional.normalize(torch.tensor([[0.9, 0.1]]), dim=-1)
    loss = DistillationLoss(temperature=0.5)
    assert loss(teacher, teacher, near) > loss(teacher, teacher)


def test_pair_loss_uses_negatives() -> None:
    a = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), dim=-1)
    without = PairLoss(0.5)(a, a)
    with_negatives = PairLoss(0.5)(a, a, torch.tensor([[0.7071, 0.7071]]))
    assert with_negatives > without


def test_learning_rate_schedule() -> None:
    assert learning_rate(0, peak=1.0, warmup=10, total=100) == pytest.approx(0.1)
    assert learning_rate(9, peak=1.0, warmup=10, total=100) == pytest.approx(1.0)
    assert learning_rate(10, peak=1.0, warmup=10, total=100) == pytest.approx(1.0)
    assert learning_rate(100, peak=1.0, warmup=10, total=100, floor=0.1) == pytest.approx(0.1)
    assert learning_rate(500, peak=1.0, warmup=10, total=100, floor=0.1) == pytest.approx(0.1)
    mid = learning_rate(55, peak=1.0, warmup=10, total=100, floor=0.0)
    assert mid == pytest.approx(0.5)
