"""SQLite tables of an index (SQLAlchemy Core) and the engine that talks to them.

`sentences.id` is the `vector_id` of the sentence's vector. Both tables use AUTOINCREMENT so an id
is never reused: a reader still holding an older generation of the vectors can then only miss a
deleted sentence, never see another sentence's text under an old id.

Connections run in WAL mode with `synchronous=FULL` (a committed generation survives power loss,
which the commit protocol in `indexer.index` relies on) and foreign keys on. Transactions are
explicit: the pysqlite driver's own implicit BEGIN is switched off and every SQLAlchemy transaction
starts with BEGIN (or BEGIN IMMEDIATE on connections given the `sqlite_begin` execution option),
so reads inside a transaction see one consistent snapshot.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

BUSY_TIMEOUT_MS = 10_000
# Execution option naming the BEGIN mode of a connection: "DEFERRED" (default) or "IMMEDIATE".
BEGIN_OPTION = "sqlite_begin"

metadata = sa.MetaData()

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("path", sa.Text, nullable=False, unique=True),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("mtime", sa.Float, nullable=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=True),
    sa.Column("metadata", sa.JSON(none_as_null=True), nullable=False),
    sa.Column("added_at", sa.Float, nullable=False),
    sqlite_autoincrement=True,
)

sentences = sa.Table(
    "sentences",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "document_id",
        sa.Integer,
        sa.ForeignKey("documents.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("ordinal", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("page", sa.Integer, nullable=True),
    # Serves the foreign key (cascade deletes), per-document listing and context windows.
    sa.Index("ix_sentences_document_ordinal", "document_id", "ordinal", unique=True),
    sqlite_autoincrement=True,
)

# Runs of consecutive sentences of one document, up to ~200 words: the unit of BM25 ranking
# (see indexer.lexical). Sentence ids of a document are consecutive, so a range names a passage.
passages = sa.Table(
    "passages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "document_id",
        sa.Integer,
        sa.ForeignKey("documents.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("first_sentence_id", sa.Integer, nullable=False),
    sa.Column("last_sentence_id", sa.Integer, nullable=False),
    sqlite_autoincrement=True,
)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Configure each new DBAPI connection (called by SQLAlchemy's pool)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        # Take transaction control away from the driver; SQLAlchemy's "begin" event issues BEGIN.
        dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _on_begin(connection: sa.Connection) -> None:
    mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
    if mode not in ("DEFERRED", "IMMEDIATE"):
        raise ValueError(f"{BEGIN_OPTION} must be DEFERRED or IMMEDIATE, got {mode!r}")
    connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(path: Path) -> sa.Engine:
    """Return an engine for the SQLite file at `path` (created on first connect if missing).

    The pool hands each thread its own connection, so one engine serves many threads.
    """
    engine = sa.create_engine(
        sa.URL.create("sqlite", database=str(path)),
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        pool_size=4,
        max_overflow=-1,
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def create_tables(connection: sa.Connection) -> None:
    """Create the documents, sentences and meta tables (inside the caller's transaction)."""
    metadata.create_all(connection)
