"""Settings: every default in one place, then `DOCSEARCH_*` environment variables, then CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


def default_home() -> Path:
    """`$DOCSEARCH_HOME`, else the per-user application directory (e.g. ~/.config/docsearch)."""
    env = os.environ.get("DOCSEARCH_HOME")
    if env:
        return Path(env).expanduser()
    import click

    return Path(click.get_app_dir("docsearch"))


@dataclass(frozen=True)
class Settings:
    """Everything a user can set, with its default.

    Attributes:
        index: the index directory (`$DOCSEARCH_INDEX`, else `<home>/index`).
        model: directory of the encoder model; None means the model shipped in the package.
        device: `auto`, `cpu` or `cuda`.
        threads: torch intra-op threads; 0 lets torch decide.
        batch_size: sentences per encoder forward pass.
        k: results per query.
        mode: `hybrid`, `dense` or `lexical`.
        context: sentences of context shown before and after a hit.
    """

    index: Path
    model: Path | None = None
    device: str = "auto"
    threads: int = 0
    batch_size: int = 256
    k: int = 5
    mode: str = "hybrid"
    context: int = 1

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Defaults < environment < `overrides` (None values in `overrides` are ignored)."""
        env = os.environ
        settings = cls(
            index=Path(env["DOCSEARCH_INDEX"]).expanduser()
            if env.get("DOCSEARCH_INDEX")
            else default_home() / "index",
            model=Path(env["DOCSEARCH_MODEL"]).expanduser() if env.get("DOCSEARCH_MODEL") else None,
            device=env.get("DOCSEARCH_DEVICE", "auto"),
            threads=int(env.get("DOCSEARCH_THREADS", "0")),
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **given)
