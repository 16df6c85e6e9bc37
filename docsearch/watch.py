"""Follow folders as they change: `docsearch watch` and its library form, `Watcher`.

After an initial ingest of the folders, file-system events (watchdog: inotify, FSEvents,
ReadDirectoryChangesW; its polling observer where those are missing, or with `poll=True`) are
gathered into batches. A batch is applied once `debounce` seconds pass without a new event
(or `max_delay` after its first event, for files that never stop changing): the paths
created, changed or moved in are ingested (unchanged content is skipped), the paths deleted or
moved away are removed, folders included. A file that fails to read (say, a PDF still being
written) is tried again in a later batch, up to `RETRIES` times. Each batch is one commit.
Without watchdog installed (`pip install "docsearch[watch]"`), the folders are re-ingested
every `debounce` seconds instead, which finds the same changes by reading them again.

Stopping (`stop()`, Ctrl-C or SIGTERM from the CLI) waits for the batch in hand to commit, so
nothing is half-applied; an event that arrived after it is picked up by the next start's
initial ingest.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docsearch.api import DocSearch
    from docsearch.ingest import IngestReport

log = logging.getLogger(__name__)

# A file that failed to read is tried again in this many later batches.
RETRIES = 3


@dataclass
class Batch:
    """What one batch did: paths seen changed (ingested, unchanged content skipped), documents
    removed, sentences written, files that failed."""

    changed: int = 0
    removed: int = 0
    sentences: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def describe(self) -> str:
        """One line for the log."""
        parts = [f"{self.changed} changed", f"{self.removed} removed"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed (will retry)")
        return f"{', '.join(parts)}; {self.sentences} sentences in {self.seconds:.1f} s"


class Watcher:
    """Keep an index in step with folders (see the module docstring).

    Args:
        search: the `DocSearch` whose index follows the folders.
        paths: folders (or files) to follow.
        debounce: seconds without a new event before a batch is applied.
        max_delay: the longest a batch waits after its first event.
        poll: use watchdog's polling observer (for network file systems).
        on_batch: called with each applied `Batch` (the CLI prints it); without it, each
            batch is logged.
    """

    def __init__(
        self,
        search: DocSearch,
        paths: Iterable[str | Path],
        *,
        debounce: float = 1.0,
        max_delay: float = 10.0,
        poll: bool = False,
        on_batch: Callable[[Batch], None] | None = None,
    ) -> None:
        self.search = search
        self.roots = [os.path.abspath(p) for p in paths]
        self.debounce, self.max_delay, self.poll = debounce, max_delay, poll
        self.on_batch = on_batch
        self._pending: dict[str, int] = {}  # path -> tries left
        self._first_event: float | None = None
        self._last_event = 0.0
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: Any = None
        self._index_dir = os.path.join(os.path.abspath(search.path), "")

    def start(self) -> IngestReport:
        """Ingest the folders once, then follow them from a background thread.

        Returns:
            the initial ingest's report.
        """
        report = self.search.ingest(self.roots)
        self._observer = self._start_observer()
        self._thread = threading.Thread(target=self._run, name="docsearch-watch", daemon=True)
        self._thread.start()
        return report

    def request_stop(self) -> None:
        """Ask `wait` to return (safe from a signal handler: it only sets a flag)."""
        self._stopping.set()

    def stop(self) -> None:
        """Stop following; waits for the batch being applied, if any, to commit."""
        self._stopping.set()
        with self._lock:
            self._lock.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait(self) -> None:
        """Block until `stop` is called (from a signal handler or another thread)."""
        while not self._stopping.wait(0.5):
            pass

    # -- events -------------------------------------------------------------------------------

    def changed(self, *paths: str) -> None:
        """Note that `paths` changed (called by the observer; callable by hand too)."""
        with self._lock:
            now = time.monotonic()
            for path in paths:
                path = os.path.abspath(path)
                if path.startswith(self._index_dir) or path == self._index_dir.rstrip(os.sep):
                    continue  # the index's own files, when it lies inside a followed folder
                self._pending[path] = RETRIES
                self._first_event = self._first_event or now
                self._last_event = now
            self._lock.notify_all()

    def _start_observer(self) -> Any:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
            from watchdog.observers.polling import PollingObserver
        except ImportError:
            log.info(
                "watchdog is not installed: re-reading the folders every %.1f s", self.debounce
            )
            return None
        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                if event.is_directory and event.event_type == "modified":
                    return  # a folder's own mtime: its files' events say what changed
                paths = [event.src_path, getattr(event, "dest_path", "")]
                watcher.changed(*(os.fsdecode(p) for p in paths if p))

        observer = PollingObserver(timeout=self.debounce) if self.poll else Observer()
        for root in self.roots:
            folder = root if os.path.isdir(root) else os.path.dirname(root)
            observer.schedule(Handler(), folder, recursive=True)
        observer.start()
        return observer

    # -- batches ------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            if self._observer is None:  # no watchdog: every round is a full incremental ingest
                if self._stopping.wait(self.debounce):
                    break
                self._apply_full()
                continue
            paths = self._next_batch()
            if paths:
                self._apply(paths)

    def _next_batch(self) -> dict[str, int]:
        """Wait for a quiet moment after some events; return the pending paths (or {} on stop)."""
        with self._lock:
            while not self._stopping.is_set():
                if self._pending:
                    now = time.monotonic()
                    quiet_at = self._last_event + self.debounce
                    latest = (self._first_event or now) + self.max_delay
                    if now >= min(quiet_at, latest):
                        batch, self._pending, self._first_event = self._pending, {}, None
                        return batch
                    self._lock.wait(min(quiet_at, latest) - now)
                else:
                    self._lock.wait()
            return {}

    def _apply(self, paths: dict[str, int]) -> None:
        started = time.monotonic()
        present = [p for p in paths if os.path.exists(p)]
        gone = [p for p in paths if not os.path.exists(p)]
        report = self.search.ingest(present, prune=False, remove=gone)  # one commit
        batch = Batch(
            changed=len(present),
            removed=report.removed,
            sentences=report.sentences,
            failed=report.failed,
        )
        self._retry(paths, report.failed)
        batch.seconds = time.monotonic() - started
        if batch.changed or batch.removed or batch.failed:
            self._report(batch)

    def _apply_full(self) -> None:
        started = time.monotonic()
        report = self.search.ingest(self.roots)
        if report.added or report.updated or report.removed or report.failed:
            batch = Batch(
                changed=report.added + report.updated,
                removed=report.removed,
                sentences=report.sentences,
                failed=report.failed,
                seconds=time.monotonic() - started,
            )
            self._report(batch)

    def _retry(self, tries: dict[str, int], failed: list[tuple[str, str]]) -> None:
        """Put failed files back in the queue while they have tries left."""
        again = {}
        for shown, _ in failed:
            path = os.path.abspath(shown)
            left = tries.get(path, 1) - 1
            if left > 0:
                again[path] = left
        if again:
            with self._lock:
                now = time.monotonic()
                for path, left in again.items():
                    self._pending.setdefault(path, left)
                self._first_event = self._first_event or now
                self._last_event = now
                self._lock.notify_all()

    def _report(self, batch: Batch) -> None:
        if self.on_batch is not None:
            self.on_batch(batch)
        else:
            log.info("watch: %s", batch.describe())
