"""Training data: the distillation pool, training pairs and batching.

The pool is built only from the redistributable (R) sets in `shared/data/train`; see the model card.
Every text in the pool gets a cached teacher vector (`teacher.py`); the student learns to
reproduce those vectors, and pairs (title -> body, question -> abstract, lemma -> gloss ...)
add a retrieval-shaped contrastive signal on top.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# A light sentence cut for building training text; the engine's own splitter lives in splitting.py.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_SPACES = re.compile(r"\s+")
_GCIDE_NOISE = re.compile(r"\\[^\\]*\\|\[[^\]]*\]|\{|\}|--[A-Z][\w. ]*")


@dataclass(frozen=True)
class Pair:
    """Two texts that should land close to each other; `source` names the data set.

    `negative`, where the data has one, is a text that looks close to `anchor` but must not
    land close to it (an SNLI contradiction of the same premise); empty otherwise.
    """

    anchor: str
    positive: str
    source: str
    negative: str = ""


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def sentences_of(text: str, min_words: int = 4, max_words: int = 60) -> list[str]:
    """Cut running text into sentences of a useful length for training."""
    out = []
    for paragraph in re.split(r"\n\s*\n", text):
        for sentence in _SENTENCE_END.split(_clean(paragraph)):
            n = len(sentence.split())
            if min_words <= n <= max_words:
                out.append(sentence)
    return out


def _rst_prose(text: str) -> str:
    """Drop RST directives, underlines and literal blocks, keeping paragraphs of prose."""
    keep = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("..") or re.fullmatch(r"[=\-~^*#+`:.'\"]{3,}", stripped or "x"):
            keep.append("")
        elif line.startswith(("    ", "\t")):
            keep.append("")
        else:
            keep.append(
                re.sub(r":\w+:`([^`]*)`|``([^`]*)``", lambda m: m.group(1) or m.group(2), line)
            )
    return "\n".join(keep)


def _dictionary_definition(text: str) -> str:
    cleaned = _clean(_GCIDE_NOISE.sub(" ", text))
    # Drop the leading headword/part-of-speech clutter ("Accipient , n. .")
    cleaned = re.sub(r"^[^.]{0,60}?\b(n|v|a|adj|adv|v\. ?t|v\. ?i)\.\s*[.;,]?\s*", "", cleaned)
    return cleaned[:400]


# The last rows of PubMedQA and of the arXiv set are held out of training entirely: they form
# the development set on which retrieval settings (e.g. hybrid fusion weights) are chosen.
DEV_ROWS = 200


def dev_split(rows: Iterator[dict[str, Any]], *, train: bool) -> list[dict[str, Any]]:
    """The training part (all rows but the last DEV_ROWS) or the held-out development part."""
    items = list(rows)
    return items[:-DEV_ROWS] if train else items[-DEV_ROWS:]


def snli_hard_triples(by_premise: dict[str, dict[str, str]]) -> list[Pair]:
    """(premise, entailed hypothesis, contradicting hypothesis) for premises that have both.

    Args:
        by_premise: premise -> label ("entailment", "contradiction", ...) -> first hypothesis.
    """
    return [
        Pair(premise, labels["entailment"], "snli_hard", negative=labels["contradiction"])
        for premise, labels in by_premise.items()
        if "entailment" in labels and "contradiction" in labels
    ]


def load_sources(data_dir: Path) -> tuple[dict[str, list[str]], list[Pair]]:
    """Read every R training set: texts per source (for the pool) and natural pairs.

    Returns:
        texts: source name -> list of texts (sentences or short passages).
        pairs: aligned (anchor, positive) pairs.
    """
    texts: dict[str, list[str]] = {}
    pairs: list[Pair] = []

    sci: list[str] = []
    for row in dev_split(_jsonl(data_dir / "pubmedqa_labeled.jsonl.gz"), train=True):
        abstract = " ".join(row["contexts"])
        sentences = sentences_of(abstract)
        sci += [row["question"], *sentences, *sentences_of(row["long_answer"])]
        pairs += [Pair(row["question"], s, "pubmedqa") for s in sentences[:4]]
        pairs.append(Pair(row["question"], _clean(row["long_answer"]), "pubmedqa"))
        # The last sentence of the conclusion as a claim, and the results it rests on.
        for claim in sentences_of(row["long_answer"])[-1:]:
            pairs += [Pair(claim, s, "pubmedqa_claim") for s in sentences[-3:]]
    for row in dev_split(_jsonl(data_dir / "arxiv_cs_abstracts.jsonl.gz"), train=True):
        title, sentences = _clean(row["title"]), sentences_of(row["abstract"])
        sci += [title, *sentences]
        pairs += [Pair(title, s, "arxiv") for s in sentences[:3]]
    texts["science"] = sci

    wordnet: list[str] = []
    for row in _jsonl(data_dir / "wordnet30_synsets.jsonl.gz"):
        lemma = row["lemmas"][0].replace("_", " ")
        wordnet.append(row["definition"])
        wordnet += row["examples"]
        pairs.append(Pair(lemma, row["definition"], "wordnet"))
        pairs += [Pair(ex, row["definition"], "wordnet") for ex in row["examples"][:1]]
    texts["wordnet"] = wordnet

    debian: list[str] = []
    for row in _jsonl(data_dir / "debian_package_descriptions.jsonl.gz"):
        long = sentences_of(row["long"])
        debian.append(row["short"])
        debian += long[:2]
        if long:
            pairs.append(Pair(row["short"], long[0], "debian"))
    texts["debian"] = debian

    snli: list[str] = []
    by_premise: dict[str, dict[str, str]] = {}
    for row in _jsonl(data_dir / "snli_devtest_pairs.jsonl.gz"):
        premise, hypothesis = _clean(row["premise"]), _clean(row["hypothesis"])
        snli += [premise, hypothesis]
        if row["label"] == "entailment":
            pairs.append(Pair(premise, hypothesis, "snli"))
        by_premise.setdefault(premise, {}).setdefault(row["label"], hypothesis)
    texts["snli"] = list(dict.fromkeys(snli))
    pairs += snli_hard_triples(by_premise)

    dictionary: list[str] = []
    for name in ("gcide_entries", "foldoc_entries", "jargon_entries"):
        for row in _jsonl(data_dir / f"{name}.jsonl.gz"):
            definition = _dictionary_definition(row["text"])
            if len(definition.split()) >= 4:
                dictionary.append(definition)
                pairs.append(Pair(row["headword"], definition, name.split("_")[0]))
    texts["dictionary"] = dictionary

    kernel: list[str] = []
    for row in _jsonl(data_dir / "linux_kernel_docs.jsonl.gz"):
        kernel += sentences_of(_rst_prose(row["text"]))
    texts["kernel"] = kernel

    books: list[str] = []
    for path in sorted((data_dir / "gutenberg").glob("*.txt.gz")):
        books += sentences_of(gzip.open(path, "rt", encoding="utf-8", errors="replace").read())
    texts["books"] = books
    return texts, pairs


# How many texts of each source go to the teacher, in this order (science first: it is the
# scarcest and closest to what users search).
DEFAULT_POOL_SIZES = {
    "science": 1_000_000,
    "snli": 30_000,
    "wordnet": 45_000,
    "debian": 35_000,
    "kernel": 30_000,
    "dictionary": 25_000,
    "books": 25_000,
}


def build_pool(
    texts: dict[str, list[str]], sizes: dict[str, int] | None = None, seed: int = 0
) -> list[str]:
    """Pick the texts to distil: a seeded sample per source, deduplicated, science first."""
    rng = random.Random(seed)
    pool: list[str] = []
    for source, n in (sizes or DEFAULT_POOL_SIZES).items():
        items = list(dict.fromkeys(t for t in texts.get(source, []) if t))
        rng.shuffle(items)
        pool += items[:n]
    return list(dict.fromkeys(pool))


def batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Yield shuffled index batches covering range(n) once (the last short batch is dropped).

    Returns:
        int64[batch_size] arrays of row indices.
    """
    order = rng.permutation(n)
    for i in range(0, n - batch_size + 1, batch_size):
        yield order[i : i + batch_size]


def topic_batches(
    topics: np.ndarray, batch_size: int, per_topic: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """`batches`, but each batch made of runs of `per_topic` texts of one topic (topic-aware
    sampling, as TAS-B composes its distillation batches): a student's in-batch negatives are
    then texts near its own, where a random batch teaches only coarse distinctions. Runs are cut
    from the texts laid out topic by topic, so where a topic's size is not a multiple of
    `per_topic` one run holds the end of a topic and the start of the next.

    Args:
        topics: int[n] a topic (cluster) label per text.
    Returns:
        int64[batch_size] arrays of row indices, every text once (the last short batch dropped).
    """
    n = len(topics)
    order = np.lexsort((rng.random(n), topics))  # topics contiguous, shuffled within each
    runs = [order[i : i + per_topic] for i in range(0, n - per_topic + 1, per_topic)]
    picked = rng.permutation(len(runs))
    per_batch = batch_size // per_topic
    for i in range(0, len(picked) - per_batch + 1, per_batch):
        yield np.concatenate([runs[j] for j in picked[i : i + per_batch]])


# The second teacher cache: a larger sample of the general sources (texts already in the first
# cache are skipped), so the student sees more of the teacher's space.
EXTRA_POOL_SIZES = {
    "snli": 30_000,
    "wordnet": 110_000,
    "debian": 100_000,
    "kernel": 90_000,
    "dictionary": 80_000,
    "books": 50_000,
}
