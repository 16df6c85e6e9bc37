"""Format 2 holds no FTS5 tables; a format-1 index is read as it is and migrated by its next
writer."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from indexer import Index
from indexer.layout import FORMAT_VERSION
from indexer.lexical.postings import MAGIC
from tests.unit.indexer.test_index import create
from tests.unit.indexer.test_postings import DOCUMENTS, QUERIES, add_text, ranking

# What a format-1 index held besides format 2's tables (docsearch's DDL of sessions 1-6).
FORMAT_1_DDL = """
CREATE VIRTUAL TABLE passages_fts USING fts5(
    text, content='', tokenize='porter unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE sentences_fts USING fts5(
    text, content='sentences', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2');
CREATE TRIGGER sentences_fts_insert AFTER INSERT ON sentences BEGIN
    INSERT INTO sentences_fts(rowid, text) VALUES (new.id, new.text); END;
CREATE TRIGGER sentences_fts_delete AFTER DELETE ON sentences BEGIN
    INSERT INTO sentences_fts(sentences_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
CREATE TRIGGER sentences_fts_update AFTER UPDATE OF text ON sentences BEGIN
    INSERT INTO sentences_fts(sentences_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO sentences_fts(rowid, text) VALUES (new.id, new.text); END;
"""


def fts_objects(root: Path) -> list[str]:
    with sqlite3.connect(root / "index.sqlite3") as db:
        rows = db.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE '%fts%' ORDER BY name"
        ).fetchall()
    return [name for (name,) in rows]


def built(root: Path) -> list[list[tuple[int, int, int, float]]]:
    """An index of DOCUMENTS; returns its rankings of QUERIES."""
    with create(root) as index:
        with index.writer() as writer:
            for seed, (path, texts) in enumerate(DOCUMENTS.items()):
                add_text(writer, path, texts, seed)
        return [ranking(index.search_passages(q, 10)) for q in QUERIES]


def make_format_1(root: Path) -> None:
    """Turn a format-2 index into what docsearch wrote before: FTS5 tables and triggers,
    version-1 postings, a format-1 manifest."""
    with sqlite3.connect(root / "index.sqlite3") as db:
        db.executescript(FORMAT_1_DDL)
        db.execute("INSERT INTO sentences_fts(sentences_fts) VALUES ('rebuild')")
    manifest = json.loads((root / "manifest.json").read_text())
    postings = root / f"lexical.{manifest['generation']}.postings"
    postings.write_bytes(b"docsearch-postings-1\n" + postings.read_bytes()[len(MAGIC) :])
    manifest["format_version"] = 1
    (root / "manifest.json").write_text(json.dumps(manifest))


def test_a_new_index_has_no_fts5_table(tmp_path: Path) -> None:
    built(tmp_path / "idx")
    assert fts_objects(tmp_path / "idx") == []
    assert json.loads((tmp_path / "idx" / "manifest.json").read_text())["format_version"] == 2


def test_a_format_1_index_is_read_as_it_is_and_migrated_by_its_next_writer(
    tmp_path: Path,
) -> None:
    root = tmp_path / "idx"
    expected = built(root)
    make_format_1(root)
    assert "passages_fts" in fts_objects(root) and "sentences_fts_insert" in fts_objects(root)
    with Index.open(root) as index:
        # Postings built in memory from the stored passages: the same ranking, nothing written.
        assert [ranking(index.search_passages(q, 10)) for q in QUERIES] == expected
        assert "passages_fts" in fts_objects(root)
        with index.writer() as writer:
            writer.checkpoint()
        assert fts_objects(root) == []
        manifest = json.loads((root / "manifest.json").read_text())
        assert manifest["format_version"] == FORMAT_VERSION == 2
        postings = root / f"lexical.{manifest['generation']}.postings"
        assert postings.read_bytes().startswith(MAGIC)
        assert [ranking(index.search_passages(q, 10)) for q in QUERIES] == expected
        with index.writer() as writer:  # writing goes on without the old triggers
            add_text(writer, "/new.md", ["Tides again, and the moon."], 9)
        assert index.counts()[0] == len(DOCUMENTS) + 1
