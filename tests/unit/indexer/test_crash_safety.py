"""A writer process that dies at any point (os._exit, SIGKILL) leaves an index that opens,
answers, and has a vector for every sentence row and a row for every vector.

All child processes start together in one module fixture, so the suite pays for one Python
start-up, not one per case.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from indexer import DocumentRecord, Index, SentenceRecord

DIM = 8
REPO = Path(__file__).resolve().parents[3]

CHILD = r"""
import os, sys
from pathlib import Path
import faiss, numpy as np, sqlalchemy as sa
from indexer import DocumentRecord, Index, SentenceRecord
from indexer.faiss_index import FaissIndex

root, mode = Path(sys.argv[1]), sys.argv[2]

def vectors(n, seed):
    v = np.random.default_rng(seed).standard_normal((n, 8))
    return np.ascontiguousarray(v / np.linalg.norm(v, axis=1, keepdims=True), dtype=np.float32)

def add(writer, path, n, seed):
    sentences = [SentenceRecord(f"{path} {i}", 0, 1, 1) for i in range(n)]
    writer.add_document(DocumentRecord(path, "sha", 1, "md"), sentences, vectors(n, seed))

def die(*_args):
    os._exit(9)  # like kill -9: no cleanup, no finally blocks

if mode == "during-vector-write":
    def partial_write(_index, name):
        with open(name, "wb") as file:
            file.write(b"the first half of a vector file")
        die()
    faiss.write_index = partial_write
elif mode == "before-commit":
    save = FaissIndex.save
    FaissIndex.save = lambda self, path: (save(self, path), die())
elif mode == "after-commit":
    commit = sa.Connection.commit
    sa.Connection.commit = lambda self: (commit(self), die())

index = Index.open(root)
if mode.startswith("loop"):
    for i in range(10_000):
        with index.writer() as writer:
            add(writer, f"/doc{i % 5}.md", 1 + i % 7, seed=i)
            writer.remove_document(f"/doc{(i + 2) % 5}.md")
        print("committed", i, flush=True)
else:
    with index.writer() as writer:
        add(writer, "/new.md", 4, seed=50)
        writer.remove_document("/doc0.md")
print("finished", flush=True)
"""

MODES = ["during-vector-write", "before-commit", "after-commit", "loop-a", "loop-b"]
KILL_AFTER = {"loop-a": 0.0, "loop-b": 0.15}  # seconds after the second commit


def unit_vectors(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM))
    return np.ascontiguousarray(v / np.linalg.norm(v, axis=1, keepdims=True), dtype=np.float32)


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """Index directory and child output for every mode, after the child died."""
    base = tmp_path_factory.mktemp("crash")
    template = base / "template"
    with (
        Index.create(
            template,
            dim=DIM,
            model_name="m",
            model_fingerprint="fp",
            tokenizer_version="t",
            docsearch_version="0",
        ) as index,
        index.writer() as writer,
    ):
        for d in range(3):
            sentences = [SentenceRecord(f"/doc{d}.md {i}", 0, 1, 1) for i in range(3)]
            writer.add_document(
                DocumentRecord(f"/doc{d}.md", "sha", 1, "md"), sentences, unit_vectors(3, d)
            )
    script = base / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    children = {}
    for mode in MODES:
        root = base / mode
        shutil.copytree(template, root)
        children[mode] = subprocess.Popen(
            [sys.executable, str(script), str(root), mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
    for mode, delay in KILL_AFTER.items():
        child = children[mode]
        assert child.stdout is not None
        commits = 0
        while commits < 2:
            line = child.stdout.readline()
            assert line, f"{mode} child ended early"
            commits += line.startswith("committed")
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
    results = {}
    for mode, child in children.items():
        output, _ = child.communicate(timeout=60)
        results[mode] = (base / mode, output)
    return results


def assert_consistent(index: Index) -> None:
    documents, sentences = index.counts()
    everything = index.filter(path_glob="*")
    assert everything is not None
    assert (len(everything[0]), len(everything[1])) == (documents, sentences)
    hits = index.search_vectors(unit_vectors(1, 99), sentences + 3, allowed_ids=everything[1])
    assert sorted(i for i, _ in hits[0]) == everything[1].tolist()
    # Lexical search returns one hit per passage; each small document is one passage.
    assert len(index.search_lexical("doc0 doc1 doc2 doc3 doc4 new after", 100)) == documents


@pytest.mark.parametrize(
    ("mode", "paths", "stray"),
    [
        ("during-vector-write", ["/doc0.md", "/doc1.md", "/doc2.md"], ".tmp"),
        ("before-commit", ["/doc0.md", "/doc1.md", "/doc2.md"], "vectors.2.faiss"),
        ("after-commit", ["/doc1.md", "/doc2.md", "/new.md"], "vectors.1.faiss"),
    ],
)
def test_death_during_a_checkpoint(
    crashed: dict[str, tuple[Path, str]], mode: str, paths: list[str], stray: str
) -> None:
    root, output = crashed[mode]
    assert "finished" not in output, output
    with Index.open(root) as index:
        assert [d.path for d in index.documents()] == paths
        assert_consistent(index)
        assert any(name.endswith(stray) for name in os.listdir(root))
        with index.writer():  # the next writer tidies up and repairs the manifest
            pass
        documents, sentences = index.counts()
        assert (index.manifest.documents, index.manifest.sentences) == (documents, sentences)
    with Index.open(root) as reopened:
        assert reopened.manifest == index.manifest
    assert [n for n in os.listdir(root) if n.endswith(".tmp") or n.startswith("vectors.")] == [
        f"vectors.{index.manifest.generation}.faiss"
    ]


@pytest.mark.parametrize("mode", sorted(KILL_AFTER))
def test_sigkill_while_writing_in_a_loop(crashed: dict[str, tuple[Path, str]], mode: str) -> None:
    root, output = crashed[mode]
    assert "finished" not in output
    with Index.open(root) as index:
        assert index.manifest.generation >= 3  # the template's commit plus two of the child's
        assert_consistent(index)
        with index.writer() as writer:
            writer.add_document(
                DocumentRecord("/after.md", "sha", 1, "md"),
                [SentenceRecord("after the crash", 0, 1, 1)],
                unit_vectors(1, 7),
            )
        assert_consistent(index)
