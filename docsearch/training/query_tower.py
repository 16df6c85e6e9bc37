"""Train a query tower: a second GRU that encodes queries into the document encoder's space.

Documents keep the base encoder (so its vectors, and every index built with it, stay as they
are); queries get their own GRU and projection, initialised from the base and trained so that a
question lands near the sentences that answer it (`questions.py`). The embedding table is the
base's, shared and frozen, so the tower adds 1 M parameters (4 MB) to the 5.1 M of the base.

Training needs no teacher: the targets are the base encoder's own vectors of the answers,
computed once and cached. Per step, InfoNCE of a batch of questions against their answers,
the batch's other answers and a bank of random answers; plus an "identity" share of ordinary
sentences whose target is their own document vector, so a query that is a plain statement
(a claim, a sentence copied from a document) still finds what the base model finds.

    python -m docsearch.training query-tower --config configs/attempt-query-tower.toml --out DIR

(Session 7's attempt: it helped the small FAQ dev sets and cost Cranfield and SciFact, so no
model with a tower is shipped; see benchmarks/RESULTS.md.)
"""

from __future__ import annotations

import copy
import json
import logging
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from docsearch.encoder import Encoder
from docsearch.model import BiGRUEncoder, save_model
from docsearch.training.questions import QuestionPair, load_question_pairs
from docsearch.training.schedule import learning_rate
from docsearch.training.train import pad_batch, read_config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TowerConfig:
    """Every hyper-parameter of a query-tower run (read from TOML, saved beside the model)."""

    data_dir: str = "../shared/data/train"
    base_model: str = ""  # a model directory; empty: the shipped default
    seed: int = 0
    steps: int = 2000
    batch_size: int = 256
    identity_share: float = 0.25
    bank_size: int = 8192
    temperature: float = 0.05
    peak_lr: float = 5e-4
    warmup_steps: int = 100
    weight_decay: float = 0.01
    train_max_tokens: int = 48
    threads: int = 2
    # "all": the tower's GRU and projection learn; "project": only its projection.
    train_parts: str = "all"
    mix: dict[str, float] = field(
        default_factory=lambda: {
            "kernel_question": 3.0,
            "kernel_heading": 2.0,
            "pubmedqa": 2.0,
            "arxiv": 1.0,
            "foldoc": 1.5,
            "jargon": 0.5,
            "wordnet": 1.0,
            "gcide": 1.0,
            "debian": 1.5,
        }
    )

    @classmethod
    def from_toml(cls, path: Path) -> TowerConfig:
        """Read a config file (see `read_config`)."""
        return cls(**read_config(cls, path))


class AnswerBank:
    """The answers' texts and their base-encoder vectors (cached on disk by model and texts)."""

    def __init__(self, pairs: list[QuestionPair], encoder: Encoder, cache: Path) -> None:
        self.texts = list(dict.fromkeys(a for p in pairs for a in p.answers))
        row = {t: i for i, t in enumerate(self.texts)}
        self.answers_of = [np.array([row[a] for a in p.answers]) for p in pairs]
        key = f"{encoder.fingerprint}_{len(self.texts)}_{hash_texts(self.texts)}"
        path = cache / f"answers_{key}.npy"
        if path.exists():
            self.vectors = np.load(path)
        else:
            started = time.perf_counter()
            self.vectors = encoder.encode(self.texts, batch_size=64)
            log.info("encoded %d answers in %.0f s", len(self.texts), time.perf_counter() - started)
            cache.mkdir(parents=True, exist_ok=True)
            np.save(path, self.vectors)


def hash_texts(texts: list[str]) -> str:
    """A short content hash of a list of texts (names the answer cache)."""
    import hashlib

    digest = hashlib.sha256()
    for t in texts:
        digest.update(t.encode("utf-8") + b"\0")
    return digest.hexdigest()[:12]


def make_tower(base: BiGRUEncoder, parts: str = "all") -> BiGRUEncoder:
    """A copy of the base whose embedding table is the base's own, frozen (and its GRU too
    when only the projection is to learn)."""
    tower = copy.deepcopy(base)
    tower.embed = base.embed
    tower.embed.weight.requires_grad_(False)
    if parts == "project":
        tower.gru.requires_grad_(False)
    return tower.train()


def with_tower(base: BiGRUEncoder, tower: BiGRUEncoder) -> BiGRUEncoder:
    """One model: the base for documents, the tower's GRU and projection for queries."""
    config = replace(base.config, query_tower=True)
    model = BiGRUEncoder(config)
    state = {k: v for k, v in base.state_dict().items() if not k.startswith("query_")}
    for part in ("gru", "project"):
        for name, value in getattr(tower, part).state_dict().items():
            state[f"query_{part}.{name}"] = value
    model.load_state_dict(state)
    return model.eval()


class Batches:
    """Draw (query text, answer row) batches: questions by source mix, plus identity rows."""

    def __init__(self, pairs: list[QuestionPair], bank: AnswerBank, config: TowerConfig) -> None:
        self.pairs, self.bank, self.config = pairs, bank, config
        self.rng = random.Random(config.seed)
        by_source: dict[str, list[int]] = {}
        for i, p in enumerate(pairs):
            by_source.setdefault(p.source, []).append(i)
        self.by_source = by_source
        self.sources = sorted(s for s in by_source if config.mix.get(s, 0) > 0)
        self.weights = [config.mix[s] for s in self.sources]

    def sample(self) -> tuple[list[str], np.ndarray]:
        """Query texts and the row of each one's target vector in the bank (rows distinct)."""
        n_identity = int(self.config.batch_size * self.config.identity_share)
        texts: list[str] = []
        rows: list[int] = []
        while len(texts) < self.config.batch_size - n_identity:
            source = self.rng.choices(self.sources, self.weights)[0]
            i = self.rng.choice(self.by_source[source])
            row = int(self.rng.choice(self.bank.answers_of[i]))
            if row not in rows:
                texts.append(self.pairs[i].query)
                rows.append(row)
        while len(texts) < self.config.batch_size:
            row = self.rng.randrange(len(self.bank.texts))
            if row not in rows:
                texts.append(self.bank.texts[row])
                rows.append(row)
        return texts, np.array(rows)


def tower_loss(
    queries: torch.Tensor, targets: torch.Tensor, bank: torch.Tensor, temperature: float
) -> torch.Tensor:
    """InfoNCE of each query against its target, the batch's other targets and the bank.

    Args:
        queries: float[batch, dim] unit vectors from the tower.
        targets: float[batch, dim] the base encoder's unit vectors of each query's answer.
        bank: float[extra, dim] more answer vectors, negatives for every query.
    """
    logits = queries @ torch.cat([targets, bank]).T / temperature
    return F.cross_entropy(logits, torch.arange(len(queries)))


def train_tower(
    config: TowerConfig,
    out_dir: Path,
    *,
    cache: Path,
    evaluate: object = None,
    eval_every: int = 250,
) -> BiGRUEncoder:
    """Train the query tower; returns it (the base encoder's documents side is untouched).

    `evaluate`, if given, is called as `evaluate(tower)` every `eval_every` steps and its
    result (a dict of scores) logged to `out_dir/log.jsonl`.
    """
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    encoder = Encoder.load(config.base_model or None, device="cpu")
    pairs = load_question_pairs(Path(config.data_dir), seed=config.seed)
    bank = AnswerBank(pairs, encoder, cache)
    batches = Batches(pairs, bank, config)
    vectors = torch.from_numpy(bank.vectors)
    tower = make_tower(encoder.model, config.train_parts)
    params = [p for p in tower.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=config.peak_lr, weight_decay=config.weight_decay)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
    generator = np.random.default_rng(config.seed)
    started = time.perf_counter()
    for step in range(config.steps):
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(
                step, peak=config.peak_lr, warmup=config.warmup_steps, total=config.steps
            )
        texts, rows = batches.sample()
        ids, lengths = pad_batch(encoder.tokenizer.encode(texts), config.train_max_tokens)
        negatives = generator.integers(0, len(vectors), config.bank_size)
        loss = tower_loss(
            tower(ids, lengths), vectors[rows], vectors[negatives], config.temperature
        )
        optimiser.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        if (step + 1) % eval_every == 0 or step + 1 == config.steps:
            record: dict[str, object] = {
                "step": step + 1,
                "loss": round(float(loss), 4),
                "seconds": round(time.perf_counter() - started, 1),
            }
            if callable(evaluate):
                tower.eval()
                record.update(evaluate(tower))
                tower.train()
            log.info("%s", record)
            with open(out_dir / "log.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            model = with_tower(encoder.model, tower.eval())
            save_model(model, encoder.tokenizer.to_bytes(), out_dir / f"step-{step + 1}")
            tower.train()
    return tower.eval()
