"""Question -> answer pairs from the redistributable (R) training sets.

What a user types is often a question ("how do I enable the magic SysRq key?") whose words
differ from the sentence that answers it. These pairs teach the query side of the encoder
(`query_tower.py`) to land a question near its answer:

- kernel documentation: a section heading (question-shaped headings weighted up) -> the first
  sentences of its section;
- dictionaries (WordNet, GCIDE, FOLDOC, Jargon File): "What is X?"-style questions built from
  the headword -> its definition;
- Debian package descriptions: the short description, or a question made from it -> the
  first sentence of the long description;
- PubMedQA: the question -> sentences of its abstract (training rows only, see `dev_split`);
- arXiv: the title -> sentences of its abstract (training rows only).

With `passage_words` > 0 each pair's answer is instead one passage, the answering text's
sentences joined up to that many words, the unit the engine's lexical side ranks (~200 words).

Templates are drawn with a seeded generator, so the same seed builds the same pairs.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from docsearch.training.data import (
    _clean,
    _dictionary_definition,
    _jsonl,
    _rst_prose,
    dev_split,
    sentences_of,
)

_UNDERLINE = re.compile(r"[=\-~^*#+`:.'\"]{3,}")
_NUMBERING = re.compile(r"^(?:Q:\s*|\(?\d+(?:[.\-]\d+)*[.)]?\s+|[A-Z][.)]\s+|[-*]\s+)")

TERM_QUESTIONS = (
    "What is {}?",
    "what is {}",
    "What does {} mean?",
    "What is meant by {}?",
    "What is the meaning of {}?",
    "Define {}.",
    "{}",
    "Can you explain {}?",
)
PACKAGE_QUESTIONS = (
    "{}",
    "Which package provides {}?",
    "Is there a {}?",
    "I need {}",
    "What can I use as {}?",
)


@dataclass(frozen=True)
class QuestionPair:
    """A query (often a question) and the sentences that answer it; `source` names the set."""

    query: str
    answers: tuple[str, ...]
    source: str
    group: str = ""  # the file the pair comes from, where several pairs share one (kernel)


class QuestionPairs:
    """Draw (question, answer) batches by source mix; no text twice in a batch.

    With `group_size` > 1 a pair drawn from a file of several pairs (`QuestionPair.group`)
    brings up to `group_size - 1` others of the same file into the batch, so that in-batch
    negatives include other sections of the same document, as a folder's own passages are
    the distractors of a user's question.

    A `docsearch.tuning.trainer.PairSource`, so `train_until` takes it.
    """

    def __init__(
        self, pairs: list[QuestionPair], mix: dict[str, float], seed: int, group_size: int = 1
    ) -> None:
        self.rng = random.Random(seed)
        self.group_size = group_size
        self.by_source: dict[str, list[QuestionPair]] = {}
        self.by_group: dict[str, list[QuestionPair]] = {}
        for p in pairs:
            self.by_source.setdefault(p.source, []).append(p)
            if p.group:
                self.by_group.setdefault(p.group, []).append(p)
        self.sources = sorted(s for s in self.by_source if mix.get(s, 0) > 0)
        self.weights = [mix[s] for s in self.sources]

    def sample(self, size: int) -> tuple[list[str], list[str]]:
        questions: list[str] = []
        answers: list[str] = []
        seen: set[str] = set()
        while len(questions) < size:
            source = self.rng.choices(self.sources, self.weights)[0]
            first = self.rng.choice(self.by_source[source])
            for pair in self._with_siblings(first, size - len(questions)):
                answer = self.rng.choice(pair.answers)
                if pair.query == answer or pair.query in seen or answer in seen:
                    continue
                seen.update((pair.query, answer))
                questions.append(pair.query)
                answers.append(answer)
        return questions, answers

    def _with_siblings(self, pair: QuestionPair, room: int) -> list[QuestionPair]:
        """`pair`, then up to `group_size - 1` (and `room - 1`) other pairs of its file."""
        n = min(self.group_size, room) - 1
        if n <= 0 or not pair.group:
            return [pair]
        others = [p for p in self.by_group[pair.group] if p is not pair]
        return [pair, *self.rng.sample(others, min(n, len(others)))]


def clean_heading(line: str) -> str:
    """A heading without its numbering ("1.6 ", "Q: ", "4. ") and shouting."""
    text = _NUMBERING.sub("", line.strip()).strip()
    if text.isupper():
        text = text.capitalize()
    return text


def rst_sections(text: str) -> Iterator[tuple[str, str]]:
    """(heading, body) of each underlined section of a reStructuredText file."""
    lines = text.splitlines()
    starts = [
        i
        for i in range(len(lines) - 1)
        if lines[i].strip()
        and _UNDERLINE.fullmatch(lines[i + 1].strip())
        and len(lines[i + 1].strip()) >= len(lines[i].strip()) - 2
        and not _UNDERLINE.fullmatch(lines[i].strip())
    ]
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        yield lines[start], "\n".join(lines[start + 2 : end])


def answer_of(sentences: list[str], n: int, passage_words: int) -> tuple[str, ...]:
    """The first `n` sentences, or with `passage_words` > 0 one passage: the sentences joined
    while they fit in that many words (the first always)."""
    if passage_words <= 0:
        return tuple(sentences[:n])
    kept: list[str] = []
    words = 0
    for sentence in sentences:
        words += len(sentence.split())
        if kept and words > passage_words:
            break
        kept.append(sentence)
    return (" ".join(kept),) if kept else ()


def kernel_pairs(rows: Iterator[dict[str, str]], passage_words: int = 0) -> list[QuestionPair]:
    """Heading -> the first three prose sentences of its section (`kernel_question` when the
    heading is a question)."""
    out = []
    for n, row in enumerate(rows):
        for heading, body in rst_sections(row["text"]):
            query = clean_heading(heading)
            answers = answer_of(sentences_of(_rst_prose(body)), 3, passage_words)
            if len(query.split()) < 2 or not answers:
                continue
            source = "kernel_question" if query.endswith("?") else "kernel_heading"
            out.append(QuestionPair(query, answers, source, f"kernel:{n}"))
    return out


def term_pairs(
    terms: Iterator[tuple[str, str]], source: str, rng: random.Random, passage_words: int = 0
) -> list[QuestionPair]:
    """A question about each term -> the first two sentences of its definition."""
    out = []
    for term, definition in terms:
        answers = answer_of(sentences_of(definition, min_words=3), 2, passage_words) or (
            definition,
        )
        if term.strip() and len(definition.split()) >= 4:
            out.append(QuestionPair(rng.choice(TERM_QUESTIONS).format(term), answers, source))
    return out


def load_question_pairs(
    data_dir: Path, seed: int = 0, passage_words: int = 0
) -> list[QuestionPair]:
    """Every question pair of the R sets in `data_dir` (see the module docstring)."""
    rng = random.Random(seed)
    words = passage_words  # 0: sentences
    pairs = kernel_pairs(_jsonl(data_dir / "linux_kernel_docs.jsonl.gz"), words)
    wordnet = (
        (row["lemmas"][0].replace("_", " "), row["definition"])
        for row in _jsonl(data_dir / "wordnet30_synsets.jsonl.gz")
    )
    pairs += term_pairs(wordnet, "wordnet", rng, words)
    for name in ("gcide_entries", "foldoc_entries", "jargon_entries"):
        rows = _jsonl(data_dir / f"{name}.jsonl.gz")
        terms = ((row["headword"], _dictionary_definition(row["text"])) for row in rows)
        pairs += term_pairs(terms, name.split("_")[0], rng, words)
    for row in _jsonl(data_dir / "debian_package_descriptions.jsonl.gz"):
        long = sentences_of(row["long"])
        short = row["short"].strip().rstrip(".")
        if long and short:
            query = rng.choice(PACKAGE_QUESTIONS).format(short[0].lower() + short[1:])
            pairs.append(QuestionPair(query, answer_of(long, 2, words), "debian"))
    for row in dev_split(_jsonl(data_dir / "pubmedqa_labeled.jsonl.gz"), train=True):
        sentences = sentences_of(" ".join(row["contexts"]))
        answers = answer_of(sentences, 4, words)
        if not words:
            answers = (*answers, _clean(row["long_answer"]))
        pairs.append(QuestionPair(_clean(row["question"]), answers, "pubmedqa"))
    for row in dev_split(_jsonl(data_dir / "arxiv_cs_abstracts.jsonl.gz"), train=True):
        sentences = sentences_of(row["abstract"])
        if sentences:
            answers = answer_of(sentences, 3, words)
            pairs.append(QuestionPair(_clean(row["title"]), answers, "arxiv"))
    return pairs
