"""Switching an index to another model: the record and the vectors change in one commit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from indexer import Index, ModelMismatch
from indexer.errors import IndexCorrupt, ModelChanged
from indexer.model_record import ModelRecord
from tests.unit.indexer.test_index import add, create, unit_vectors

ADAPTED = ModelRecord("adapted", "fp-2", directory="models/fp-2", base_fingerprint="fp-1")


def all_ids(index: Index) -> np.ndarray:
    return np.concatenate([page.ids for page in index.sentence_texts(batch=3)])


@pytest.fixture
def filled(tmp_path: Path) -> Index:
    index = create(tmp_path / "idx")
    with index.writer() as writer:
        add(writer, "/a.md", 4, seed=1)
        add(writer, "/b.md", 3, seed=2)
    return index


def test_sentence_texts_pages_through_every_sentence_in_order(filled: Index) -> None:
    pages = list(filled.sentence_texts(batch=3))
    assert [len(p.texts) for p in pages] == [3, 3, 1]
    texts = [t for p in pages for t in p.texts]
    assert texts[:2] == ["/a.md sentence 0", "/a.md sentence 1"]
    ids = all_ids(filled)
    assert (np.diff(ids) > 0).all()
    documents = np.concatenate([p.document_ids for p in pages])
    assert len(set(documents[:4].tolist())) == 1 and documents[4] != documents[0]


def test_replace_model_switches_vectors_and_record_together(filled: Index) -> None:
    ids = all_ids(filled)
    new = unit_vectors(len(ids), seed=9)
    with filled.writer() as writer:
        writer.replace_model(ADAPTED, ids, new)
    assert filled.model == ADAPTED
    manifest = json.loads((filled.root / "manifest.json").read_text())
    assert (manifest["model_fingerprint"], manifest["model_dir"]) == ("fp-2", "models/fp-2")
    assert manifest["base_model_fingerprint"] == "fp-1"
    hits = filled.search_vectors(new[2:3], 1)
    assert hits[0][0][0] == ids[2] and hits[0][0][1] == pytest.approx(1.0, abs=1e-5)
    with Index.open(filled.root, model_fingerprint="fp-2") as reopened:
        assert reopened.model == ADAPTED
    with pytest.raises(ModelMismatch, match="fp-2"):
        Index.open(filled.root, model_fingerprint="fp-1")


def test_an_uncommitted_switch_leaves_the_old_model(filled: Index) -> None:
    ids = all_ids(filled)
    before = filled.search_vectors(unit_vectors(1, seed=1), 3)
    with pytest.raises(RuntimeError), filled.writer() as writer:
        writer.replace_model(ADAPTED, ids, unit_vectors(len(ids), seed=9))
        raise RuntimeError("killed before the checkpoint")
    with Index.open(filled.root, model_fingerprint="fp-1") as reopened:
        assert reopened.model.fingerprint == "fp-1"
        assert reopened.search_vectors(unit_vectors(1, seed=1), 3) == before


def test_the_database_not_the_manifest_names_the_model(filled: Index) -> None:
    ids = all_ids(filled)
    old_manifest = (filled.root / "manifest.json").read_text()
    with filled.writer() as writer:
        writer.replace_model(ADAPTED, ids, unit_vectors(len(ids), seed=9))
    # A crash between the commit and the manifest write leaves the old manifest behind.
    (filled.root / "manifest.json").write_text(old_manifest)
    with Index.open(filled.root) as reopened:
        assert reopened.model == ADAPTED
        with reopened.writer():  # the next writer repairs the manifest
            pass
    assert json.loads((filled.root / "manifest.json").read_text())["model_fingerprint"] == "fp-2"


def test_a_reader_opened_before_the_switch_is_told_to_reopen(filled: Index) -> None:
    ids = all_ids(filled)
    with Index.open(filled.root) as reader:
        reader.search_vectors(unit_vectors(1, seed=3), 2)
        with Index.open(filled.root) as tuner, tuner.writer() as writer:
            writer.replace_model(ADAPTED, ids, unit_vectors(len(ids), seed=9))
        with pytest.raises(ModelChanged, match="open it again"):
            reader.search_vectors(unit_vectors(1, seed=3), 2)
        with pytest.raises(ModelChanged), reader.writer():
            pass  # and must not add the old model's vectors either


@pytest.mark.parametrize("bad", ["missing", "duplicate", "foreign"])
def test_replace_model_refuses_ids_that_are_not_the_stored_sentences(
    filled: Index, bad: str
) -> None:
    ids = all_ids(filled)
    if bad == "missing":
        ids = ids[:-1]
    elif bad == "duplicate":
        ids = np.concatenate([ids[:-1], ids[:1]])
    else:
        ids = np.concatenate([ids[:-1], [ids.max() + 100]])
    with filled.writer() as writer, pytest.raises(ValueError, match="replace_model"):
        writer.replace_model(ADAPTED, ids, unit_vectors(len(ids), seed=9))
    assert filled.model.fingerprint == "fp-1"


def test_indexes_written_before_model_records_still_open(filled: Index) -> None:
    manifest = json.loads((filled.root / "manifest.json").read_text())
    del manifest["model_dir"], manifest["base_model_fingerprint"]
    (filled.root / "manifest.json").write_text(json.dumps(manifest))
    engine = sa.create_engine(f"sqlite:///{filled.root / 'index.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM meta WHERE key = 'model'"))
    engine.dispose()
    with Index.open(filled.root, model_fingerprint="fp-1") as reopened:
        assert reopened.model == ModelRecord("tiny-bigru", "fp-1")


def test_an_unreadable_model_record_is_reported_as_corruption() -> None:
    with pytest.raises(IndexCorrupt, match="model record"):
        ModelRecord.from_json('{"name": 3}')
