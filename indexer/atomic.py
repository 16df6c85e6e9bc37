"""Durable, atomic file replacement: write a temporary file beside the target, fsync, rename.

A reader (or a process restarted after `kill -9`) sees either the old file or the complete new one,
never a torn write. Temporary files are named `.<target name>.<pid>.<random>.tmp` so that the
index directory can recognise and delete leftovers; they are created with the user's umask.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from indexer.errors import StorageError

TEMP_SUFFIX = ".tmp"


def temp_path_for(target: Path) -> Path:
    """Return a fresh temporary path in the directory of `target` (not created)."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def fsync(path: Path) -> None:
    """Flush a file's data (it may have been written by C code, e.g. FAISS), or a directory's
    entries (after a rename or unlink), to stable storage."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success, make it durable and rename it onto `target`.

    The caller writes the complete file to the yielded path (creating it). When the block exits
    normally the file is fsynced, renamed over `target` with `os.replace`, and the directory is
    fsynced. When the block raises, the temporary file is removed and `target` is untouched.

    Raises:
        StorageError: the file could not be written, flushed or renamed (disk full, read-only
            directory...). `target` still holds its previous content.
    """
    tmp = temp_path_for(target)
    try:
        yield tmp
        fsync(tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise StorageError(
                f"could not write {target}: {exc}; the previous version is intact. "
                "Check free disk space and write permission."
            ) from exc
        raise
    try:
        fsync(target.parent)
    except OSError as exc:  # the rename happened; only its durability is in doubt
        raise StorageError(f"could not flush directory {target.parent}: {exc}") from exc


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Replace `target` with `data` atomically and durably (see `atomic_path`).

    Raises:
        StorageError: the write failed; `target` still holds its previous content.
    """
    with atomic_path(target) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        finally:
            os.close(fd)
