"""Known-item lookups in a reference manual: does hybrid mode still find the page a user names?

    python benchmarks/known_item.py        # after debian_faq.py has built the sqlite3-doc index

The fusion dev sets (`fusion.py`) ask questions whose answer is a passage; a user of a manual
also types a page's title or an identifier to get to its page. Here each page of sqlite3-doc's C
API reference (`c3ref/*.html`, 210 pages; a development package, see `debian_faq.py`) is a
known item, searched in the index `debian_faq.py` built of the whole package (794 files):
- `title`: the page's <title> ("Set A Busy Timeout") -> that page;
- `identifier`: the first `sqlite3_*` name of the page's first <pre> block, its declaration
  ("sqlite3_busy_timeout") -> that page (pages that declare no such name are left out).
Metrics over documents (`per_document=1`): MRR@10 and success@1 of the page, for lexical,
dense and hybrid, and for comparison hybrid without the lookup rule (`docsearch.fusion.is_lookup`)
and under the fusion rule of sessions 13-18 (dense weight 0.02 from a keyword match of 0.8 of
the query's ceiling up, no lookup rule).
Writes benchmarks/results/known_item.json.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from debian_faq import CACHE, unpacked  # noqa: E402
from machine import machine_info  # noqa: E402

EARLIER_RULE = {"strong": 0.02, "strong_from": 0.8}


def without_lookups(query: str, lexical: list[tuple[int, float]]) -> float:
    from docsearch.fusion import dense_weight_for

    return dense_weight_for(lexical)


def earlier_rule(query: str, lexical: list[tuple[int, float]]) -> float:
    from docsearch.fusion import dense_weight_for

    return dense_weight_for(lexical, **EARLIER_RULE)  # type: ignore[arg-type]


def known_items() -> dict[str, dict[str, str]]:
    """kind -> query -> the page (path relative to the package folder)."""
    items: dict[str, dict[str, str]] = {"title": {}, "identifier": {}}
    for page in sorted((unpacked("sqlite3-doc") / "c3ref").glob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        name = f"c3ref/{page.name}"
        title = re.search(r"<title>([^<]+)</title>", text)
        if title:
            items["title"].setdefault(html.unescape(title.group(1)).strip(), name)
        pre = re.search(r"<pre>(.*?)</pre>", text, re.S)
        identifier = re.search(r"\bsqlite3_\w+", html.unescape(pre.group(1))) if pre else None
        if identifier:
            items["identifier"].setdefault(identifier.group(0), name)
    return items


def scores(ranked: list[list[str]], wanted: list[str]) -> dict[str, float]:
    reciprocal, first = [], []
    for paths, page in zip(ranked, wanted, strict=True):
        hits = [i for i, p in enumerate(paths[:10]) if p.endswith("/package/" + page)]
        reciprocal.append(1 / (hits[0] + 1) if hits else 0.0)
        first.append(1.0 if hits and hits[0] == 0 else 0.0)
    return {
        "mrr10": round(sum(reciprocal) / len(reciprocal), 4),
        "success1": round(sum(first) / len(first), 4),
    }


def main() -> None:
    from docsearch import DocSearch, search

    index = CACHE / "debian_sqlite3-doc_index"
    if not index.exists():
        sys.exit(f"no index at {index}; run benchmarks/debian_faq.py --packages sqlite3-doc first")
    out: dict[str, object] = {"machine": machine_info(), "index": str(index)}
    engine_rule = search.query_dense_weight
    runs = (
        ("lexical", "lexical", engine_rule),
        ("dense", "dense", engine_rule),
        ("hybrid", "hybrid", engine_rule),
        ("hybrid_without_lookup_rule", "hybrid", without_lookups),
        ("hybrid_earlier_rule", "hybrid", earlier_rule),
    )
    with DocSearch(index, device="cpu") as ds:
        for kind, items in known_items().items():
            queries, pages = list(items), list(items.values())
            result: dict[str, object] = {"queries": len(queries)}
            for label, mode, rule in runs:
                search.query_dense_weight = rule  # what `search.rank` calls for each query
                found = ds.search_many(queries, k=10, mode=mode, context=0, per_document=1)
                result[label] = scores([[h.path for h in hits] for hits in found], pages)
            search.query_dense_weight = engine_rule
            out[kind] = result
            print(kind, json.dumps(result), flush=True)
    path = REPO / "benchmarks" / "results" / "known_item.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
