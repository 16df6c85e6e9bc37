"""Ingest end to end: documents/s, sentences/s and MB/s on a generated plain-text corpus.

    python benchmarks/ingest_speed.py                        # full: >= 100k sentences
    python benchmarks/ingest_speed.py --sentences 3000       # smoke test (seconds)
    python benchmarks/ingest_speed.py --profile              # add a cProfile of the ingest

The corpus is made from the 17 public-domain Gutenberg books in ../shared/data/train/gutenberg
(one sentence per line there): lines are joined into wrapped paragraphs and the paragraphs into
text files of about `--sentences-per-file` sentences; once the books are used up, their
paragraphs are shuffled and recombined into further files until `--sentences` is reached. It
is generated once into the benchmark cache (~/.cache/docsearch/bench, or
$DOCSEARCH_BENCH_CACHE), never into the repository.

`DocSearch.ingest` runs unchanged; timers wrapped around its stages give the share of time in
each: listing, reading (read + decode + hash), splitting (sentences, and windows for the few
that are too long), tokenizing (every tokenizer call, also the length check during
splitting), encoding, storing (SQLite, FTS5 and FAISS add) and checkpoints (FAISS write,
commit, and the "auto" switch to IVF); "other" is the rest. Times are exclusive wall time in
each stage; should ingest become pipelined across threads, they may overlap. Then the same
folder is ingested again (every file unchanged) to time the incremental check.

Writes benchmarks/results/ingest_speed.json.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gzip
import io
import json
import pstats
import random
import re
import shutil
import tempfile
import textwrap
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from machine import CACHE, SHARED_DATA, peak_rss_mib, write_result

GUTENBERG = SHARED_DATA / "train" / "gutenberg"
_CORPUS_MARKER = "corpus.json"


# -- corpus ------------------------------------------------------------------------------------


def detokenize(line: str) -> str:
    """Undo the Penn-style tokenisation of the Gutenberg files ("sister 's ," -> "sister's,")."""
    line = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", line)
    line = re.sub(r" ([,.;:!?%)\]])", r"\1", line)
    return re.sub(r"([(\[]) ", r"\1", line)


def book_paragraphs(rng: random.Random) -> Iterator[tuple[str, list[str]]]:
    """(book name, paragraphs) per book; a paragraph is 3-8 consecutive sentences."""
    for path in sorted(GUTENBERG.glob("*.txt.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            lines = [detokenize(line.strip()) for line in f if line.strip()]
        paragraphs, i = [], 0
        while i < len(lines):
            size = rng.randint(3, 8)
            paragraphs.append(" ".join(lines[i : i + size]))
            i += size
        yield path.name.removesuffix(".txt.gz"), paragraphs


def sentence_count(paragraph: str) -> int:
    """Sentences docsearch's splitter finds (ingest may add a few windows for long ones)."""
    from docsearch.splitting import split_spans

    return len(split_spans(paragraph))


def generate_corpus(folder: Path, sentences: int, per_file: int, seed: int) -> dict[str, Any]:
    """Write text files holding about `sentences` sentences into `folder`; return its stats."""
    marker = folder / _CORPUS_MARKER
    if marker.is_file():
        return dict(json.loads(marker.read_text()))
    if folder.exists():
        shutil.rmtree(folder)
    rng = random.Random(seed)
    books = list(book_paragraphs(rng))
    if not books:
        raise SystemExit(f"no Gutenberg books at {GUTENBERG}")
    files = total_bytes = estimated = 0
    edition = 0
    while estimated < sentences:
        edition += 1
        for name, paragraphs in books:
            if edition > 1:  # recombine: same paragraphs, new order, new documents
                paragraphs = rng.sample(paragraphs, len(paragraphs))
            chunk: list[str] = []
            in_chunk = 0
            for paragraph in paragraphs:
                wrapped = textwrap.fill(paragraph, width=72)
                chunk.append(wrapped)
                in_chunk += sentence_count(wrapped)
                if in_chunk >= per_file or estimated + in_chunk >= sentences:
                    path = folder / name / f"{name}-e{edition}-{files:05d}.txt"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    data = ("\n\n".join(chunk) + "\n").encode("utf-8")
                    path.write_bytes(data)
                    files += 1
                    total_bytes += len(data)
                    estimated += in_chunk
                    chunk, in_chunk = [], 0
                    if estimated >= sentences:
                        break
            if estimated >= sentences:
                break
    stats = {"files": files, "bytes": total_bytes, "sentences_split": estimated}
    marker.write_text(json.dumps(stats))
    return stats


# -- stage timers ------------------------------------------------------------------------------


class StageTimer:
    """Accumulates wall time per stage by wrapping functions and methods.

    Time is exclusive: a wrapped call nested in another (the tokenizer inside `encode`) is
    charged to its own path ("encode/tokenizing"), not to its caller, so the paths partition
    the time spent in wrapped code.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[list[Any]] = []  # [stage path, seconds spent in nested stages]

    def wrap(self, owner: Any, attribute: str, stage: str) -> None:
        """Replace `owner.attribute` by a timed version of itself."""
        original: Callable[..., Any] = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            path = f"{self._stack[-1][0]}/{stage}" if self._stack else stage
            self._stack.append([path, 0.0])
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                _, nested = self._stack.pop()
                self.seconds[path] += elapsed - nested
                self.calls[path] += 1
                if self._stack:
                    self._stack[-1][1] += elapsed

        setattr(owner, attribute, timed)


def instrument(ds: Any) -> StageTimer:
    """Wrap the stages of `DocSearch.ingest` (the encoder must be loaded)."""
    import docsearch.ingest
    from indexer.writer import IndexWriter

    timer = StageTimer()
    timer.wrap(docsearch.ingest, "find_files", "listing")
    timer.wrap(docsearch.ingest, "read_file", "reading")
    timer.wrap(docsearch.ingest, "index_sentences", "splitting")
    timer.wrap(docsearch.ingest, "split_document", "split_document")
    timer.wrap(ds.encoder, "windows", "window_check")
    timer.wrap(ds.encoder, "encode", "encode")
    timer.wrap(ds.encoder.tokenizer, "encode", "tokenizing")
    timer.wrap(IndexWriter, "add_document", "storing")
    timer.wrap(IndexWriter, "checkpoint", "checkpoint")
    return timer


def stage_table(timer: StageTimer, total: float) -> dict[str, Any]:
    """Stages that partition the total (every tokenizer call counts as tokenizing), with shares."""
    s = timer.seconds

    def matching(prefix: str) -> float:
        return sum(v for k, v in s.items() if k.startswith(prefix) and not k.endswith("tokenizing"))

    top = {
        "listing": s["listing"],
        "reading": s["reading"],
        "splitting": matching("splitting"),
        "tokenizing": sum(v for k, v in s.items() if k.endswith("tokenizing")),
        "encoding": matching("encode"),
        "storing": matching("storing"),
        "checkpoint": matching("checkpoint"),
    }
    top["other"] = max(0.0, total - sum(top.values()))
    table: dict[str, Any] = {
        name: {"seconds": round(sec, 3), "share": round(sec / total, 4)}
        for name, sec in top.items()
    }
    table["detail_seconds"] = {k: round(v, 3) for k, v in sorted(s.items())}
    table["detail_calls"] = dict(sorted(timer.calls.items()))
    return table


def profile_summary(profiler: cProfile.Profile, top: int = 25) -> dict[str, list[str]]:
    """The `top` functions by own time and by cumulative time, as pstats prints them."""
    out: dict[str, list[str]] = {}
    for key in ("tottime", "cumulative"):
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats(key).print_stats(top)
        lines = [ln.rstrip() for ln in buffer.getvalue().splitlines() if ln.strip()]
        start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls")), 0)
        out[key] = lines[start:]
    return out


# -- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sentences", type=int, default=100_000, help="corpus size (sentences)")
    parser.add_argument("--sentences-per-file", type=int, default=50, help="document size")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--faiss", default="auto", help="FAISS factory of the new index")
    parser.add_argument("--profile", action="store_true", help="run the ingest under cProfile")
    parser.add_argument("--keep-index", action="store_true", help="keep the built index")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="default results/ingest_speed.json")
    args = parser.parse_args()

    folder = CACHE / f"ingest_corpus_{args.sentences}_{args.sentences_per_file}_{args.seed}"
    started = time.perf_counter()
    corpus = generate_corpus(folder, args.sentences, args.sentences_per_file, args.seed)
    print(f"corpus: {corpus} in {folder} ({time.perf_counter() - started:.1f} s)", flush=True)

    from docsearch import DocSearch
    from docsearch.config import Settings

    index_dir = Path(tempfile.mkdtemp(prefix="ingest_speed_", dir=CACHE)) / "index"
    settings = Settings.load(index=index_dir, threads=args.threads, faiss_factory=args.faiss)
    ds = DocSearch(settings=settings, device="cpu")
    load_started = time.perf_counter()
    ds.encoder  # noqa: B018 - load the model (and torch) before the clock starts
    model_load_s = time.perf_counter() - load_started
    timer = instrument(ds)
    profiler = cProfile.Profile() if args.profile else None

    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    report = ds.ingest([folder])
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started
    rss_after_ingest = peak_rss_mib()
    stages = stage_table(timer, seconds)  # before the re-ingest adds to the timers

    started = time.perf_counter()
    again = ds.ingest([folder])
    reingest_s = time.perf_counter() - started
    index = ds._open(create=False)  # noqa: SLF001 - the benchmark reads the index's own numbers
    factory, nprobe = index.faiss_structure()
    disk = index.disk_bytes()
    ds.close()

    mb = corpus["bytes"] / 1e6
    result: dict[str, Any] = {
        "corpus": {**corpus, "folder": str(folder)},
        "threads": args.threads,
        "model_load_seconds": round(model_load_s, 3),
        "seconds": round(seconds, 3),
        "documents": report.added,
        "sentences": report.sentences,
        "failed": len(report.failed),
        "documents_per_s": round(report.added / seconds, 1),
        "sentences_per_s": round(report.sentences / seconds, 1),
        "mb_per_s": round(mb / seconds, 3),
        "stages": stages,
        "peak_rss_mib": rss_after_ingest,
        "index": {
            "faiss_factory": args.faiss,
            "faiss_structure": factory,
            "nprobe": nprobe,
            "disk_bytes": disk,
            "bytes_per_sentence": round(disk / max(1, report.sentences), 1),
        },
        "reingest_unchanged": {
            "seconds": round(reingest_s, 3),
            "unchanged": again.unchanged,
            "documents_per_s": round(again.unchanged / reingest_s, 1),
        },
    }
    if profiler is not None:
        result["profiled"] = True  # cProfile slows Python-heavy stages; compare shares, not speed
        result["profile"] = profile_summary(profiler)
    if not args.keep_index:
        shutil.rmtree(index_dir.parent, ignore_errors=True)
    else:
        result["index"]["path"] = str(index_dir)
    path = write_result("ingest_speed", result, args.out)
    summary = {k: result[k] for k in ("sentences", "seconds", "sentences_per_s", "mb_per_s")}
    print(json.dumps({**summary, "stages": result["stages"]}, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
