"""Documents -> sentences -> vectors -> indexer.Index, incrementally and in batches."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docsearch.documents import Document, find_files, read_file
from docsearch.errors import EmptyDocument, UnreadableDocument
from docsearch.splitting import Sentence, split_document

if TYPE_CHECKING:
    from docsearch.encoder import Encoder
    from indexer import Index
    from indexer import IndexWriter as Writer

log = logging.getLogger(__name__)

# Sentences gathered (across documents) before one encoder call: large enough for full,
# length-sorted batches, small enough to bound memory.
ENCODE_CHUNK = 4096
# A checkpoint makes the work so far durable; a killed ingest resumes from the last one.
CHECKPOINT_SENTENCES = 50_000


@dataclass
class IngestReport:
    """What an ingest did.

    Attributes:
        added, updated, unchanged, removed: document counts.
        sentences: sentences written.
        skipped: (path, reason) for files of types docsearch does not read.
        empty: files with no text (empty or only whitespace), passed by like skipped ones; one
            that was indexed before loses its old text (counted in `removed`).
        failed: (path, reason) for files that could not be read; the rest was still ingested.
        seconds: wall time.
        shared: documents another writer of the same index (PostgreSQL) was writing or had
            just written, so this one left them to it.
    """

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    sentences: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    empty: list[str] = field(default_factory=list)
    shared: int = 0

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "sentences": self.sentences,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "empty": list(self.empty),
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "seconds": round(self.seconds, 3),
            "shared": self.shared,
        }


def index_sentences(document: Document, encoder: Encoder) -> list[Sentence]:
    """Split a document and cut over-long sentences into overlapping encoder windows.

    Each window becomes a sentence of its own (same line and page, its own offsets), so
    every part of the text is encoded and findable; nothing is truncated.
    """
    out: list[Sentence] = []
    sentences = split_document(document)
    # Batched tokenizer calls find the few sentences that need windows; only the lengths are
    # kept (the token lists of a 50 MB document took ~1 KiB per sentence at once).
    lengths: list[int] = []
    for start in range(0, len(sentences), ENCODE_CHUNK):
        part = sentences[start : start + ENCODE_CHUNK]
        lengths += [len(ids) for ids in encoder.tokenizer.encode([s.text for s in part])]
    for sentence, n_tokens in zip(sentences, lengths, strict=True):
        spans = encoder.windows(sentence.text) if n_tokens > encoder.max_tokens else []
        if len(spans) <= 1:
            out.append(sentence)
            continue
        for a, b in spans:
            out.append(
                Sentence(
                    text=sentence.text[a:b],
                    start=sentence.start,
                    end=sentence.end,
                    line=sentence.line,
                    page=sentence.page,
                )
            )
    return out


def document_record(document: Document, metadata: dict[str, Any] | None = None) -> Any:
    """The indexer's row for a document."""
    from indexer import DocumentRecord

    return DocumentRecord(
        path=document.path,
        sha256=document.sha256,
        size=document.size,
        mtime=document.mtime,
        type=document.type,
        title=document.title,
        metadata=metadata or {},
    )


def sentence_records(sentences: Sequence[Sentence]) -> list[Any]:
    """The indexer's rows for a document's sentences, in order."""
    from indexer import SentenceRecord

    return [
        SentenceRecord(text=s.text, start=s.start, end=s.end, line=s.line, page=s.page)
        for s in sentences
    ]


class Batcher:
    """Collects documents, encodes their sentences in large batches and writes them.

    Args:
        writer: an open index writer.
        encoder: the sentence encoder.
        on_written: called with each document once it is written.
        on_encoded: called with the number of sentences just encoded, every `ENCODE_CHUNK`
            or so (a large document is encoded and written in parts, reporting each).
        checkpoint_sentences: commit (between documents) once this many sentences are
            written since the last commit; 1 commits every batch written. Default:
            `CHECKPOINT_SENTENCES`.
    """

    def __init__(
        self,
        writer: Writer,
        encoder: Encoder,
        *,
        on_written: Callable[[Document, int], None] | None = None,
        on_encoded: Callable[[int], None] | None = None,
        checkpoint_sentences: int | None = None,
    ) -> None:
        self.writer = writer
        self.checkpoint_sentences = checkpoint_sentences or CHECKPOINT_SENTENCES
        self.encoder = encoder
        self.on_written = on_written
        self.on_encoded = on_encoded
        self.pending: list[tuple[Document, list[Sentence], dict[str, Any] | None]] = []
        self.pending_sentences = 0
        self.since_checkpoint = 0

    def add(self, document: Document, metadata: dict[str, Any] | None = None) -> None:
        """Queue a document; flushes when enough sentences are waiting."""
        sentences = index_sentences(document, self.encoder)
        if len(sentences) > ENCODE_CHUNK:
            self.flush()
            self._write_in_parts(document, sentences, metadata)
            return
        self.pending.append((document, sentences, metadata))
        self.pending_sentences += len(sentences)
        if self.pending_sentences >= ENCODE_CHUNK:
            self.flush()

    def _write_in_parts(
        self, document: Document, sentences: list[Sentence], metadata: dict[str, Any] | None
    ) -> None:
        """A large document, `ENCODE_CHUNK` sentences at a time: memory stays bounded by the
        part (not the document), and the parts commit together at the next checkpoint."""
        document_id = -1
        for start in range(0, len(sentences), ENCODE_CHUNK):
            part = sentences[start : start + ENCODE_CHUNK]
            vectors = self._encode([s.text for s in part])
            if start == 0:
                record = document_record(document, metadata)
                document_id = self.writer.add_document(record, sentence_records(part), vectors)
            else:
                self.writer.extend_document(document_id, start, sentence_records(part), vectors)
        if self.on_written is not None:
            self.on_written(document, len(sentences))
        self._written(len(sentences))

    def flush(self) -> None:
        """Encode and write everything queued."""
        if not self.pending:
            return
        texts = [s.text for _, sentences, _ in self.pending for s in sentences]
        vectors = self._encode(texts)
        row = 0
        for document, sentences, metadata in self.pending:
            n = len(sentences)
            self.writer.add_document(
                document_record(document, metadata),
                sentence_records(sentences),
                vectors[row : row + n],
            )
            row += n
            if self.on_written is not None:
                self.on_written(document, n)
        self.pending, self.pending_sentences = [], 0
        self._written(row)

    def _written(self, n: int) -> None:
        """Count sentences written; checkpoint (between documents) every so many."""
        self.since_checkpoint += n
        if self.since_checkpoint >= self.checkpoint_sentences:
            self.writer.checkpoint()
            self.since_checkpoint = 0

    def _encode(self, texts: list[str]) -> Any:
        """The texts' vectors (fewer than two `ENCODE_CHUNK`s), reported to `on_encoded`."""
        vectors = self.encoder.encode(texts)
        if self.on_encoded is not None:
            self.on_encoded(len(texts))
        return vectors


def ingest_paths(
    index: Index,
    encoder: Encoder,
    paths: Iterable[str | Path],
    *,
    prune: bool = True,
    remove: Sequence[str] = (),
    wait_seconds: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
    on_encoded: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest files and folders (recursively), skipping files whose content is unchanged.

    Args:
        index: the index to write to.
        encoder: must be the index's model.
        paths: files or folders.
        prune: remove indexed documents under the given folders whose files are gone.
        remove: also remove the documents these paths, folders or globs select (see
            `docsearch.selection`), in the same commit (`docsearch watch` applies a batch so).
        wait_seconds: how long to wait for another writer to finish.
        progress: called with (files done, files total) as work proceeds.
        on_encoded: called with the number of sentences just encoded, every few thousand.

    Returns:
        What was done; unreadable files are listed in `failed`, never raised.
    """
    started = time.monotonic()
    report = IngestReport()
    roots = [Path(p) for p in paths]
    listing = find_files(roots, exclude=[index.root])  # never the index's own files
    report.skipped = [(printable_path(p), reason) for p, reason in listing.skipped]
    report.failed = [(printable_path(p), "no such file or directory") for p in listing.missing]
    report.failed += [(printable_path(p), reason) for p, reason in listing.failed]
    known: dict[str, Any] = {}

    def count(document: Document, n: int) -> None:
        report.sentences += n
        if document.path in known:
            report.updated += 1
        else:
            report.added += 1

    with index.writer(wait_seconds=wait_seconds) as writer:
        # Read what is indexed only once we hold the lock: another process may have just
        # ingested the same files while we waited.
        known.update((doc.path, doc) for doc in index.documents())
        if remove:
            from docsearch.selection import select_all

            chosen = select_all(list(known), [os.fspath(p) for p in remove])
            for stored in dict.fromkeys(p for paths_ in chosen.values() for p in paths_):
                if writer.remove_document(stored):
                    report.removed += 1
                    known.pop(stored, None)
        batcher = Batcher(
            writer,
            encoder,
            on_written=count,
            on_encoded=on_encoded,
            checkpoint_sentences=getattr(index, "checkpoint_sentences", CHECKPOINT_SENTENCES),
        )
        for done, path in enumerate(listing.files, 1):
            try:
                document = read_file(Path(os.path.abspath(path)))
            except EmptyDocument:
                report.empty.append(printable_path(path))
                if os.path.abspath(path) in known and writer.remove_document(os.path.abspath(path)):
                    report.removed += 1
                continue
            except UnreadableDocument as e:
                # Reported once, by the caller, from `report.failed` (the CLI lists them).
                log.debug("not ingested: %s", e)
                report.failed.append((printable_path(path), e.reason))
                continue
            finally:
                if progress is not None:
                    progress(done, len(listing.files))
            previous = known.get(document.path)
            if previous is not None and previous.sha256 == document.sha256:
                report.unchanged += 1
                continue
            claim = getattr(writer, "claim", None)  # backends where several writers share work
            if claim is not None and not claim(document.path, document.sha256):
                report.shared += 1
                continue
            batcher.add(document)
        batcher.flush()
        if prune:
            report.removed += _prune(writer, known, listing.files, [p for p in roots if p.is_dir()])
    report.seconds = time.monotonic() - started
    return report


_UNPRINTABLE = {code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F]} | {
    ord("\n"): "\\n",
    ord("\t"): "\\t",
    ord("\r"): "\\r",
}


def printable_path(path: str | Path) -> str:
    """A path safe to print on one line: control characters and undecodable bytes escaped.

    A name with a newline or a terminal escape sequence would break or hijack the report line;
    a name that is not valid UTF-8 (decoded with surrogates) cannot be written to a UTF-8 stream.
    Ordinary names, spaces and non-ASCII letters included, come back unchanged.
    """
    text = os.fspath(path).translate(_UNPRINTABLE)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _prune(writer: Writer, known: dict[str, Any], present: list[Path], folders: list[Path]) -> int:
    """Remove indexed documents under `folders` whose files no longer exist."""
    roots = [os.path.join(os.path.abspath(f), "") for f in folders]
    found = {os.path.abspath(p) for p in present}
    removed = 0
    for path in known:
        if any(path.startswith(root) for root in roots) and path not in found:
            if not os.path.exists(path):
                writer.remove_document(path)
                removed += 1
    return removed
