"""Lexical search: user text is only ever words, BM25 over passages ranks sensibly, and a
passage is shown by its best sentence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from indexer import lexical
from indexer.lexical.porter import stem
from indexer.lexical.postings import Postings
from indexer.records import DocumentRecord, SentenceRecord
from indexer.schema import create_tables, make_engine
from indexer.store import MetadataStore

TEXTS = {
    "/physics.md": [
        "Quantum mechanics describes nature at the smallest scales.",
        "The lecture covered quantum entanglement and quantum tunnelling.",
    ],
    "/cooking.md": [
        "A café serves coffee and small cakes.",
        "Bake the cake for forty minutes.",
    ],
    "/misc.md": ["Nothing to see here: NEAR AND OR NOT are plain words."],
}


def lexical_search(
    conn: sa.Connection, text: str, k: int, allowed: list[int] | None = None
) -> list[tuple[int, float]]:
    """The engine's lexical path over the stored passages, each passage shown by its best
    sentence: (sentence id, score)."""
    postings = Postings.build(MetadataStore(conn).passages_since(0))
    passages = postings.search(text, k, allowed)
    best = lexical.best_sentences(conn, text, passages)
    return [(best.get(p.first, p.first), p.score) for p in passages]


@pytest.fixture
def corpus(tmp_path: Path) -> Iterator[tuple[sa.Connection, dict[str, int], dict[str, list[int]]]]:
    """A connection to a small index, document ids by path, sentence ids by path."""
    engine = make_engine(tmp_path / "index.sqlite3")
    with engine.begin() as conn:
        create_tables(conn)
        store = MetadataStore(conn)
        documents, sentences = {}, {}
        for path, texts in TEXTS.items():
            records = [SentenceRecord(t, 0, len(t), 1) for t in texts]
            document_id, ids = store.add_document(DocumentRecord(path, "0", 1, "md"), records)
            documents[path], sentences[path] = document_id, ids.tolist()
    with engine.connect() as conn:
        yield conn, documents, sentences
    engine.dispose()


HOSTILE = [
    '"foo* AND (bar OR',
    "NEAR(",
    "NEAR(quantum cake, 2)",
    "-",
    "^",
    "quantum^",
    "-quantum",
    "text:quantum",
    "{text}: cake",
    '"unbalanced',
    "'; DROP TABLE sentences; --",
    "1 OR 1=1",
    "🙂 quantum 🚀",
    "",
    "\x00\x01",
    "a" * 10_000,
    "AND OR NOT",
    "*",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_never_raises(
    corpus: tuple[sa.Connection, dict[str, int], dict[str, list[int]]], text: str
) -> None:
    conn, _, _ = corpus
    hits = lexical_search(conn, text, 5)
    assert all(isinstance(i, int) and isinstance(s, float) for i, s in hits)
    assert conn.execute(sa.text("SELECT count(*) FROM sentences")).scalar_one() == 5


def test_operator_words_are_searched_as_plain_words(
    corpus: tuple[sa.Connection, dict[str, int], dict[str, list[int]]],
) -> None:
    conn, _, sentences = corpus
    assert [i for i, _ in lexical_search(conn, "NOT", 5)] == sentences["/misc.md"]


def test_ranking_sanity(corpus: tuple[sa.Connection, dict[str, int], dict[str, list[int]]]) -> None:
    conn, _, sentences = corpus
    hits = lexical_search(conn, "quantum", 5)
    # Both physics sentences form one passage, shown by the sentence saying "quantum" twice.
    assert [i for i, _ in hits] == [sentences["/physics.md"][1]]
    assert hits[0][1] > 0
    top, _ = lexical_search(conn, "quantum entanglement lecture", 1)[0]
    assert top == sentences["/physics.md"][1]


def test_diacritics_and_case_are_folded(
    corpus: tuple[sa.Connection, dict[str, int], dict[str, list[int]]],
) -> None:
    conn, _, sentences = corpus
    assert [i for i, _ in lexical_search(conn, "CAFE", 5)] == [sentences["/cooking.md"][0]]


def test_allowed_document_ids(
    corpus: tuple[sa.Connection, dict[str, int], dict[str, list[int]]],
) -> None:
    conn, documents, sentences = corpus
    query = "quantum cake"
    assert {i for i, _ in lexical_search(conn, query, 10)} == {
        sentences["/physics.md"][1],
        sentences["/cooking.md"][1],
    }
    only_cooking = lexical_search(conn, query, 10, [documents["/cooking.md"]])
    assert [i for i, _ in only_cooking] == [sentences["/cooking.md"][1]]
    assert lexical_search(conn, query, 10, []) == []


def test_k_limits_and_is_validated(
    corpus: tuple[sa.Connection, dict[str, int], dict[str, list[int]]],
) -> None:
    conn, _, _ = corpus
    assert len(lexical_search(conn, "quantum cake coffee", 2)) == 2


def test_group_passages_hand_worked() -> None:
    assert lexical.group_passages([]) == []
    assert lexical.group_passages([5, 5, 5], max_words=10) == [(0, 1), (2, 2)]
    # A sentence longer than the limit stands alone; nothing is dropped.
    assert lexical.group_passages([3, 50, 3, 3], max_words=10) == [(0, 0), (1, 1), (2, 3)]


def test_passages_rank_documents_and_are_removed_with_them(
    corpus: tuple[sa.Connection, dict[str, int], dict[str, list[int]]],
) -> None:
    conn, documents, _ = corpus
    before = conn.execute(sa.text("SELECT count(*) FROM passages")).scalar_one()
    assert before >= len(documents)
    conn.execute(sa.text("DELETE FROM documents WHERE id = :i"), {"i": documents["/physics.md"]})
    assert lexical_search(conn, "quantum", 5) == []
    assert conn.execute(sa.text("SELECT count(*) FROM passages")).scalar_one() < before


@pytest.mark.parametrize(
    "word",
    ["capability", "say", "hoping", "relational", "sensitivity", "tides", "studies", "ab", "eyed"],
)
def test_probe_is_inside_the_word_whose_stem_it_probes_hand_picked(word: str) -> None:
    assert lexical.probe(stem(word)) in word


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=14))
def test_probe_is_inside_the_word_whose_stem_it_probes(word: str) -> None:
    assert lexical.probe(stem(word)) in word


def test_sentence_scorer_prefers_rare_words_and_ignores_stop_words() -> None:
    scorer = lexical.SentenceScorer("Why do the TIDES follow the moon?")
    assert scorer.terms == ("tide", "follow", "moon")
    scores = scorer.scores(
        {
            1: "The moon is bright tonight.",
            2: "The tide follows the moon.",
            3: "The moon and the moon again, the moon.",
            4: "Nothing to see here.",
            5: "A moon, a moon.",
        }
    )
    assert 4 not in scores
    assert max(scores, key=scores.__getitem__) == 2  # two words, one of them rare, beat repeats


def test_best_sentence_of_a_passage_holds_the_query_words(
    corpus: tuple[sa.Connection, dict[str, int], dict[str, list[int]]],
) -> None:
    conn, _, sentences = corpus
    passages = Postings.build(MetadataStore(conn).passages_since(0)).search("quantum", 5)
    assert lexical.best_sentences(conn, "quantum", passages) == {
        passages[0].first: sentences["/physics.md"][1]
    }
    assert lexical.best_sentences(conn, "zebra", passages) == {}
