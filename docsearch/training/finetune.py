"""Fine-tune a trained encoder on a user's own (query, positive[, negative]) pairs."""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from pathlib import Path

import torch

from docsearch.errors import DocsearchError
from docsearch.model import TOKENIZER_FILE, load_model, save_model
from docsearch.tokenizer import Tokenizer
from docsearch.training.losses import PairLoss
from docsearch.training.schedule import learning_rate
from docsearch.training.train import pad_batch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Triple:
    """A query, a text that answers it and optionally one that does not."""

    query: str
    positive: str
    negative: str | None = None


def read_pairs(path: Path) -> list[Triple]:
    """Read JSONL lines `{"query": ..., "positive": ..., "negative": ...}` (negative optional).

    Raises:
        DocsearchError: a line is not such an object; the message names the line.
    """
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                rows.append(Triple(str(data["query"]), str(data["positive"]), data.get("negative")))
            except (ValueError, KeyError, TypeError) as e:
                raise DocsearchError(
                    f"{path}:{number}: expected a JSON object with 'query' and 'positive' ({e})"
                ) from e
    if len(rows) < 2:
        raise DocsearchError(f"{path}: need at least 2 pairs to fine-tune, found {len(rows)}")
    return rows


def finetune(
    rows: list[Triple],
    out_dir: Path,
    *,
    base_dir: Path | None = None,
    steps: int = 300,
    batch_size: int = 64,
    lr: float = 3e-4,
    seed: int = 0,
    max_tokens: int = 64,
) -> Path:
    """Continue training `base_dir` (default: the shipped model) with in-batch + hard negatives.

    Returns:
        `out_dir`, which then holds a complete model (config, weights, tokenizer).
    """
    from docsearch.model_config import shipped_model_dir

    base = base_dir or shipped_model_dir()
    model = load_model(base)
    tokenizer = Tokenizer.load(base / TOKENIZER_FILE)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    loss_fn = PairLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    model.train()
    batch_size = min(batch_size, len(rows))
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, peak=lr, warmup=max(1, steps // 10), total=steps)
        batch = rng.sample(rows, batch_size)
        negatives = [r.negative for r in batch if r.negative]
        texts = [r.query for r in batch] + [r.positive for r in batch] + negatives
        ids, lengths = pad_batch(tokenizer.encode(texts), max_tokens)
        vectors = model(ids, lengths)  # (2*batch + negatives, dim)
        n = len(batch)
        loss = loss_fn(vectors[:n], vectors[n : 2 * n], vectors[2 * n :] if negatives else None)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 50 == 0:
            log.info("step %d/%d loss %.4f", step, steps, loss.item())
    save_model(model.eval(), tokenizer.to_bytes(), out_dir)
    return out_dir
