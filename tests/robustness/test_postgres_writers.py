"""Several `docsearch ingest` processes on one PostgreSQL index, one of them killed with SIGKILL.

The processes are real (the CLI, committing every ~100 sentences), the server is real
(tests/postgres_server.py). Whatever the kill interrupts, a rerun must leave exactly the
documents, sentences and vectors that one uninterrupted run leaves.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import SAMPLE_DOCS
from tests.postgres_server import fresh_database
from tests.robustness.children import child_env, docsearch_command

database = contextlib.contextmanager(fresh_database)


def contents(url: str) -> dict[str, object]:
    """Everything an index holds that a second run could get wrong."""
    engine = sa.create_engine(url)
    with engine.connect() as c:
        table = c.execute(sa.text("SELECT value FROM meta WHERE key = 'vector_table'")).scalar()
        documents = c.execute(
            sa.text("SELECT path, sha256, type FROM documents ORDER BY path")
        ).all()
        sentences = c.execute(
            sa.text(
                "SELECT d.path, s.ordinal, s.text, s.line, s.page FROM sentences s "
                "JOIN documents d ON d.id = s.document_id ORDER BY d.path, s.ordinal"
            )
        ).all()
        vectors = c.execute(
            sa.text(f"SELECT count(*) FROM {table} v JOIN sentences s ON s.id = v.sentence_id")
        ).scalar()
        passages = c.execute(
            sa.text(
                "SELECT d.path, count(*) FROM passages p JOIN documents d ON d.id = p.document_id "
                "GROUP BY d.path ORDER BY d.path"
            )
        ).all()
    engine.dispose()
    return {
        "documents": [tuple(r) for r in documents],
        "sentences": [tuple(r) for r in sentences],
        "vectors": vectors,
        "passages": [tuple(r) for r in passages],
    }


def committed_documents(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            if not sa.inspect(c).has_table("documents"):
                return 0
            return int(c.execute(sa.text("SELECT count(*) FROM documents")).scalar_one())
    finally:
        engine.dispose()


def test_two_writers_one_killed_then_rerun_equal_one_uninterrupted_run(
    postgres_server: str, tmp_path: Path
) -> None:
    env = child_env(tmp_path / "home")
    with database(postgres_server) as shared, database(postgres_server) as alone:
        ingest = docsearch_command("-q", "ingest", SAMPLE_DOCS, "--index", shared)
        subprocess.run(  # create the index first: both writers then only add documents
            docsearch_command(
                "-q", "ingest", SAMPLE_DOCS / "home" / "cheese_making.txt", "--index", shared
            ),
            env=env,
            check=True,
        )
        killed = subprocess.Popen(
            docsearch_command(
                "-q", "ingest", SAMPLE_DOCS, "--index", shared, frequent_commits=True
            ),
            env=env,
        )
        other = subprocess.Popen(
            docsearch_command(
                "-q", "ingest", SAMPLE_DOCS, "--index", shared, frequent_commits=True
            ),
            env=env,
        )
        deadline = time.monotonic() + 120
        while committed_documents(shared) < 8 and killed.poll() is None:
            assert time.monotonic() < deadline, "no writer committed anything"
            time.sleep(0.02)
        killed.send_signal(signal.SIGKILL)
        assert killed.wait() in (-signal.SIGKILL, 0)
        assert other.wait(timeout=300) == 0
        subprocess.run(ingest, env=env, check=True)  # the rerun
        subprocess.run(
            docsearch_command("-q", "ingest", SAMPLE_DOCS, "--index", alone), env=env, check=True
        )
        got, want = contents(shared), contents(alone)
        assert got["documents"] == want["documents"]
        assert got["sentences"] == want["sentences"]
        assert got["vectors"] == want["vectors"] == len(want["sentences"])  # type: ignore[arg-type]
        assert got["passages"] == want["passages"]


def test_two_ingests_of_one_folder_share_the_work(postgres_server: str, tmp_path: Path) -> None:
    """Each document is encoded by exactly one of two concurrent writers (claims)."""
    import json

    env = child_env(tmp_path / "home")
    with database(postgres_server) as shared, database(postgres_server) as alone:
        subprocess.run(
            docsearch_command(
                "-q", "ingest", SAMPLE_DOCS / "home" / "cheese_making.txt", "--index", shared
            ),
            env=env,
            check=True,
        )
        writers = [
            subprocess.Popen(
                docsearch_command(
                    "ingest", SAMPLE_DOCS, "--index", shared, "--json", frequent_commits=True
                ),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        reports = []
        for writer in writers:
            out, err = writer.communicate(timeout=300)
            assert writer.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
        subprocess.run(
            docsearch_command("-q", "ingest", SAMPLE_DOCS, "--index", alone), env=env, check=True
        )
        got, want = contents(shared), contents(alone)
        assert got == want
        documents = len(want["documents"])  # type: ignore[arg-type]
        # cheese_making.txt was there before; every other document was added exactly once.
        assert sum(r["added"] for r in reports) == documents - 1
        assert all(r["added"] + r["unchanged"] + r["shared"] == documents for r in reports)
