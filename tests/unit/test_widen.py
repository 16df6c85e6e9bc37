from __future__ import annotations

import pytest
import torch

from docsearch.model import BiGRUEncoder, EncoderConfig
from docsearch.training.widen import widen

CONFIG = EncoderConfig(vocab_size=50, embed_dim=8, hidden_dim=6, out_dim=5)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    lengths = torch.tensor([7, 3, 5])
    ids = torch.randint(1, 50, (3, 7))
    ids[1, 3:], ids[2, 5:] = 0, 0
    return ids, lengths


def test_widened_model_encodes_as_the_original() -> None:
    torch.manual_seed(0)
    model = BiGRUEncoder(CONFIG).eval()
    grown = widen(model, hidden_dim=10).eval()
    ids, lengths = _batch()
    assert grown.gru.hidden_size == 10 and grown.project.in_features == 20
    assert torch.allclose(grown(ids, lengths), model(ids, lengths), atol=1e-6)


def test_new_units_learn_after_a_step() -> None:
    torch.manual_seed(0)
    grown = widen(BiGRUEncoder(CONFIG), hidden_dim=10)
    optimizer = torch.optim.SGD(grown.parameters(), lr=0.5)
    ids, lengths = _batch()
    for _ in range(2):  # the first step moves the zero columns, the second the new units
        optimizer.zero_grad()
        grown(ids, lengths)[:, 0].sum().backward()
        optimizer.step()
    new_columns = grown.project.weight[:, 6:10]
    assert new_columns.abs().sum() > 0
    assert grown.gru.weight_hh_l0.grad[6:10].abs().sum() > 0  # the new units' reset gates


def test_only_wider_one_layer_mean_models_grow() -> None:
    with pytest.raises(ValueError, match="not wider"):
        widen(BiGRUEncoder(CONFIG), hidden_dim=6)
    with pytest.raises(ValueError, match="one-layer"):
        widen(BiGRUEncoder(EncoderConfig(vocab_size=50, num_layers=2)), hidden_dim=300)
