"""The CLI with `--index postgresql://...`: a real PostgreSQL server with pgvector, sample_docs,
and the same answers as the embedded index gives (tests/postgres_server.py starts the server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from docsearch.cli import cli
from tests.conftest import SAMPLE_DOCS

QUERIES = [
    "how does yeast make bread rise",
    "when can boats come into port",
    "readers never block writers in write-ahead log mode",
    "why do tides follow the moon",
]


def run(*args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=not ok)
    if ok:
        assert result.exit_code == 0, result.stderr
    return result


def hits(index: str, query: str, mode: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(
        run("query", query, "--index", index, "--mode", mode, "-k", "5", "--json").stdout
    )
    return found


@pytest.fixture
def pg_index(postgres_url: str) -> str:
    run("ingest", str(SAMPLE_DOCS), "--index", postgres_url)
    return postgres_url


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_answers_equal_the_embedded_index(pg_index: str, built_index: Path, mode: str) -> None:
    for query in QUERIES:
        ours, embedded = hits(pg_index, query, mode), hits(str(built_index), query, mode)
        assert [(h["path"], h["line"], h["text"]) for h in ours] == [
            (h["path"], h["line"], h["text"]) for h in embedded
        ], query
        # Vectors are float16 in PostgreSQL (halfvec): scores agree to ~1e-3.
        assert [h["score"] for h in ours] == pytest.approx([h["score"] for h in embedded], abs=3e-3)


def test_status_list_remove_and_an_unchanged_second_ingest(
    pg_index: str, built_index: Path
) -> None:
    status = json.loads(run("status", "--index", pg_index, "--json").stdout)
    embedded = json.loads(run("status", "--index", str(built_index), "--json").stdout)
    assert status["index"] == sa.make_url(pg_index).render_as_string(hide_password=True)
    assert (status["documents"], status["sentences"]) == (
        embedded["documents"],
        embedded["sentences"],
    )
    assert status["faiss_factory"] == "hnsw" and status["disk_bytes"] > 0
    again = run("ingest", str(SAMPLE_DOCS), "--index", pg_index)
    assert "0 added, 0 updated" in again.stderr
    listed = json.loads(run("list", "--index", pg_index, "*/home/*", "--json").stdout)
    assert listed and all("/home/" in d["path"] for d in listed)
    run("remove", "--index", pg_index, str(SAMPLE_DOCS / "home"))
    after = json.loads(run("status", "--index", pg_index, "--json").stdout)
    assert after["documents"] == status["documents"] - len(listed)
    assert not json.loads(run("list", "--index", pg_index, "*/home/*", "--json").stdout)


def test_rebuild_starts_over(pg_index: str) -> None:
    run("ingest", "--rebuild", str(SAMPLE_DOCS / "science"), "--index", pg_index)
    listed = json.loads(run("list", "--index", pg_index, "--json").stdout)
    assert listed and all("/science/" in d["path"] for d in listed)


def test_a_tuned_model_lives_in_the_database_and_reaches_every_host(
    postgres_url: str, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from docsearch import DocSearch
    from docsearch.model_config import fingerprint
    from docsearch.tuning.trainer import TuneConfig

    def on(host: str) -> None:  # each host keeps its local copies in a cache of its own
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / host))

    first = DocSearch(postgres_url, model=tiny_model_dir, device="cpu")
    assert first.ingest([SAMPLE_DOCS / "science"]).ok
    on("second")
    reader = DocSearch(postgres_url, model=tiny_model_dir, device="cpu")  # opened before the tune
    query = "how do volcanoes form"
    assert reader.search(query, mode="dense")
    on("first")
    report = first.tune(minutes=0.2, config=TuneConfig(max_steps=3, lr=1e-2, warmup_steps=1))
    assert report.switched and report.fingerprint != fingerprint(tiny_model_dir)

    on("second")
    # The second host follows the switch at its next search, as a reader of any switch does.
    assert not (tmp_path / "second" / "docsearch").exists()
    found = reader.search(query, mode="dense", k=3)
    status = reader.status()
    assert status.adapted and status.model_fingerprint == report.fingerprint
    model_dir = Path(status.model_dir)
    assert model_dir.is_relative_to(tmp_path / "second")  # unpacked from the database
    assert fingerprint(model_dir) == report.fingerprint
    assert status.tune_validation == report.validation
    on("first")
    assert [(h.path, h.line) for h in first.search(query, mode="dense", k=3)] == [
        (h.path, h.line) for h in found
    ]

    first.tune(reset=True)
    engine = sa.create_engine(postgres_url)
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM models")).scalar_one() == 0
    engine.dispose()
    on("second")
    assert reader.search(query, mode="dense")
    assert reader.status().adapted is False
    assert model_dir.parent.parent.is_dir()  # this host's copies of the index's models ...
    reader.rebuild()
    assert not model_dir.parent.parent.exists()  # ... go with the index


def test_a_password_in_the_url_is_never_shown() -> None:
    from docsearch import DocSearch

    ds = DocSearch("postgresql://reader:s3cret@db.example:5432/docs")
    assert ds.path == "postgresql://reader:s3cret@db.example:5432/docs"  # kept as given
    assert "s3cret" not in ds.location and ds.location.startswith("postgresql://reader:")


def test_searches_go_to_the_read_replica_and_writes_to_the_primary(
    postgres_server: str, tmp_path: Path
) -> None:
    import contextlib
    import time

    from docsearch import DocSearch
    from tests.postgres_server import fresh_database, start_replica

    def wait_for(condition: Any) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.1)

    with contextlib.contextmanager(fresh_database)(postgres_server) as primary:
        database = sa.make_url(primary).database
        with contextlib.contextmanager(start_replica)(primary) as replica:
            replica = sa.make_url(replica).set(database=database).render_as_string(False)
            DocSearch(primary).ingest([SAMPLE_DOCS / "science"])
            reader = DocSearch(primary, read_index=replica)
            wait_for(lambda: reader.status().documents > 0)
            assert reader.search("how do tides follow the moon", k=1)
            engine = sa.create_engine(replica)
            with engine.connect() as c:  # hold the replica back
                c.execute(sa.text("SELECT pg_wal_replay_pause()"))
                c.commit()
                note = tmp_path / "lighthouse.txt"
                note.write_text("Lighthouse keepers polish the great lens every morning.\n")
                reader.ingest([note])  # a write: it goes to the primary
                query = "who polishes the lighthouse lens"
                assert DocSearch(primary).search(query, k=1)[0].path == str(note)
                assert all(h.path != str(note) for h in reader.search(query, k=3)), (
                    "a search went to the primary"
                )
                c.execute(sa.text("SELECT pg_wal_replay_resume()"))
                c.commit()
            engine.dispose()
            wait_for(lambda: reader.search(query, k=1)[0].path == str(note))
            reader.close()


def test_a_read_replica_is_refused_for_a_folder_index(tmp_path: Path) -> None:
    from docsearch import DocSearch
    from docsearch.errors import DocsearchError

    with pytest.raises(DocsearchError, match="read replica"):
        DocSearch(tmp_path / "index", read_index="postgresql://db.example/docs")


def test_an_index_made_before_passage_vectors_gets_them_from_its_next_writer(
    pg_index: str,
) -> None:
    from docsearch import DocSearch

    before = hits(pg_index, "why does the sea rise twice a day", "dense")
    engine = sa.create_engine(pg_index)
    with engine.begin() as c:  # as an earlier docsearch left it
        table = c.execute(
            sa.text("SELECT value FROM meta WHERE key = 'passage_vector_table'")
        ).scalar_one()
        c.execute(sa.text(f"DROP TABLE {table}"))
        c.execute(sa.text("DELETE FROM meta WHERE key = 'passage_vector_table'"))
    with DocSearch(pg_index) as ds:
        index = ds._open(create=False)  # noqa: SLF001 - the backend's own answer
        vector = ds._query_vectors(index, ["why does the sea rise twice a day"])  # noqa: SLF001
        assert index.nearest_passages(vector, 5) == [[]]
    run("ingest", str(SAMPLE_DOCS), "--index", pg_index)  # nothing new: a writer all the same
    with engine.connect() as c:
        assert (
            c.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            == c.execute(sa.text("SELECT count(*) FROM passages")).scalar_one()
        )
    engine.dispose()
    after = hits(pg_index, "why does the sea rise twice a day", "dense")
    assert [(h["path"], h["line"]) for h in after] == [(h["path"], h["line"]) for h in before]
    # Pooled from the stored float16 vectors instead of the float32 ones an ingest holds.
    assert [h["score"] for h in after] == pytest.approx([h["score"] for h in before], abs=3e-3)
