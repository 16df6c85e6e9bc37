"""The training loop: distil the teacher into the BiGRU, with pair contrast, checkpoints and resume.

Run it as `python -m docsearch.training train --config configs/default.toml --out DIR`.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from docsearch.model import BiGRUEncoder, EncoderConfig, load_model, save_model
from docsearch.tokenizer import Tokenizer
from docsearch.training.data import Pair, batches, topic_batches
from docsearch.training.losses import DistillationLoss, PairLoss
from docsearch.training.schedule import learning_rate

log = logging.getLogger(__name__)


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's content (`tomllib`; `tomli` on Python 3.10, in the dev group there).

    Imported here, not at the top: `docsearch tune` imports this module and never reads TOML.
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef,unused-ignore]
    return tomllib.loads(path.read_text(encoding="utf-8"))


def read_config(cls: Any, path: Path) -> dict[str, Any]:
    """A config file's keys for the dataclass `cls`; unknown keys are an error so typos
    don't pass silently."""
    data = read_toml(Path(path))
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"unknown keys in {path}: {sorted(unknown)}")
    return data


@dataclass(frozen=True)
class TrainConfig:
    """Every hyper-parameter of a training run (read from a TOML file, saved beside the model)."""

    data_dir: str = "../shared/data/train"
    teacher_caches: tuple[str, ...] = ("~/.cache/docsearch/teacher/pool-v1",)
    # Use only the first N cached teacher vectors (0: all); records exactly what a model saw.
    max_teacher_texts: int = 0
    seed: int = 0
    # Start from this model's weights and tokenizer (a model directory), not from scratch.
    init_from: str = ""
    vocab_size: int = 16000
    tokenizer_sentences: int = 400_000
    embed_dim: int = 256
    hidden_dim: int = 256
    num_layers: int = 1
    out_dim: int = 384
    pooling: str = "mean"
    max_tokens: int = 128
    train_max_tokens: int = 64
    batch_size: int = 256
    pair_batch_size: int = 128
    pair_weight: float = 0.5
    pair_mix: dict[str, float] = field(default_factory=dict)
    temperature: float = 0.05
    distance_weight: float = 1.0
    peak_lr: float = 2e-3
    warmup_steps: int = 200
    steps: int = 3000
    weight_decay: float = 0.01
    eval_every: int = 250
    checkpoint_every: int = 250
    threads: int = 2
    # Topic-aware batches (0: random batches): the distillation texts clustered by their teacher
    # vectors into this many topics, each batch made of runs of `topic_size` texts of one topic.
    topic_clusters: int = 0
    topic_size: int = 64

    @classmethod
    def from_toml(cls, path: Path) -> TrainConfig:
        """Read a config file (see `read_config`)."""
        data = read_config(cls, path)
        if "teacher_caches" in data:
            data["teacher_caches"] = tuple(data["teacher_caches"])
        return cls(**data)

    def encoder_config(self, vocab_size: int) -> EncoderConfig:
        """The architecture part of this config."""
        return EncoderConfig(
            vocab_size=vocab_size,
            embed_dim=self.embed_dim,
            hidden_dim=self.hidden_dim,
            num_layers=self.num_layers,
            out_dim=self.out_dim,
            pooling=self.pooling,
            max_tokens=self.max_tokens,
        )


def pad_batch(rows: list[list[int]], max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token rows (cut to `max_tokens`) into a batch.

    Returns:
        ids: int64[batch, longest]; lengths: int64[batch] (at least 1: empty rows get one pad).
    """
    rows = [r[:max_tokens] or [0] for r in rows]
    lengths = torch.tensor([len(r) for r in rows])
    ids = torch.zeros((len(rows), int(lengths.max())), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
    return ids, lengths


# Pair sources added after bigru-minilm-v2 are drawn only when a config's pair_mix names them,
# so the recipes of earlier models (which do not) still draw exactly the same batches.
OPT_IN_SOURCES = frozenset({"pubmedqa_claim", "snli_hard"})


class PairSampler:
    """Draw pair batches with a fixed share per source (science is scarce and matters most)."""

    def __init__(self, pairs: list[Pair], mix: dict[str, float], seed: int) -> None:
        self.by_source: dict[str, list[Pair]] = {}
        for p in pairs:
            self.by_source.setdefault(p.source, []).append(p)
        weights = {s: mix.get(s, 0.0 if s in OPT_IN_SOURCES else 1.0) for s in self.by_source}
        total = sum(weights.values())
        self.sources = sorted(weights)
        self.probs = [weights[s] / total for s in self.sources]
        self.rng = random.Random(seed)

    def sample(self, n: int) -> list[Pair]:
        """n pairs; anchors are unique within the batch so no anchor sees its own positive twice."""
        out: list[Pair] = []
        seen: set[str] = set()
        while len(out) < n:
            source = self.rng.choices(self.sources, self.probs)[0]
            pair = self.rng.choice(self.by_source[source])
            texts = [pair.anchor, pair.positive] + ([pair.negative] if pair.negative else [])
            if not seen.intersection(texts):
                seen.update(texts)
                out.append(pair)
        return out


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train(
    config: TrainConfig,
    out_dir: Path,
    texts: list[str],
    teacher: np.ndarray,
    pairs: list[Pair],
    *,
    tokenizer: Tokenizer,
    evaluate: object = None,
    show_progress: bool = False,
    init_from: Path | None = None,
) -> Path:
    """Train a student from cached teacher vectors; write checkpoints and the best model.

    Args:
        config: hyper-parameters.
        out_dir: run directory: `checkpoint.pt` (resumable state), `best/` (the model with the
            best evaluation score, or the last one without `evaluate`), `log.jsonl`.
        texts: the distillation pool, aligned with `teacher`.
        teacher: float16/32[n, dim] teacher vectors of `texts`.
        pairs: aligned text pairs for the pair loss (may be empty).
        tokenizer: the tokenizer the model will ship with.
        evaluate: optional callable(model) -> float (higher is better), run every `eval_every`.
        init_from: a model directory whose weights start the run (same architecture and
            tokenizer); ignored when resuming from a checkpoint.

    Returns:
        The directory of the saved model.
    """
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    device = _device()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "train_config.json").write_text(json.dumps(asdict(config), indent=2), "utf-8")

    model = BiGRUEncoder(config.encoder_config(tokenizer.vocab_size))
    if init_from is not None:
        model.load_state_dict(load_model(init_from).state_dict())
    model.to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.peak_lr, weight_decay=config.weight_decay
    )
    distill = DistillationLoss(config.temperature, config.distance_weight)
    pair_loss = PairLoss(config.temperature)
    token_ids = tokenizer.encode(texts)
    teacher_t = torch.from_numpy(np.asarray(teacher, dtype=np.float32))
    sampler = PairSampler(pairs, config.pair_mix, config.seed) if pairs else None

    step, best = 0, float("-inf")
    checkpoint = out_dir / "checkpoint.pt"
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=True, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, best = int(state["step"]), float(state["best"])
        log.info("resumed from step %d", step)
    rng = np.random.default_rng(config.seed + step)
    if sampler is not None:
        sampler.rng.seed(config.seed + step)

    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    started, seen = time.monotonic(), 0
    topics = _topics(teacher_t, config) if config.topic_clusters else None
    model.train()
    while step < config.steps:
        epoch = (
            batches(len(texts), config.batch_size, rng)
            if topics is None
            else topic_batches(topics, config.batch_size, config.topic_size, rng)
        )
        for index in epoch:
            if step >= config.steps:
                break
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(
                    step, peak=config.peak_lr, warmup=config.warmup_steps, total=config.steps
                )
            ids, lengths = pad_batch([token_ids[i] for i in index], config.train_max_tokens)
            with autocast:
                student = model(ids.to(device), lengths.to(device))
                loss = distill(student, teacher_t[index].to(device))
                if sampler is not None and config.pair_weight > 0:
                    loss = loss + config.pair_weight * _pair_batch_loss(
                        model, sampler.sample(config.pair_batch_size), tokenizer, config, pair_loss
                    )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            seen += len(index)
            if show_progress and step % 25 == 0:
                rate = seen / (time.monotonic() - started)
                log.info(
                    "step %d/%d loss %.4f  %.0f texts/s", step, config.steps, loss.item(), rate
                )
            if step % config.eval_every == 0 or step == config.steps:
                score = _evaluate(model, evaluate)
                _append_log(out_dir, {"step": step, "loss": loss.item(), "score": score})
                if score is None or score > best:
                    best = score if score is not None else best
                    save_model(model.cpu(), tokenizer.to_bytes(), out_dir / "best")
                    model.to(device)
                model.train()
            if step % config.checkpoint_every == 0:
                _save_checkpoint(checkpoint, model, optimizer, step, best)
    _save_checkpoint(checkpoint, model, optimizer, step, best)
    return out_dir / "best"


def _topics(teacher: torch.Tensor, config: TrainConfig) -> np.ndarray:
    """A topic per distillation text: k-means (FAISS) of its teacher vector, `topic_clusters`
    centroids trained on at most 64 vectors each."""
    import faiss

    vectors = np.ascontiguousarray(teacher.numpy(), dtype=np.float32)
    kmeans = faiss.Kmeans(
        vectors.shape[1],
        config.topic_clusters,
        niter=10,
        seed=config.seed,
        spherical=True,
        max_points_per_centroid=64,
    )
    kmeans.train(vectors)
    _, labels = kmeans.index.search(vectors, 1)
    log.info("%d texts in %d topics", len(vectors), config.topic_clusters)
    return labels[:, 0]


def _pair_batch_loss(
    model: BiGRUEncoder,
    batch: list[Pair],
    tokenizer: Tokenizer,
    config: TrainConfig,
    pair_loss: PairLoss,
) -> torch.Tensor:
    """InfoNCE over one pair batch; the hard negatives of the pairs that have one join the
    in-batch negatives of every anchor."""
    negatives = [p.negative for p in batch if p.negative]
    rows = tokenizer.encode([p.anchor for p in batch] + [p.positive for p in batch] + negatives)
    ids, lengths = pad_batch(rows, config.train_max_tokens)
    device = next(model.parameters()).device
    vectors = model(ids.to(device), lengths.to(device))
    n = len(batch)
    loss: torch.Tensor = pair_loss(
        vectors[:n], vectors[n : 2 * n], vectors[2 * n :] if negatives else None
    )
    return loss


def _evaluate(model: BiGRUEncoder, evaluate: object) -> float | None:
    """`evaluate(model)`, the model back on its device afterwards: an evaluation that encodes
    through `Encoder` moves it to the CPU, and on CUDA the next step would then fail."""
    if evaluate is None:
        return None
    device = next(model.parameters()).device
    model.eval()
    with torch.inference_mode():
        score = float(evaluate(model))  # type: ignore[operator]
    model.to(device)
    log.info("evaluation score %.4f", score)
    return score


def _append_log(out_dir: Path, record: dict[str, object]) -> None:
    with open(out_dir / "log.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def _save_checkpoint(
    path: Path, model: BiGRUEncoder, optimizer: torch.optim.Optimizer, step: int, best: float
) -> None:
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "step": step,
        "best": best,
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
