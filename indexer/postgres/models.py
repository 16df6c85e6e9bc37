"""Adapted models kept in the database, so every host that opens the index encodes with them.

`docsearch tune` stores its model in the index. An embedded index holds it in its folder; an
index in PostgreSQL holds the model folder as one uncompressed tar (the weights do not
compress) in the `models` table, written in the same transaction that switches the vectors, so
a host sees the new model exactly when it sees the new vectors. Each host unpacks it once into
a local folder of its own (`local_home`), keyed by the index's URL; model folders are named by
their fingerprint, so a copy never goes stale.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import uuid
from pathlib import Path

import sqlalchemy as sa

MODELS_TABLE = "models"


def create_models_table(connection: sa.Connection) -> None:
    """Create the table (also in an index made before it existed)."""
    connection.execute(
        sa.text(
            f"CREATE TABLE IF NOT EXISTS {MODELS_TABLE}"
            " (directory text PRIMARY KEY, archive bytea NOT NULL)"
        )
    )


def local_home(shown_url: str) -> Path:
    """This host's folder for the models of the index at `shown_url` (a URL without its
    password): `$XDG_CACHE_HOME/docsearch/postgres/<hash>` (~/.cache by default)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(shown_url.encode("utf-8")).hexdigest()[:16]
    return cache / "docsearch" / "postgres" / key


def store(connection: sa.Connection, directory: str, home: Path) -> None:
    """Make the index's stored model the folder `home / directory` (none when `directory` is
    empty), in the caller's transaction; other stored models are deleted."""
    connection.execute(
        sa.text(f"DELETE FROM {MODELS_TABLE} WHERE directory <> :d"), {"d": directory}
    )
    if not directory:
        return
    exists = connection.execute(
        sa.text(f"SELECT 1 FROM {MODELS_TABLE} WHERE directory = :d"), {"d": directory}
    ).first()
    if exists is None:
        connection.execute(
            sa.text(f"INSERT INTO {MODELS_TABLE} (directory, archive) VALUES (:d, :a)"),
            {"d": directory, "a": _pack(home / directory)},
        )


def fetch(connection: sa.Connection, directory: str, target: Path) -> bool:
    """Unpack the stored model `directory` into `target` (whole or not at all).

    Returns:
        False when the database does not hold it.
    """
    archive = connection.execute(
        sa.text(f"SELECT archive FROM {MODELS_TABLE} WHERE directory = :d"), {"d": directory}
    ).scalar_one_or_none()
    if archive is None:
        return False
    staging = target.parent / f".staging-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(bytes(archive)), mode="r:") as tar:
            tar.extractall(staging, filter="data")
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # else another process unpacked it first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def _pack(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:") as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(folder)))
    return buffer.getvalue()
