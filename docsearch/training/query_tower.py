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

from docsearch.encoder import Encoder, pool
from docsearch.model import BiGRUEncoder, save_model
from docsearch.training.pooling import SentenceSplits
from docsearch.training.questions import QuestionPair, QuestionPairs, load_question_pairs
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
    # > 0: answers are passages of up to this many words, targets their pooled vectors (the
    # engine's passage unit); 0: answers are sentences (session 7).
    passage_words: int = 0
    group_size: int = 1  # pairs of one file drawn together (`QuestionPairs`)
    # The teacher's ranking (`TeacherRanking`): a cache of its vectors of questions and answers
    # (one `question-distill` wrote with the same seed and passage_words), and its loss weight.
    teacher_cache: str = ""
    teacher_weight: float = 0.0
    teacher_batch: int = 128
    teacher_temperature: float = 0.05
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
    """The answers' texts and their base-encoder vectors (cached on disk by model and texts).

    With `pooled`, an answer's vector is the pool of its sentences' vectors (`pooling.py`), as
    the engine stores a passage, and `sentences` / `sentence_vectors` keep a sample of those
    sentences with their own vectors, the identity rows of a batch. Without it, the answers
    are sentences and serve as both.
    """

    def __init__(
        self, pairs: list[QuestionPair], encoder: Encoder, cache: Path, pooled: bool = False
    ) -> None:
        self.pooled = pooled
        self.texts = list(dict.fromkeys(a for p in pairs for a in p.answers))
        self.row = {t: i for i, t in enumerate(self.texts)}
        key = f"{encoder.fingerprint}_{len(self.texts)}_{hash_texts(self.texts)}"
        key += "_pooled" if pooled else ""
        path = cache / f"answers_{key}.npz"
        if not path.exists():
            started = time.perf_counter()
            arrays = _encode_answers(self.texts, encoder, pooled)
            log.info("encoded %d answers in %.0f s", len(self.texts), time.perf_counter() - started)
            cache.mkdir(parents=True, exist_ok=True)
            np.savez(path, allow_pickle=False, **arrays)
        with np.load(path) as saved:
            self.vectors = saved["vectors"]
            self.sentences = [str(t) for t in saved["sentences"]] if pooled else self.texts
            self.sentence_vectors = saved["sentence_vectors"] if pooled else self.vectors


IDENTITY_SENTENCES = 100_000  # sentences kept for the identity rows of a pooled bank


def _encode_answers(texts: list[str], encoder: Encoder, pooled: bool) -> dict[str, np.ndarray]:
    """The answers' vectors, and for a pooled bank a sample of their sentences with theirs."""
    if not pooled:
        return {"vectors": encoder.encode(texts, batch_size=64)}
    sentences, owner = SentenceSplits().flatten(texts)
    sentence_vectors = encoder.encode(sentences, batch_size=128)
    keep = np.random.default_rng(0).permutation(len(sentences))[:IDENTITY_SENTENCES]
    return {
        "vectors": pool(sentence_vectors, owner, len(texts)),
        "sentences": np.array([sentences[i] for i in keep]),
        "sentence_vectors": sentence_vectors[keep],
    }


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
    """Draw batches of query texts with the row of each one's target: questions by source
    mix (`QuestionPairs`, with same-file groups), then identity rows (a sentence, its own
    vector). Targets are rows of `bank.vectors`, then of `bank.sentence_vectors` for a pooled
    bank (see `targets`)."""

    def __init__(self, pairs: list[QuestionPair], bank: AnswerBank, config: TowerConfig) -> None:
        self.bank, self.config = bank, config
        self.questions = QuestionPairs(pairs, config.mix, config.seed, config.group_size)
        self.rng = random.Random(config.seed)

    def sample(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Query texts, the row of each one's target, and which rows are identity rows."""
        n_identity = int(self.config.batch_size * self.config.identity_share)
        texts, answers = self.questions.sample(self.config.batch_size - n_identity)
        rows = [self.bank.row[a] for a in answers]
        # Unpooled, identity rows come from the answers' own table: none may repeat a target.
        taken = set() if self.bank.pooled else set(rows)
        for row in self.rng.sample(range(len(self.bank.sentences)), n_identity + len(taken)):
            if len(texts) == self.config.batch_size:
                break
            if row not in taken:
                texts.append(self.bank.sentences[row])
                rows.append(row)
        identity = np.arange(len(texts)) >= len(answers)
        return texts, np.array(rows), identity

    def targets(self, rows: np.ndarray, identity: np.ndarray) -> torch.Tensor:
        """float32[batch, dim]: each row's target vector."""
        out = np.empty((len(rows), self.bank.vectors.shape[1]), np.float32)
        out[~identity] = self.bank.vectors[rows[~identity]]
        out[identity] = self.bank.sentence_vectors[rows[identity]]
        return torch.from_numpy(out)


class TeacherRanking:
    """What the teacher says about a question beyond its one answer: how it ranks every answer
    whose teacher vector is cached.

    Per step, a batch of cached questions is scored by the tower against the base encoder's
    vectors of those answers and by the teacher against its own vectors of them; the loss is
    the KL divergence of the tower's softmax from the teacher's (`ranking_loss`). The tower
    learns the teacher's whole ordering of the answers for a question, in the documents'
    space, which it cannot change.
    """

    def __init__(self, directory: Path, bank: AnswerBank, queries: set[str], seed: int) -> None:
        from docsearch.training.teacher import load_teacher_cache

        texts, vectors = load_teacher_cache(directory)
        answers = [i for i, t in enumerate(texts) if t in bank.row]
        asked = [i for i, t in enumerate(texts) if t in queries and t not in bank.row]
        if not answers or not asked:
            raise ValueError(f"{directory} holds no answers or questions of these pairs")
        self.student_answers = torch.from_numpy(bank.vectors[[bank.row[texts[i]] for i in answers]])
        self.teacher_answers = torch.from_numpy(vectors[answers].astype(np.float32))
        self.questions = [texts[i] for i in asked]
        self.teacher_questions = torch.from_numpy(vectors[asked].astype(np.float32))
        self.rng = np.random.default_rng(seed)

    def sample(self, size: int) -> tuple[list[str], torch.Tensor]:
        """`size` questions and the teacher's vectors of them."""
        drawn = self.rng.choice(len(self.questions), size, replace=False)
        return [self.questions[i] for i in drawn], self.teacher_questions[drawn]


def ranking_loss(
    student: torch.Tensor,
    student_answers: torch.Tensor,
    teacher: torch.Tensor,
    teacher_answers: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """KL divergence of the student's distribution over the answers from the teacher's, both
    softmaxes of cosines over `temperature`, averaged over the batch."""
    student_log = F.log_softmax(student @ student_answers.T / temperature, dim=-1)
    teacher_log = F.log_softmax(teacher @ teacher_answers.T / temperature, dim=-1)
    return F.kl_div(student_log, teacher_log, log_target=True, reduction="batchmean")


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
    pairs = load_question_pairs(Path(config.data_dir), config.seed, config.passage_words)
    bank = AnswerBank(pairs, encoder, cache, pooled=config.passage_words > 0)
    batches = Batches(pairs, bank, config)
    vectors = torch.from_numpy(bank.vectors)
    ranking = (
        TeacherRanking(
            Path(config.teacher_cache).expanduser(), bank, {p.query for p in pairs}, config.seed
        )
        if config.teacher_weight > 0
        else None
    )
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
        texts, rows, identity = batches.sample()
        ids, lengths = pad_batch(encoder.tokenizer.encode(texts), config.train_max_tokens)
        negatives = generator.integers(0, len(vectors), config.bank_size)
        loss = tower_loss(
            tower(ids, lengths),
            batches.targets(rows, identity),
            vectors[negatives],
            config.temperature,
        )
        if ranking is not None:
            asked, teacher = ranking.sample(config.teacher_batch)
            ids, lengths = pad_batch(encoder.tokenizer.encode(asked), config.train_max_tokens)
            loss = loss + config.teacher_weight * ranking_loss(
                tower(ids, lengths),
                ranking.student_answers,
                teacher,
                ranking.teacher_answers,
                config.teacher_temperature,
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
