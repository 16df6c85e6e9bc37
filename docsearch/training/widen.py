"""A wider copy of a trained encoder that encodes exactly as the original (Net2Net-style growth).

Issue 13 asks whether a wider BiGRU pays. Training one from scratch costs more CPU hours than a
session has, so this grows the trained model instead: each direction of the GRU gets new hidden
units that read the old ones (fresh random weights) but that no old unit reads, and the
projection reads the new units through columns of zeros. The grown model's vectors equal the
original's to float precision; training then decides what the new units carry (the projection's
zero columns get gradients at once, and through them the new units).

Only the shape the shipped models have: one layer, mean pooling, no query tower.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from docsearch.model import BiGRUEncoder

GATES = 3  # PyTorch's GRU stacks reset, update and new gates along the first axis


def widen(model: BiGRUEncoder, hidden_dim: int, seed: int = 0) -> BiGRUEncoder:
    """A copy of `model` with `hidden_dim` hidden units per direction and the same vectors."""
    old = model.config
    if old.num_layers != 1 or old.pooling != "mean" or old.query_tower:
        raise ValueError("widen() grows one-layer, mean-pooled models without a query tower")
    if hidden_dim <= old.hidden_dim:
        raise ValueError(f"hidden_dim {hidden_dim} is not wider than {old.hidden_dim}")
    torch.manual_seed(seed)
    grown = BiGRUEncoder(replace(old, hidden_dim=hidden_dim))  # fresh weights for new units
    with torch.no_grad():
        grown.embed.weight.copy_(model.embed.weight)
        for suffix in ("_l0", "_l0_reverse"):
            _grow_direction(model.gru, grown.gru, suffix, old.hidden_dim, hidden_dim)
        _grow_projection(model.project, grown.project, old.hidden_dim, hidden_dim)
    return grown.train(model.training)


def _grow_direction(old: nn.GRU, new: nn.GRU, suffix: str, h: int, wide: int) -> None:
    """Copy one direction's gates into the first `h` units of each gate block of `new`; the
    old units' recurrent weights from the new units become zero."""
    for g in range(GATES):
        rows_old, rows_new = slice(g * h, (g + 1) * h), slice(g * wide, g * wide + h)
        getattr(new, "weight_ih" + suffix)[rows_new] = getattr(old, "weight_ih" + suffix)[rows_old]
        recurrent = getattr(new, "weight_hh" + suffix)
        recurrent[rows_new, :h] = getattr(old, "weight_hh" + suffix)[rows_old]
        recurrent[rows_new, h:] = 0.0
        for bias in ("bias_ih", "bias_hh"):
            getattr(new, bias + suffix)[rows_new] = getattr(old, bias + suffix)[rows_old]


def _grow_projection(old: nn.Linear, new: nn.Linear, h: int, wide: int) -> None:
    """The pooled vector is [forward units, backward units]: old columns move to their
    direction's first `h` places, the new units' columns are zero."""
    new.weight.zero_()
    new.weight[:, :h] = old.weight[:, :h]
    new.weight[:, wide : wide + h] = old.weight[:, h:]
    new.bias.copy_(old.bias)
