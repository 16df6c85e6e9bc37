"""Real `docsearch` child processes for the robustness tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.conftest import REPO

# Runs the real CLI with a checkpoint every 100 sentences, so that one ingest commits many
# times (a plain ingest commits once per CHECKPOINT_SENTENCES = 50 000 sentences).
FREQUENT_COMMITS = (
    "import docsearch.ingest as ingest; "
    "ingest.CHECKPOINT_SENTENCES = ingest.ENCODE_CHUNK = 100; "
    "from docsearch.cli import cli; cli(prog_name='docsearch')"
)


def docsearch_command(*args: str | Path, frequent_commits: bool = False) -> list[str]:
    """`python -m docsearch ARGS...`, or the same CLI with frequent commits."""
    start = ["-c", FREQUENT_COMMITS] if frequent_commits else ["-m", "docsearch"]
    return [sys.executable, *start, *map(str, args)]


def child_env(home: Path) -> dict[str, str]:
    """The test's environment with this checkout importable and its own DOCSEARCH_HOME."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DOCSEARCH_HOME": str(home),
        "OMP_NUM_THREADS": "1",
    }
