"""The BiGRU sentence encoder: padded token ids -> unit-norm sentence vectors.

Saved as three files in one directory, none of them pickled (see model_config.py):
`config.json` (EncoderConfig), `weights.npz` (raw arrays) and `tokenizer.model`.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from docsearch.model_config import (
    CONFIG_FILE,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
    EncoderConfig,
    check_model_files,
    fingerprint,
)

__all__ = [
    "CONFIG_FILE",
    "TOKENIZER_FILE",
    "WEIGHTS_FILE",
    "BiGRUEncoder",
    "EncoderConfig",
    "fingerprint",
    "load_model",
    "save_model",
]


class BiGRUEncoder(nn.Module):
    """Embedding -> bidirectional GRU -> masked pooling -> linear projection -> L2 normalisation.

    With `config.query_tower`, queries (`encode_queries`) go through a second GRU and
    projection over the same embedding table; documents (`forward`) through the first.
    """

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=0)
        self.gru, self.project = _gru(config), _projection(config)
        if config.query_tower:
            self.query_gru, self.query_project = _gru(config), _projection(config)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Encode a padded batch.

        Args:
            ids: int64[batch, seq] token ids, padded with 0 after each sentence's end.
            lengths: int64[batch] number of real tokens per row (each >= 1).

        Returns:
            float32[batch, out_dim] unit-norm sentence vectors.
        """
        return nn.functional.normalize(self.projected(ids, lengths), dim=-1)

    def document_side(self) -> BiGRUEncoder:
        """A copy without the query tower (queries then encode like documents)."""
        model = BiGRUEncoder(replace(self.config, query_tower=False))
        state = {k: v for k, v in self.state_dict().items() if not k.startswith("query_")}
        model.load_state_dict(copy.deepcopy(state))
        return model.train(self.training)

    def encode_queries(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """`forward` for queries: through the query tower where the model has one."""
        if not self.config.query_tower:
            return self(ids, lengths)  # type: ignore[no-any-return]
        projected = self.projected(ids, lengths, self.query_gru, self.query_project)
        return nn.functional.normalize(projected, dim=-1)

    def projected(
        self,
        ids: torch.Tensor,
        lengths: torch.Tensor,
        gru: nn.GRU | None = None,
        project: nn.Linear | None = None,
    ) -> torch.Tensor:
        """`forward` before the L2 normalisation: float32[batch, out_dim] (through `gru` and
        `project` when given, the document side's own otherwise)."""
        x = self.embed(ids)  # (batch, seq, embed)
        # Packing keeps the backward direction from reading padding, so a sentence encodes the
        # same alone and inside a batch.
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = (gru or self.gru)(packed)
        h, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        # h: (batch, seq, 2*hidden)
        mask = (torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths[:, None]).to(
            h.dtype
        )
        mask = mask.unsqueeze(-1)  # (batch, seq, 1)
        pooled = (h * mask).sum(1) / lengths[:, None].to(h.dtype)  # (batch, 2*hidden)
        if self.config.pooling == "meanmax":
            masked = h.masked_fill(mask == 0, float("-inf"))
            pooled = torch.cat([pooled, masked.max(1).values], dim=-1)  # (batch, 4*hidden)
        return (project or self.project)(pooled)  # type: ignore[no-any-return]


def _gru(config: EncoderConfig) -> nn.GRU:
    return nn.GRU(
        config.embed_dim,
        config.hidden_dim,
        num_layers=config.num_layers,
        batch_first=True,
        bidirectional=True,
        dropout=config.dropout if config.num_layers > 1 else 0.0,
    )


def _projection(config: EncoderConfig) -> nn.Linear:
    pooled = 2 * config.hidden_dim * (2 if config.pooling == "meanmax" else 1)
    return nn.Linear(pooled, config.out_dim)


def save_model(model: BiGRUEncoder, tokenizer_bytes: bytes, directory: Path) -> None:
    """Write config, weights (raw float32 arrays, no pickle) and tokenizer into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE).write_text(model.config.to_json() + "\n", encoding="utf-8")
    arrays = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()}
    with open(directory / WEIGHTS_FILE, "wb") as f:
        np.savez(f, **arrays)
    (directory / TOKENIZER_FILE).write_bytes(tokenizer_bytes)


def load_model(directory: Path) -> BiGRUEncoder:
    """Build the model described by `directory/config.json` and fill in its weights.

    Raises:
        ModelNotFound: the directory lacks one of the model files.
    """
    check_model_files(directory)
    config = EncoderConfig.from_json((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    model = BiGRUEncoder(config)
    with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as arrays:
        state = {k: torch.from_numpy(arrays[k].astype(np.float32)) for k in arrays.files}
    model.load_state_dict(state)
    return model.eval()
