"""Our BM25 postings rank passages as FTS5 does, follow adds and removals, and survive a reopen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from indexer import DocumentRecord, Index, SentenceRecord, lexical
from indexer.lexical import query_terms
from indexer.lexical.porter import stem
from indexer.lexical.postings import Postings
from indexer.schema import create_tables, make_engine
from indexer.store import MetadataStore
from tests.unit.indexer.fts5_reference import fts5_passages
from tests.unit.indexer.test_index import create, unit_vectors

DOCUMENTS = {
    "/tides.md": [
        "Tides are caused by the gravitational pull of the moon and the sun.",
        "Spring tides happen when the sun and the moon line up.",
        "Neap tides are the weakest tides of the month.",
    ],
    "/bread.md": [
        "Bread rises because yeast ferments the sugars in the dough.",
        "Knead the dough until it is smooth, then let it rest.",
    ],
    "/cafe.md": ["A café serves coffee, and the baker's bread is fresh every morning."],
    "/stars.md": [
        "Stars shine because nuclear fusion turns hydrogen into helium in their cores.",
        "The sun is a star, and its light takes eight minutes to reach us.",
        "Relational databases store rows; nothing here is about the moon.",
    ],
}
QUERIES = [
    "Why do the tides follow the moon?",
    "how does yeast make bread rise",
    "CAFE coffee",
    "the",
    "nuclear fusion in stars",
    "relation",
    "no such words anywhere",
]


@pytest.fixture
def connection(tmp_path: Path) -> Iterator[sa.Connection]:
    """A database holding DOCUMENTS."""
    engine = make_engine(tmp_path / "index.sqlite3")
    with engine.begin() as conn:
        create_tables(conn)
        store = MetadataStore(conn)
        for path, texts in DOCUMENTS.items():
            records = [SentenceRecord(t, 0, len(t), 1) for t in texts]
            store.add_document(DocumentRecord(path, "0", 1, "md"), records)
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def ranking(hits: list[lexical.PassageHit]) -> list[tuple[int, int, int, float]]:
    return [(h.first, h.last, h.document, round(h.score, 4)) for h in hits]


@pytest.mark.parametrize("query", QUERIES)
def test_ranks_and_scores_like_fts5(connection: sa.Connection, query: str) -> None:
    postings = Postings.build(MetadataStore(connection).passages_since(0))
    ours = postings.search(query, 10)
    fts5 = fts5_passages(connection, query, 10)
    assert ranking(ours) == ranking(fts5)


def test_updates_equal_a_fresh_build(connection: sa.Connection) -> None:
    store = MetadataStore(connection)
    everything = list(store.passages_since(0))
    first_two = [p for p in everything if p.document in (1, 2)]
    later = [p for p in everything if p.document not in (1, 2)]
    grown = Postings.build(first_two).updated(later, np.empty(0, dtype=np.int64))
    whole = Postings.build(everything)
    for query in QUERIES:
        assert ranking(grown.search(query, 10)) == ranking(whole.search(query, 10))
    # Removing the tides document (by its passages' first sentences) forgets it entirely.
    tides = np.array([p.first for p in everything if p.document == 1], dtype=np.int64)
    removed = whole.updated([], tides)
    rest = Postings.build(p for p in everything if p.document != 1)
    for query in QUERIES:
        assert ranking(removed.search(query, 10)) == ranking(rest.search(query, 10))
    assert all(h.first not in tides for h in removed.search("tides moon", 10))


def test_allowed_documents_and_k(connection: sa.Connection) -> None:
    postings = Postings.build(MetadataStore(connection).passages_since(0))
    everything = postings.search("the sun and the moon", 10)
    assert len(everything) >= 2 and len(postings.search("the sun and the moon", 1)) == 1
    only_stars = postings.search("the sun and the moon", 10, allowed_document_ids=[4])
    assert only_stars and {h.first for h in only_stars} <= {h.first for h in everything}
    assert postings.search("the sun", 10, allowed_document_ids=[]) == []
    assert Postings.empty().search("moon", 5) == []


def test_save_and_load_round_trip(connection: sa.Connection, tmp_path: Path) -> None:
    postings = Postings.build(MetadataStore(connection).passages_since(0))
    postings.save(tmp_path / "lexical.3.postings")
    loaded = Postings.load(tmp_path / "lexical.3.postings")
    assert ranking(loaded.search(QUERIES[0], 5)) == ranking(postings.search(QUERIES[0], 5))
    (tmp_path / "bad.postings").write_bytes(b"not a postings file")
    with pytest.raises(ValueError, match="not a readable lexical index"):
        Postings.load(tmp_path / "bad.postings")
    with pytest.raises(FileNotFoundError):
        Postings.load(tmp_path / "missing.postings")


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("caresses", "caress"),
        ("ponies", "poni"),
        ("agreed", "agre"),
        ("plastered", "plaster"),
        ("motoring", "motor"),
        ("hopping", "hop"),
        ("filing", "file"),
        ("happy", "happi"),
        ("relational", "relat"),
        ("conditional", "condit"),
        ("digitizer", "digit"),
        ("electrical", "electr"),
        ("adjustment", "adjust"),
        ("adoption", "adopt"),
        ("controll", "control"),
        ("tides", "tide"),
        ("café", "café"),  # not ASCII: left alone (folding happens before stemming)
    ],
)
def test_porter_stems_like_the_paper(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_query_terms_fold_stem_and_drop_stop_words() -> None:
    assert query_terms("Why do the TIDES follow the Moon? Tides!") == ("tide", "follow", "moon")
    assert query_terms("the and") == ("the", "and")  # only stop words: they are kept


def test_query_terms_drop_contraction_tails_and_first_person_words() -> None:
    assert query_terms("Why don't my T cells show? It\u2019s git's fault, I've heard") == (
        "t",
        "cell",
        "show",
        "git",
        "fault",
        "heard",
    )
    assert query_terms("O'Reilly's books") == ("o", "reilli", "book")


def add_text(writer, path: str, texts: list[str], seed: int) -> None:  # type: ignore[no-untyped-def]
    records = [SentenceRecord(t, 0, len(t), 1) for t in texts]
    writer.add_document(
        DocumentRecord(path, f"sha-{seed}", 1, "md"), records, unit_vectors(len(texts), seed)
    )


def test_index_keeps_postings_per_generation_and_follows_removals(tmp_path: Path) -> None:
    with create(tmp_path / "idx") as index:
        with index.writer() as writer:
            for seed, (path, texts) in enumerate(DOCUMENTS.items()):
                add_text(writer, path, texts, seed)
        generation = index.manifest.generation
        assert (index.root / f"lexical.{generation}.postings").is_file()
        first = index.search_passages("tides moon", 10)
        assert first and index.sentences([first[0].first])[first[0].first].path == "/tides.md"
        with index.writer() as writer:
            writer.remove_document("/tides.md")
        assert not (index.root / f"lexical.{generation}.postings").exists()
        paths = {
            index.sentences([h.first])[h.first].path
            for h in index.search_passages("tides moon", 10)
        }
        assert "/tides.md" not in paths and paths


def test_an_index_without_postings_builds_them_in_memory_and_saves_them_on_next_write(
    tmp_path: Path,
) -> None:
    root = tmp_path / "idx"
    with create(root) as index:
        with index.writer() as writer:
            for seed, (path, texts) in enumerate(DOCUMENTS.items()):
                add_text(writer, path, texts, seed)
        expected = ranking(index.search_passages(QUERIES[0], 10))
        generation = index.manifest.generation
    (root / f"lexical.{generation}.postings").unlink()  # as written by an older docsearch
    with Index.open(root) as index:
        assert ranking(index.search_passages(QUERIES[0], 10)) == expected  # built in memory
        assert not (root / f"lexical.{generation}.postings").exists(), "a reader writes nothing"
        with index.writer() as writer:
            writer.checkpoint()
        assert (root / f"lexical.{generation + 1}.postings").is_file()
        assert ranking(index.search_passages(QUERIES[0], 10)) == expected  # postings again


def test_postings_of_the_old_stemmer_are_built_again_until_the_next_write_saves_them(
    tmp_path: Path,
) -> None:
    from indexer.lexical.postings import MAGIC

    root = tmp_path / "idx"
    with create(root) as index:
        with index.writer() as writer:
            add_text(writer, "/path.md", ["Pathology is the study of disease."], 0)
            add_text(writer, "/tides.md", ["The tides follow the moon."], 1)
        generation = index.manifest.generation
    path = root / f"lexical.{generation}.postings"
    # As an older docsearch wrote it: version 1, where "pathological" stemmed to "pathologica".
    path.write_bytes(b"docsearch-postings-1\n" + path.read_bytes()[len(MAGIC) :])
    with Index.open(root) as index:
        hits = index.search_passages("pathological", 10)  # built in memory, new stemmer
        assert [index.sentences([h.first])[h.first].path for h in hits] == ["/path.md"]
        with index.writer() as writer:
            writer.checkpoint()
        new = root / f"lexical.{generation + 1}.postings"
        assert new.read_bytes().startswith(MAGIC)
        hits = index.search_passages("pathological", 10)
        assert [index.sentences([h.first])[h.first].path for h in hits] == ["/path.md"]


def test_ceiling_is_what_a_passage_with_each_query_word_once_scores() -> None:
    from indexer.lexical.postings import PassageText

    texts = ["harbour tide pilot", "garden rose water", "harbour boat rope", "daemon port rope"]
    postings = Postings.build(
        PassageText(i + 1, i + 1, 10 * i, 10 * i, t) for i, t in enumerate(texts)
    )
    n = len(texts)

    def idf(df: int) -> float:
        return max(float(np.log((n - df + 0.5) / (df + 0.5))), 1e-6)

    # harbour in 2 passages, tide in 1, "kraken" in none: each counts.
    assert postings.ceiling("harbour tide kraken") == pytest.approx(idf(2) + idf(1) + idf(0))
    assert postings.ceiling("?!") == 0.0
    # Every passage has the average length (3 words), so one holding each word once scores it.
    (hit,) = postings.search("garden rose water", 1)
    assert hit.score == pytest.approx(postings.ceiling("garden rose water"), rel=1e-5)
