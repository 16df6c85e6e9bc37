"""`docsearch tune`: adapt a copy of the base encoder to what an index holds, within a time budget.

The budget covers everything the user waits for: reading the sentences, the teacher (when
asked for), training, and re-encoding the index with the adapted model. Re-encoding time is
estimated up front from the base model's measured speed, so training stops early enough.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from docsearch.errors import DocsearchError
from docsearch.model_config import fingerprint
from docsearch.tuning import validation
from docsearch.tuning.pairs import Corpus, PairBatcher
from docsearch.tuning.switch import store_model, switch_model
from docsearch.tuning.trainer import (
    SELF_SUPERVISED,
    WITH_TEACHER,
    Targets,
    TuneConfig,
    train_until,
)

if TYPE_CHECKING:
    from docsearch.encoder import Encoder
    from indexer import Index
    from indexer.model_record import ModelRecord

log = logging.getLogger(__name__)

# Sentences of the base model's own vectors kept as targets when there is no teacher.
KEEP_SAMPLE = 20_000
# Sentences timed to estimate how long re-encoding the index will take.
TIMING_SAMPLE = 1024
# Tune refuses a budget that leaves training less than this share of it.
MIN_TRAINING_SHARE = 0.3
# Fewer sentences than this give too little to learn from.
MIN_SENTENCES = 16

# progress(stage, done, total): stage is "teacher", "training" or "re-encoding".
Progress = Callable[[str, float, float], None]


@dataclass
class TuneReport:
    """What a tune (or reset) did; `seconds` per stage and in total."""

    model: str
    fingerprint: str
    base_fingerprint: str
    sentences: int
    teacher_sentences: int = 0
    steps: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    # Held-out validation (docsearch.tuning.validation): the base's and the adapted model's
    # scores, and whether the index switched (it keeps the base unless the adapted is better).
    validation: dict[str, float] = field(default_factory=dict)
    switched: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return asdict(self)


def read_corpus(index: Index) -> Corpus:
    """Every sentence of the index in reading order, with its document."""
    texts: list[str] = []
    documents: list[np.ndarray] = []
    for page in index.sentence_texts():
        texts.extend(page.texts)
        documents.append(page.document_ids)
    ids = np.concatenate(documents) if documents else np.empty(0, np.int64)
    return Corpus(texts, ids)


def tune(
    index: Index,
    base: Encoder,
    *,
    minutes: float,
    teacher: object | None = None,
    config: TuneConfig | None = None,
    wait_seconds: float = 30.0,
    progress: Progress | None = None,
    force: bool = False,
) -> TuneReport:
    """Train a copy of `base` on the index's sentences and switch the index over to it if it
    beats `base` on held-out documents (`docsearch.tuning.validation`), or if `force`.

    Args:
        index: the index to adapt to (and re-encode).
        base: the model to start from (the shipped one unless the user chose another).
        minutes: the whole budget, re-encoding included.
        teacher: a loaded teacher (`docsearch.tuning.teacher.load_teacher`), or None.
        config: training hyper-parameters (default: `SELF_SUPERVISED` or `WITH_TEACHER`).
        wait_seconds: how long to wait for another writer at the switch.
        progress: see `Progress`.

    Raises:
        DocsearchError: the index holds too little text to learn from.
    """
    started = time.monotonic()
    deadline = started + 60.0 * minutes
    config = config or (SELF_SUPERVISED if teacher is None else WITH_TEACHER)
    corpus = read_corpus(index)
    if len(corpus.texts) < MIN_SENTENCES:
        raise DocsearchError(
            f"the index holds {len(corpus.texts)} sentences; tune needs at least "
            f"{MIN_SENTENCES}: ingest more documents first"
        )
    encode_seconds = _estimate_encoding(base, corpus.texts)
    left = deadline - encode_seconds - time.monotonic()
    if left < MIN_TRAINING_SHARE * 60.0 * minutes:
        # With a margin: the encoding estimate varies from run to run by a few tens of percent,
        # and a suggestion that is refused in turn ("give 2", then "give 3") helps nobody.
        needed = 1.3 * (encode_seconds + time.monotonic() - started) / (1 - MIN_TRAINING_SHARE) / 60
        raise DocsearchError(
            f"re-encoding the index's {len(corpus.texts)} sentences alone takes about "
            f"{encode_seconds / 60:.1f} minutes, leaving too little of {minutes:g} for training; "
            f"give tune --minutes {math.ceil(needed)} or more"
        )
    log.info(
        "tune plan for %d sentences: %straining ~%.0f s, re-encoding ~%.0f s",
        len(corpus.texts),
        f"teacher <= {config.teacher_share * left:.0f} s, " if teacher is not None else "",
        left * (1 - config.teacher_share) if teacher is not None else left,
        encode_seconds,
    )
    seconds: dict[str, float] = {}
    train, held_out = validation.split(corpus)
    check = validation.pairs(held_out, seed=config.seed)
    guarded = len(check[0]) >= validation.MIN_PAIRS
    if not guarded:
        train = corpus
        log.info("too few documents to hold some out; tune switches without validation")
    scores = {"base": round(validation.score(base.encode, *check), 4)} if guarded else {}
    targets = _targets(base, train, teacher, deadline - encode_seconds, config, progress)
    seconds["targets"] = round(time.monotonic() - started, 1)

    # A query tower was trained against the base's document vectors, which tuning moves: the
    # adapted model encodes queries like documents.
    model = base.model.document_side()
    train_seconds = max(0.0, deadline - encode_seconds - time.monotonic())
    log.info("tuning on %d sentences for %.0f s", len(corpus.texts), train_seconds)
    mark = time.monotonic()
    steps = train_until(
        model,
        base.tokenizer,
        PairBatcher(train, seed=config.seed),
        targets,
        train_seconds,
        config,
        device=base.device,
        progress=None if progress is None else lambda share: progress("training", share, 1.0),
    )
    seconds["training"] = round(time.monotonic() - mark, 1)

    mark = time.monotonic()
    adapted = _encoder_like(base, model)
    if guarded:
        scores["adapted"] = round(validation.score(adapted.encode, *check), 4)
        if scores["adapted"] <= scores["base"] and not force:
            log.warning(
                "the adapted model is not better on held-out documents (%.4f against the base's "
                "%.4f); the index keeps its model",
                scores["adapted"],
                scores["base"],
            )
            seconds["total"] = round(time.monotonic() - started, 1)
            return TuneReport(
                model=base.name,
                fingerprint=base.fingerprint,
                base_fingerprint="",
                sentences=len(corpus.texts),
                teacher_sentences=len(targets.texts) if teacher is not None else 0,
                steps=steps,
                seconds=seconds,
                validation=scores,
                switched=False,
            )
    record = switch_model(
        index,
        adapted,
        lambda root: _store(root, adapted, base, scores),
        wait_seconds=wait_seconds,
        progress=None if progress is None else lambda d, t: progress("re-encoding", d, t),
    )
    seconds["re-encoding"] = round(time.monotonic() - mark, 1)
    seconds["total"] = round(time.monotonic() - started, 1)
    return TuneReport(
        model=record.name,
        fingerprint=record.fingerprint,
        base_fingerprint=record.base_fingerprint,
        sentences=len(corpus.texts),
        teacher_sentences=len(targets.texts) if teacher is not None else 0,
        steps=steps,
        seconds=seconds,
        validation=scores,
    )


def reset(
    index: Index,
    base: Encoder,
    *,
    wait_seconds: float = 30.0,
    progress: Progress | None = None,
) -> TuneReport:
    """Switch the index back to `base` (re-encoding it) and delete its adapted models."""
    from indexer.model_record import ModelRecord

    started = time.monotonic()
    record = switch_model(
        index,
        base,
        lambda _: ModelRecord(base.name, base.fingerprint),
        wait_seconds=wait_seconds,
        progress=None if progress is None else lambda d, t: progress("re-encoding", d, t),
    )
    return TuneReport(
        model=record.name,
        fingerprint=record.fingerprint,
        base_fingerprint="",
        sentences=index.counts()[1],
        seconds={"total": round(time.monotonic() - started, 1)},
    )


def _estimate_encoding(encoder: Encoder, texts: list[str]) -> float:
    """Seconds to encode all `texts`, from timing a sample (plus a margin for storing)."""
    sample = texts[:: max(1, len(texts) // TIMING_SAMPLE)][:TIMING_SAMPLE]
    mark = time.monotonic()
    encoder.encode(sample)
    per_text = (time.monotonic() - mark) / len(sample)
    return 1.2 * per_text * len(texts) + 1.0


def _targets(
    base: Encoder,
    corpus: Corpus,
    teacher: object | None,
    deadline: float,
    config: TuneConfig,
    progress: Progress | None,
) -> Targets:
    """The teacher's vectors of a sample of the corpus, or else the base model's own."""
    rng = np.random.default_rng(config.seed)
    if teacher is None:
        rows = rng.choice(len(corpus.texts), min(KEEP_SAMPLE, len(corpus.texts)), replace=False)
        texts = [corpus.texts[i] for i in rows]
        return Targets(texts, base.encode(texts))
    from docsearch.tuning.teacher import teacher_vectors

    budget = config.teacher_share * max(0.0, deadline - time.monotonic())
    rows, vectors = teacher_vectors(
        teacher,
        corpus.texts,
        budget,
        seed=config.seed,
        order=config.teacher_order,
        precision=config.teacher_precision,
        progress=None if progress is None else lambda d, t: progress("teacher", d, t),
    )
    if not len(rows):  # the budget was too small for even one chunk
        return _targets(base, corpus, None, deadline, config, progress)
    if vectors.shape[1] != base.dim:
        raise DocsearchError(
            f"the teacher gives {vectors.shape[1]}-d vectors but the model's are {base.dim}-d"
        )
    texts = [corpus.texts[i] for i in rows]
    moved = in_base_space(
        vectors, base.encode(texts), how=config.teacher_map, whitening=config.teacher_whitening
    )
    return Targets(texts, moved)


def in_base_space(
    teacher: np.ndarray,
    base: np.ndarray,
    ridge: float = 1e-3,
    how: str = "least_squares",
    whitening: float = 0.0,
) -> np.ndarray:
    """The teacher's vectors moved into the base model's coordinates.

    The shipped model's vectors are whitened (its last layer evens out the directions all
    sentences share); the teacher's are not. Distilling the teacher's raw vectors pulled the
    student back towards the unwhitened geometry, and `tune --teacher` lowered SciFact dense
    nDCG@10 from 0.492 to 0.421 (issue 14). Here the least-squares linear map from teacher to
    base vectors of the same sentences (ridge-regularised) is applied to the teacher's vectors:
    what the teacher knows about which sentences are alike, expressed in the base's space.
    That map is a regression onto the base's vectors, so it also pulls the targets towards
    what the base already says; `how="rotation"` uses the rotation that best aligns the two
    spaces instead (orthogonal Procrustes), which keeps every cosine between the teacher's
    vectors as it is.

    Args:
        teacher: float32[n, d] the teacher's unit vectors of n sentences.
        base: float32[n, d] the base model's unit vectors of the same sentences.
        ridge: regularisation of the least-squares map.
        how: "least_squares" or "rotation".
        whitening: first whiten the teacher's vectors this far, fitted on themselves, so they
            have the base's whitened geometry (`training.whitening.whiten_unit`; skipped when
            there are too few to fit it, no more than 2 d).

    Returns:
        float32[n, d] unit vectors.
    """
    if whitening and len(teacher) > 2 * teacher.shape[1]:
        from docsearch.training.whitening import whiten_unit

        teacher = whiten_unit(teacher, whitening)
    if how == "rotation":
        u, _, vt = np.linalg.svd(teacher.astype(np.float64).T @ base.astype(np.float64))
        rotated: np.ndarray = (teacher.astype(np.float64) @ (u @ vt)).astype(np.float32)
        return rotated
    if how != "least_squares":
        raise ValueError(f"unknown teacher map {how!r}")
    t = teacher.astype(np.float64)
    gram = t.T @ t + ridge * len(t) * np.eye(t.shape[1])
    mapped = t @ np.linalg.solve(gram, t.T @ base.astype(np.float64))
    mapped /= np.linalg.norm(mapped, axis=1, keepdims=True).clip(1e-12)
    return mapped.astype(np.float32)


def _encoder_like(base: Encoder, model: Any) -> Encoder:
    """An Encoder for `model` with `base`'s tokenizer and device, to re-encode the index with.

    Its fingerprint is only known once the model is stored; the index's record gets it there.
    """
    from docsearch.encoder import Encoder

    return Encoder(
        model, base.tokenizer, name=base.name + "-tuned", fingerprint="", device=base.device
    )


# Beside an adapted model's files: how it scored against its base when tune chose it (`status`).
TUNE_RECORD = "tune.json"


def _store(root: Any, adapted: Encoder, base: Encoder, validation: dict[str, float]) -> ModelRecord:
    import json

    from indexer.model_record import ModelRecord

    directory = store_model(root, adapted.model, adapted.tokenizer.to_bytes())
    adapted.model.to(adapted.device)  # storing moved it to the CPU
    record = {"base": base.name, "validation": validation, "tuned_at": time.time()}
    (root / directory / TUNE_RECORD).write_text(json.dumps(record) + "\n", encoding="utf-8")
    return ModelRecord(adapted.name, fingerprint(root / directory), directory, base.fingerprint)
