"""Index files respect the umask, and nothing we load can run pickled code."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from click.testing import CliRunner

from docsearch.cli import cli

REPO = Path(__file__).resolve().parents[2]


def test_index_files_follow_the_umask_and_are_never_world_writable(
    sample_docs: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    old = os.umask(0o022)
    try:
        index = tmp_path / "index"
        result = CliRunner().invoke(
            cli,
            [
                "ingest",
                str(sample_docs / "history"),
                "--index",
                str(index),
                "--model",
                str(tiny_model_dir),
            ],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.stderr
    finally:
        os.umask(old)
    files = [p for p in index.rglob("*")]
    assert files
    for path in files:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert not mode & stat.S_IWOTH, f"{path} is world-writable ({oct(mode)})"


def test_no_loading_code_unpickles() -> None:
    """Weights load as raw arrays, checkpoints with weights_only, never with pickle."""
    pattern = re.compile(r"import pickle|allow_pickle\s*=\s*True|weights_only\s*=\s*False")
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for package in ("docsearch", "indexer")
        for path in (REPO / package).rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
    loads = [
        line.strip()
        for path in (REPO / "docsearch").rglob("*.py")
        for line in path.read_text(encoding="utf-8").splitlines()
        if "torch.load(" in line
    ]
    assert all("weights_only=True" in line for line in loads), loads
