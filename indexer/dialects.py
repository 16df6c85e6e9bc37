"""The few statements of `MetadataStore` that SQLite and PostgreSQL write differently.

Everything else the store runs is SQLAlchemy Core or plain SQL both accept. What differs: how
a list of ids travels (one JSON parameter either way, unpacked by `json_each` or
`json_array_elements_text`), a join SQLite must be told the loop order of, path globs (SQLite's
GLOB; a regular expression on PostgreSQL), upserts, and how a block of consecutive sentence
ids is taken (`sqlite_sequence` under SQLite's single writer; a sequence under an advisory
lock on PostgreSQL, where several writers run at once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

# The PostgreSQL sequence that sentence ids are drawn from, and the advisory lock key that
# makes one writer's block of ids consecutive.
SENTENCE_ID_SEQUENCE = "docsearch_sentence_ids"
_ID_BLOCK_LOCK = 0x646F6373  # "docs"


@dataclass(frozen=True)
class Statements:
    """The dialect-specific statements of a `MetadataStore`."""

    existing: sa.TextClause
    document_ids: sa.TextClause
    sentences: sa.TextClause
    neighbours: sa.TextClause
    passages_since: sa.TextClause
    passages_of: sa.TextClause
    sentence_texts_by_id: sa.TextClause


def _statements(ids: str, anchors: str, passage_join: str) -> Statements:
    return Statements(
        existing=sa.text(f"SELECT id FROM sentences WHERE id IN ({ids})"),
        document_ids=sa.text(f"SELECT id, document_id FROM sentences WHERE id IN ({ids})"),
        sentences=sa.text(
            """SELECT s.id, s.document_id, s.ordinal, s.text, s.start, s."end", s.line, s.page,
                      d.path, d.type, d.title, d.metadata
               FROM sentences s JOIN documents d ON d.id = s.document_id
               WHERE s.id IN ("""
            + ids
            + ")"
        ),
        neighbours=sa.text(
            f"""WITH wanted(key, document, ordinal) AS ({anchors})
               SELECT w.key, s.ordinal, w.ordinal, s.text
               FROM wanted w JOIN sentences s
                 ON s.document_id = w.document
                AND s.ordinal BETWEEN w.ordinal - :before AND w.ordinal + :after
                AND s.ordinal != w.ordinal
               ORDER BY w.key, s.ordinal"""
        ),
        # The sentences of a passage are a range of ids: read them by that range of the primary
        # key, passages first (see `passage_join`).
        passages_since=sa.text(
            f"""SELECT p.id, p.document_id, p.first_sentence_id, p.last_sentence_id, s.text
               FROM passages p {passage_join} sentences s
                 ON s.id BETWEEN p.first_sentence_id AND p.last_sentence_id
                AND +s.document_id = p.document_id
               WHERE p.id > :after ORDER BY p.id, s.id"""
        ),
        passages_of=sa.text(
            f"""SELECT p.id, p.document_id, p.first_sentence_id, p.last_sentence_id, s.text
               FROM passages p {passage_join} sentences s
                 ON s.id BETWEEN p.first_sentence_id AND p.last_sentence_id
                AND +s.document_id = p.document_id
               WHERE p.document_id IN ({ids}) ORDER BY p.id, s.id"""
        ),
        sentence_texts_by_id=sa.text(f"SELECT id, text FROM sentences WHERE id IN ({ids})"),
    )


# CROSS JOIN fixes the loop order in SQLite and `+s.document_id` keeps the check off
# ix_sentences_document_ordinal: left to itself, SQLite scanned every sentence and looked up
# its passage, and each checkpoint of a large document cost time quadratic in it.
SQLITE = _statements(
    ids="SELECT value FROM json_each(:ids)",
    anchors=(
        "SELECT key, json_extract(value, '$[0]'), json_extract(value, '$[1]') "
        "FROM json_each(:anchors)"
    ),
    passage_join="CROSS JOIN",
)
POSTGRESQL = _statements(
    ids="SELECT CAST(value AS bigint) FROM json_array_elements_text(CAST(:ids AS json))",
    anchors=(
        "SELECT ordinality - 1, CAST(value ->> 0 AS bigint), CAST(value ->> 1 AS bigint) "
        "FROM json_array_elements(CAST(:anchors AS json)) WITH ORDINALITY"
    ),
    passage_join="JOIN",
)


def statements(connection: sa.Connection) -> Statements:
    """The statements for the connection's database."""
    return POSTGRESQL if is_postgresql(connection) else SQLITE


def is_postgresql(connection: sa.Connection) -> bool:
    return connection.dialect.name == "postgresql"


def path_matches(connection: sa.Connection, column: Any, glob: str) -> sa.ColumnElement[bool]:
    """`column` matches the SQLite GLOB pattern `glob` (`*` any run, `?` one character, `[...]`
    a class; case-sensitive), on either database."""
    operator, pattern = ("~", glob_regex(glob)) if is_postgresql(connection) else ("GLOB", glob)
    matches: sa.ColumnElement[bool] = column.op(operator)(pattern)
    return matches


def glob_regex(glob: str) -> str:
    """A POSIX regular expression matching exactly what SQLite's GLOB matches."""
    out, i = ["^"], 0
    while i < len(glob):
        c = glob[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[" and (close := glob.find("]", i + 2)) != -1:
            body = glob[i + 1 : close]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            escaped = body.replace("\\", "\\\\").replace("[", "\\[")
            out.append(f"[{'^' if negate else ''}{escaped}]")
            i = close
        else:
            out.append(re.escape(c))
        i += 1
    out.append("$")
    return "".join(out)


def upsert(connection: sa.Connection, table: sa.Table, key: str, values: dict[str, Any]) -> None:
    """Insert `values` into `table`, or update the row with the same `key`."""
    if is_postgresql(connection):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    statement = insert(table).values(**values)
    updates = {name: value for name, value in values.items() if name != key}
    connection.execute(statement.on_conflict_do_update(index_elements=[table.c[key]], set_=updates))


def take_sentence_ids(connection: sa.Connection, n: int) -> int:
    """The first of `n` consecutive sentence ids no one has used or will use (n >= 1).

    SQLite: the writer holds the database's only write lock, so the next id is one above the
    largest ever used (AUTOINCREMENT records it in sqlite_sequence). PostgreSQL: the block is
    taken from a sequence while holding an advisory lock, so that writers on other machines
    never interleave their ids (sequences are not transactional: a rolled-back block is
    simply never used).
    """
    if is_postgresql(connection):
        connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _ID_BLOCK_LOCK})
        try:
            first = connection.execute(
                sa.text(f"SELECT nextval('{SENTENCE_ID_SEQUENCE}')")
            ).scalar_one()
            if n > 1:
                connection.execute(
                    sa.text(f"SELECT setval('{SENTENCE_ID_SEQUENCE}', :last)"),
                    {"last": first + n - 1},
                )
        finally:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _ID_BLOCK_LOCK})
        return int(first)
    used = connection.execute(
        sa.text(
            "SELECT max("
            " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'sentences'), 0),"
            " coalesce((SELECT max(id) FROM sentences), 0))"
        )
    ).scalar_one()
    return int(used) + 1
