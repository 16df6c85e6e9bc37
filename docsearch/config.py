"""Settings: every default in one place, then `DOCSEARCH_*` environment variables, then flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from docsearch.errors import DocsearchError
from indexer.factory_names import is_factory


def default_home() -> Path:
    """`$DOCSEARCH_HOME`, else the per-user application directory (e.g. ~/.config/docsearch)."""
    env = os.environ.get("DOCSEARCH_HOME")
    if env:
        return Path(env).expanduser()
    import click

    return Path(click.get_app_dir("docsearch"))


DEVICES = ("auto", "cpu", "cuda")
MODES = ("hybrid", "dense", "lexical")


def _whole_number(name: str, text: str) -> int:
    """An environment variable's value as an integer >= 0, or a DocsearchError naming it."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise DocsearchError(f"{name} must be a whole number >= 0, got {text!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything a user can set, with its default.

    Attributes:
        index: the index directory (`$DOCSEARCH_INDEX`, else `<home>/index`), or the URL of a
            PostgreSQL database (`postgresql://user@host/db`).
        model: directory of the encoder model; None means the model shipped in the package.
        device: `auto`, `cpu` or `cuda`.
        threads: torch intra-op threads; 0 lets torch decide.
        k: results per query.
        mode: `hybrid`, `dense` or `lexical`.
        context: sentences of context shown before and after a hit.
        per_document: most hits from one document, each from another place of it.
        faiss_factory: FAISS structure of a new index (`$DOCSEARCH_FAISS`): `auto` (exact
            search while small, IVF once large), `Flat` (always exact) or e.g. `IVF1024,Flat`.
            An existing index keeps the one it was built with.
        read_index: for an index in PostgreSQL, the URL of a read replica that searches and
            other reads use (`$DOCSEARCH_READ_INDEX`); writes still go to `index`.
    """

    index: Path | str  # a folder, or a PostgreSQL URL (a str; see `index_location`)
    model: Path | None = None
    device: str = "auto"
    threads: int = 0
    k: int = 5
    mode: str = "hybrid"
    context: int = 1
    per_document: int = 3
    faiss_factory: str = "auto"
    read_index: str | None = None

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Defaults < environment < `overrides` (None values in `overrides` are ignored)."""
        env = os.environ
        settings = cls(
            index=index_location(env["DOCSEARCH_INDEX"])
            if env.get("DOCSEARCH_INDEX")
            else default_home() / "index",
            model=Path(env["DOCSEARCH_MODEL"]).expanduser() if env.get("DOCSEARCH_MODEL") else None,
            device=env.get("DOCSEARCH_DEVICE") or "auto",
            threads=_whole_number("DOCSEARCH_THREADS", env.get("DOCSEARCH_THREADS") or "0"),
            faiss_factory=env.get("DOCSEARCH_FAISS") or "auto",
            read_index=env.get("DOCSEARCH_READ_INDEX") or None,
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        settings = replace(settings, **given)
        if settings.mode not in MODES:
            raise DocsearchError(
                f"unknown search mode {settings.mode!r}; choose one of {', '.join(MODES)}"
            )
        if settings.device not in DEVICES:
            raise DocsearchError(
                f"unknown device {settings.device!r} (from DOCSEARCH_DEVICE or settings); "
                f"use one of {', '.join(DEVICES)}"
            )
        # What `indexer.Index.create` accepts; checked here so a bad value is a user error.
        if not is_factory(settings.faiss_factory):
            raise DocsearchError(
                f"unsupported FAISS factory {settings.faiss_factory!r} (from DOCSEARCH_FAISS or "
                "settings); use 'auto', 'Flat' or 'IVF<nlist>,Flat' such as 'IVF1024,Flat'"
            )
        return settings


def index_location(value: str | Path) -> Path | str:
    """Where an index lives: a PostgreSQL URL stays a string, anything else is a folder."""
    from indexer.postgres import is_url

    return value if is_url(value) else Path(value).expanduser()
