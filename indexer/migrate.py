"""Bring an index written by an older docsearch up to the current format, once.

Format 1 indexes hold SQLite FTS5 tables: `passages_fts`, and in the oldest ones
`sentences_fts` with triggers on `sentences`. Every write kept them up to date although
nothing has read them since BM25 moved to the postings files (`indexer.lexical.postings`). Format 2
has none: the first writer to open a format-1 index drops them in its transaction, and its
first checkpoint writes the manifest as format 2. Until then, readers simply ignore them.
"""

from __future__ import annotations

import sqlalchemy as sa

OLD_TRIGGERS = ("sentences_fts_insert", "sentences_fts_delete", "sentences_fts_update")
OLD_TABLES = ("passages_fts", "sentences_fts")


def drop_fts(connection: sa.Connection) -> bool:
    """Drop the FTS5 tables and triggers of a format-1 index; True when there were any."""
    present = {
        name
        for (name,) in connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')"
        )
    }
    for trigger in OLD_TRIGGERS:
        if trigger in present:
            connection.exec_driver_sql(f"DROP TRIGGER {trigger}")
    for table in OLD_TABLES:
        if table in present:  # a virtual table takes its shadow tables with it
            connection.exec_driver_sql(f"DROP TABLE {table}")
    return bool(present.intersection(OLD_TRIGGERS + OLD_TABLES))
