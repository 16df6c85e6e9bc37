"""The commit protocol that keeps the SQLite tables and the vector file in step.

SQLite (WAL, synchronous=FULL) is the source of truth; its meta table holds the committed
`generation` g, `vectors.<g>.faiss` holds exactly the vectors of the committed sentences and
`lexical.<g>.postings` the BM25 postings of the committed passages, `passages.<g>.faiss` their
pooled vectors (`indexer.passage_vectors`). `publish` moves from g to g+1 in three steps:

1. write `vectors.<g+1>.faiss`, `lexical.<g+1>.postings` and `passages.<g+1>.faiss` (each: temp
   file, fsync, rename);
2. set generation = g+1 and COMMIT the SQLite transaction holding the new rows: the switch;
3. delete the files of generation g.

A process killed before step 2 leaves generation g and its intact vector file, plus a stray
`vectors.<g+1>.faiss` that readers ignore and the next writer deletes; killed after step 2, it
leaves generation g+1 and a stray `vectors.<g>.faiss`. Either way every sentence row has a vector
and every vector a row.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import sqlalchemy as sa

from indexer.errors import IndexCorrupt, StorageError
from indexer.factory_names import AUTO_FACTORY
from indexer.faiss_index import FaissIndex
from indexer.layout import REBUILD_HINT, IndexLayout
from indexer.lexical.postings import OutdatedPostings, Postings
from indexer.store import MetadataStore

log = logging.getLogger(__name__)

GENERATION_KEY = "generation"


def read_generation(store: MetadataStore) -> int:
    """Return the committed generation as seen by the store's transaction.

    Raises:
        IndexCorrupt: the meta table has no valid generation.
    """
    value = store.get_meta(GENERATION_KEY)
    if value is None or not (value.isascii() and value.isdigit()):
        raise IndexCorrupt(
            f"the index database has no valid generation (found {value!r}); {REBUILD_HINT}"
        )
    return int(value)


def load_vectors(
    layout: IndexLayout, generation: int, factory: str, sentences: int, *, mmap: bool = False
) -> FaissIndex:
    """Read the vector file of `generation` and check it holds one vector per sentence.

    Args:
        layout: the index directory.
        generation: the committed generation.
        factory: the FAISS factory string from the manifest.
        sentences: the number of rows in the sentences table at `generation`.
        mmap: map the file read-only instead of reading it (see `FaissIndex.load`); safe
            because a vector file is never changed in place, and a mapping outlives the
            file's deletion by a later writer.

    Raises:
        FileNotFoundError: the file is gone (a writer may have committed a newer generation
            meanwhile; re-read the generation before deciding the index is corrupt).
        IndexCorrupt: the file is unreadable or its vector count disagrees with the table.
    """
    return _load_counted(layout, layout.vectors(generation), factory, sentences, "sentences", mmap)


def _load_counted(
    layout: IndexLayout, path: Path, factory: str, rows: int, what: str, mmap: bool
) -> FaissIndex:
    """Read a vector file and check it holds one vector per row of the table of `what`.

    Raises:
        FileNotFoundError: the file is gone.
        IndexCorrupt: the file is unreadable or its count disagrees with the table.
    """
    try:
        vectors = FaissIndex.load(path, factory=factory, mmap=mmap)
    except ValueError as exc:
        raise IndexCorrupt(f"{exc}; {REBUILD_HINT}") from exc
    if len(vectors) != rows:
        raise IndexCorrupt(
            f"index at {layout.root} is inconsistent: {path.name} holds {len(vectors)} vectors "
            f"but the database has {rows} {what}; {REBUILD_HINT}"
        )
    return vectors


def load_postings(layout: IndexLayout, generation: int) -> Postings | None:
    """Read the BM25 postings of `generation`; None for an index written before they existed
    (its vector file is there, its postings file is not) or before the stemmer's revision
    (`OutdatedPostings`): readers then build them in memory, the next writer saves them.

    Raises:
        FileNotFoundError: neither file is there (a writer may have committed a newer
            generation meanwhile).
        IndexCorrupt: the postings file is unreadable.
    """
    try:
        return Postings.load(layout.lexical(generation))
    except OutdatedPostings:
        return None
    except FileNotFoundError:
        if layout.vectors(generation).is_file():
            return None
        raise
    except ValueError as exc:
        raise IndexCorrupt(f"{exc}; {REBUILD_HINT}") from exc


def passage_factory(factory: str) -> str:
    """The FAISS factory of the passage vectors of an index whose sentences use `factory`:
    the same for "auto" and "Flat"; "Flat" for a fixed IVF (sized for the sentences, not for
    the fewer passages)."""
    return factory if factory == AUTO_FACTORY else "Flat"


def load_passage_vectors(
    layout: IndexLayout, generation: int, factory: str, passages: int, *, mmap: bool = False
) -> FaissIndex | None:
    """Read the passage vectors of `generation` and check there is one per passage; None for
    an index written before they existed (its vector file is there, this one is not).

    Raises:
        FileNotFoundError: neither file is there (a writer may have committed a newer
            generation meanwhile).
        IndexCorrupt: the file is unreadable or its count disagrees with the passages table.
    """
    path = layout.passage_vectors(generation)
    try:
        return _load_counted(layout, path, passage_factory(factory), passages, "passages", mmap)
    except FileNotFoundError:
        if layout.vectors(generation).is_file():
            return None
        raise


def publish(
    layout: IndexLayout,
    store: MetadataStore,
    vectors: FaissIndex,
    postings: Postings,
    passage_vectors: FaissIndex | None,
    generation: int,
) -> int:
    """Commit the store's open transaction together with `vectors`, `postings` and
    `passage_vectors` as generation + 1.

    Args:
        layout: the index directory (the caller holds the write lock).
        store: bound to the writer's connection, whose transaction holds the changes.
        vectors: the vectors of exactly the sentences in that transaction's view.
        postings: the postings of exactly its passages.
        passage_vectors: the pooled vectors of exactly its passages; None for an index whose
            stored vectors cannot be pooled (no file: readers rank by sentences alone).
        generation: the currently committed generation.

    Returns:
        the new generation.

    Raises:
        StorageError: writing the vector file or the commit failed; the transaction is rolled
            back and generation `generation` is still the committed one.
    """
    new_generation = generation + 1
    new_files = generation_files(layout, new_generation)
    try:
        vectors.save(new_files[0])
        postings.save(new_files[1])
        if passage_vectors is not None:
            passage_vectors.save(new_files[2])
    except StorageError:
        store.connection.rollback()
        for path in new_files:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    try:
        store.set_meta(GENERATION_KEY, str(new_generation))
        store.connection.commit()
    except sa.exc.SQLAlchemyError as exc:
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            store.connection.rollback()
        # A COMMIT can fail after the data reached the disk; only trust what a new read says.
        if _committed_generation(store) != new_generation:
            for path in new_files:
                with contextlib.suppress(OSError):
                    path.unlink()
            raise StorageError(
                f"could not commit to {layout.database}: {exc}; the index is unchanged "
                "(changes since the last checkpoint were discarded). Check free disk space."
            ) from exc
    for old_path in generation_files(layout, generation):
        try:
            old_path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:  # harmless: the next writer deletes stray generations
            log.warning("could not delete %s: %s", old_path, exc)
    return new_generation


def generation_files(layout: IndexLayout, generation: int) -> tuple[Path, Path, Path]:
    """The files of a generation: sentence vectors, BM25 postings, passage vectors."""
    return (
        layout.vectors(generation),
        layout.lexical(generation),
        layout.passage_vectors(generation),
    )


def _committed_generation(store: MetadataStore) -> int | None:
    try:
        return read_generation(store)
    except (sa.exc.SQLAlchemyError, IndexCorrupt):
        return None
