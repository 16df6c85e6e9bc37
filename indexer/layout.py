"""The index directory: which files it holds, `manifest.json`, and the cross-process write lock.

```
<root>/index.sqlite3           documents, sentences, passages, meta (the committed generation)
<root>/vectors.<g>.faiss       the vectors of generation g (only the committed one is kept)
<root>/lexical.<g>.postings    the BM25 postings of generation g (`indexer.lexical.postings`)
<root>/passages.<g>.faiss      the passage vectors of generation g (`indexer.passage_vectors`)
<root>/manifest.json           what built the index, and its counts (rewritten after each commit)
<root>/write.lock              flock()ed by the one process allowed to write
```
Every file is created with the user's umask. Nothing is pickled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import errno
import json
import logging
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.atomic import TEMP_SUFFIX, write_bytes_atomic
from indexer.errors import FormatMismatch, IndexCorrupt, IndexLocked, StorageError

log = logging.getLogger(__name__)

# Format 2 (session 7): no FTS5 tables. Format 1 is still read, and migrated by its next
# writer (indexer.migrate).
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
DATABASE_NAME = "index.sqlite3"
MANIFEST_NAME = "manifest.json"
LOCK_NAME = "write.lock"
_VECTORS_NAME = re.compile(r"vectors\.(0|[1-9][0-9]*)\.faiss")
_LEXICAL_NAME = re.compile(r"lexical\.(0|[1-9][0-9]*)\.postings")
_PASSAGES_NAME = re.compile(r"passages\.(0|[1-9][0-9]*)\.faiss")
MODELS_DIR = "models"  # adapted models: models/<fingerprint>/, staged as models/.staging-<hex>/
_DATABASE_SUFFIXES = ("", "-wal", "-shm", "-journal")
_OWN_FILE_NAMES = frozenset(
    [DATABASE_NAME + suffix for suffix in _DATABASE_SUFFIXES] + [MANIFEST_NAME, LOCK_NAME]
)
_OWN_TEMP_NAME = re.compile(
    r"\.(vectors|lexical|passages|manifest\.json|index\.sqlite3)\..*" + re.escape(TEMP_SUFFIX)
)
_OWN_MODEL_NAME = re.compile(r"[0-9a-f]{16}|\.staging-[0-9a-f]{32}")
_LOCK_POLL_SECONDS = 0.05

REBUILD_HINT = "run `docsearch ingest --rebuild ...` to build it again"


@dataclass(frozen=True)
class Manifest:
    """What `manifest.json` says about an index. Values are read back, never re-derived."""

    format_version: int
    model_name: str
    model_fingerprint: str
    tokenizer_version: str
    dim: int
    faiss_factory: str
    documents: int
    sentences: int
    docsearch_version: str
    built_at: str  # ISO 8601, UTC
    generation: int
    # Where an adapted model lives inside the index ("" for none) and the model it came from.
    model_dir: str = ""
    base_model_fingerprint: str = ""

    @classmethod
    def new(
        cls,
        *,
        model_name: str,
        model_fingerprint: str,
        tokenizer_version: str,
        dim: int,
        faiss_factory: str,
        docsearch_version: str,
    ) -> Manifest:
        """The manifest of an index created now, empty, at generation 0."""
        return cls(
            format_version=FORMAT_VERSION,
            model_name=model_name,
            model_fingerprint=model_fingerprint,
            tokenizer_version=tokenizer_version,
            dim=dim,
            faiss_factory=faiss_factory,
            documents=0,
            sentences=0,
            docsearch_version=docsearch_version,
            built_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            generation=0,
        )

    def to_json(self) -> str:
        """Serialise as pretty-printed JSON (keys in field order)."""
        return json.dumps(dataclasses.asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: Path | str) -> Manifest:
        """Parse manifest JSON; `source` names where it came from in error messages: the
        manifest file, or the URL of a database (`indexer.postgres`).

        Raises:
            FormatMismatch: the manifest has another `format_version`.
            IndexCorrupt: the text is not a manifest.
        """
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise IndexCorrupt(f"{source} is not valid JSON ({exc}); {REBUILD_HINT}") from exc
        if not isinstance(raw, dict):
            raise IndexCorrupt(f"{source} does not hold a JSON object; {REBUILD_HINT}")
        version = raw.get("format_version")
        if version not in READABLE_FORMATS:
            raise FormatMismatch(
                f"index at {source.parent if isinstance(source, Path) else source} has on-disk "
                f"format version {version!r}; this version "
                f"of docsearch reads formats {' and '.join(map(str, READABLE_FORMATS))}; "
                f"{REBUILD_HINT}"
            )
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            expected = int if field.type == "int" else str
            # Fields added after format 1 have defaults, so older manifests still read.
            default = None if field.default is dataclasses.MISSING else field.default
            value = raw.get(field.name, default)
            if not isinstance(value, expected) or isinstance(value, bool):
                raise IndexCorrupt(
                    f"{source}: field {field.name!r} should be {expected.__name__}, "
                    f"got {value!r}; {REBUILD_HINT}"
                )
            values[field.name] = value
        return cls(**values)


@dataclass(frozen=True)
class IndexLayout:
    """Paths of the files in an index directory."""

    root: Path

    @property
    def database(self) -> Path:
        """The SQLite database."""
        return self.root / DATABASE_NAME

    @property
    def manifest(self) -> Path:
        """`manifest.json`."""
        return self.root / MANIFEST_NAME

    @property
    def lock(self) -> Path:
        """The file writers hold an exclusive flock on."""
        return self.root / LOCK_NAME

    def vectors(self, generation: int) -> Path:
        """The vector file of `generation`."""
        return self.root / f"vectors.{generation}.faiss"

    def lexical(self, generation: int) -> Path:
        """The BM25 postings file of a generation."""
        return self.root / f"lexical.{generation}.postings"

    def passage_vectors(self, generation: int) -> Path:
        """The passage vector file of a generation."""
        return self.root / f"passages.{generation}.faiss"

    def is_own(self, path: Path) -> bool:
        """True when `path` (an entry of the root) is a file or folder docsearch creates.

        Only these are ever deleted (`delete_index`) or skipped when the index lies inside
        a folder being ingested; anything else in the directory belongs to the user.
        """
        name = path.name
        if name == MODELS_DIR:
            return path.is_dir() and all(
                _OWN_MODEL_NAME.fullmatch(entry.name) for entry in path.iterdir()
            )
        return path.is_file() and bool(
            name in _OWN_FILE_NAMES
            or _VECTORS_NAME.fullmatch(name)
            or _LEXICAL_NAME.fullmatch(name)
            or _PASSAGES_NAME.fullmatch(name)
            or _OWN_TEMP_NAME.fullmatch(name)
        )

    def foreign_entries(self) -> list[Path]:
        """Entries of the root that docsearch did not create (none when the root is missing)."""
        if not self.root.is_dir():
            return []
        return sorted(path for path in self.root.iterdir() if not self.is_own(path))

    def delete_index(self) -> list[Path]:
        """Delete the index's own files, by name, and the root if nothing else is left in it.

        Files and folders that docsearch did not create are never touched. Only a process
        holding the write lock may call this; the lock file itself is kept while held.

        Returns:
            the entries deleted.
        """
        deleted = []
        for path in sorted(self.root.iterdir()) if self.root.is_dir() else []:
            if path.name == LOCK_NAME or not self.is_own(path):
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            deleted.append(path)
        return deleted

    def vector_generations(self) -> list[int]:
        """Generations that have a vector file in the directory, ascending."""
        found = []
        for path in self.root.iterdir():
            match = _VECTORS_NAME.fullmatch(path.name)
            if match is not None:
                found.append(int(match.group(1)))
        return sorted(found)

    def remove_stray_files(self, generation: int) -> list[Path]:
        """Delete vector, postings and passage vector files of other generations and leftover
        temporary files.

        Only a process holding the write lock may call this: a writer may be creating them.

        Returns:
            the paths deleted.
        """
        stray = [self.vectors(g) for g in self.vector_generations() if g != generation]
        for path in self.root.iterdir():
            match = _LEXICAL_NAME.fullmatch(path.name) or _PASSAGES_NAME.fullmatch(path.name)
            if match is not None and int(match.group(1)) != generation:
                stray.append(path)
        stray += [
            path
            for path in self.root.iterdir()
            if path.name.startswith((".vectors.", ".lexical.", ".passages.", f".{MANIFEST_NAME}."))
            and path.name.endswith(TEMP_SUFFIX)
        ]
        removed = []
        for path in stray:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:  # harmless to leave: nothing reads it
                log.warning("could not delete %s: %s", path, exc)
                continue
            log.info("deleted %s (left by an interrupted write)", path)
            removed.append(path)
        return removed

    def read_manifest(self) -> Manifest:
        """Read `manifest.json`.

        Raises:
            FileNotFoundError: there is no manifest.
            StorageError: it cannot be read.
            FormatMismatch, IndexCorrupt: see `Manifest.from_json`.
        """
        try:
            text = self.manifest.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise
        except (OSError, UnicodeDecodeError) as exc:
            raise StorageError(f"cannot read {self.manifest}: {exc}") from exc
        return Manifest.from_json(text, source=self.manifest)

    def write_manifest(self, manifest: Manifest) -> None:
        """Replace `manifest.json` atomically and durably.

        Raises:
            StorageError: the write failed; the previous manifest is intact.
        """
        write_bytes_atomic(self.manifest, manifest.to_json().encode("utf-8"))


class WriteLock:
    """Exclusive cross-process lock on `write.lock` (`flock`; `msvcrt.locking` on Windows,
    untested there), released on close or exit.

    flock locks belong to an open file, so two `WriteLock`s in one process exclude each other too.
    The holder writes its pid into the file so that a waiting process can name it.
    """

    def __init__(self, path: Path) -> None:
        """Prepare a lock on `path`; nothing is opened until `acquire`."""
        self.path = path
        self._fd: int | None = None

    def acquire(self, wait_seconds: float = 0) -> None:
        """Take the lock, retrying for up to `wait_seconds`.

        Raises:
            IndexLocked: another writer still holds it after waiting.
            StorageError: the lock file cannot be created (read-only directory...).
        """
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise StorageError(
                f"cannot create the lock file {self.path}: {exc}; "
                "the index directory must be writable to change the index"
            ) from exc
        deadline = time.monotonic() + max(0.0, wait_seconds)
        said_waiting = False
        while True:
            try:
                if _try_lock(fd):
                    break
            except OSError as exc:
                os.close(fd)
                raise StorageError(f"cannot lock {self.path}: {exc}") from exc
            if time.monotonic() >= deadline:
                who = _holder(fd)
                os.close(fd)
                raise IndexLocked(
                    f"index at {self.path.parent} is being written by {who}; wait for it to "
                    "finish and try again, or allow a longer wait"
                )
            if not said_waiting:  # a writer that waits in silence looks hung
                said_waiting = True
                log.info(
                    "waiting up to %.0f s for %s, which is writing the index at %s",
                    deadline - time.monotonic(),
                    _holder(fd),
                    self.path.parent,
                )
            time.sleep(_LOCK_POLL_SECONDS)
        with contextlib.suppress(OSError):  # the pid is only a courtesy for error messages
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    @property
    def is_held(self) -> bool:
        """True between a successful `acquire` and `release`."""
        return self._fd is not None

    def release(self) -> None:
        """Release the lock (no-op when not held)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> WriteLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on the open file without waiting; False when another holds it."""
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl  # not on Windows: imported here so that `import indexer` works there

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _holder(fd: int) -> str:
    """Who holds the lock, in words, from the pid its holder wrote into the file."""
    holder = _read_pid(fd)
    if holder == str(os.getpid()):
        return "another writer in this process"
    return f"another process (pid {holder})" if holder else "another process"


def _read_pid(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        return ""
