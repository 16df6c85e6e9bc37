"""Choose how `hybrid` mode fuses the dense and lexical rankings, on held-out development data.

    python benchmarks/fusion.py [--model DIR] [--cached]

Development sets (never used in training; see docsearch/training/data.py DEV_ROWS):
- PubMedQA dev: the last 200 questions, each answered by its own abstract, among all 1,000;
- arXiv dev: the last 200 titles, each matching its own abstract, among all 1,000 abstracts;
- PubMedQA claims dev: the last sentence of each of the last 200 conclusions (`long_answer`,
  which is not part of the abstract), finding its own abstract among all 1,000: claim-like
  queries that share fewer words with their documents than questions and titles do. Added in
  session 4 after v2's dense weight, chosen on the first two sets alone, fell below lexical on
  SciFact: those sets overrate the dense side for claims.
- Cranfield (added in session 6): 225 engineering questions -> 1,400 abstracts, graded
  judgements; the questions paraphrase the abstracts, so the words often differ.
- Debian FAQs (added in session 6, `debian_faq.py`): sqlite3-doc's 27 and git-doc's 20 FAQ
  questions -> the file holding their answer among all the package's files; zsh-doc's 55
  (session 9).
- Known items in sqlite3-doc's C API reference (added in session 19, `known_item.py`): a page's
  title -> that page, and the `sqlite3_*` name it declares -> that page, among the same 794
  files (pages whose file stem is not unique in the package are left out). Added when the
  procedure, given a dense side ranked by sentence and passage, chose a dense weight of 0.5 for
  strong keyword matches, and identifier lookups fell from MRR@10 0.547 to 0.371: none of the
  sets above looks a name up.
SciFact test is reported beside them for information only; the choice is made on dev
(`choose`, `holds`).

For each query the dense and lexical candidate lists come from the real index (docsearch
ingest), and every fusion rule is scored (nDCG@10 over documents) on the same candidates.
Lookups (one-word queries with a keyword match, `docsearch.fusion.is_lookup`) get their own
weight first (step 0, on the lookups of every set pooled); every fused rule then ranks them by
it, and the four steps of the other weights follow (`main`).
Writes benchmarks/results/fusion.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
import debian_faq  # noqa: E402
import known_item  # noqa: E402
from quality import CACHE, EVAL, RESULTS, load_beir, load_scifact, mean_ndcg  # noqa: E402

TRAIN = EVAL.parent / "train"
DEV_ROWS = 200
FETCH = 100
# The sets the rule is chosen on: three where the query shares the documents' words, and
# Cranfield, where questions paraphrase the abstracts. SciFact test is reported, never used.
DEV_NAMES = (
    "pubmedqa_dev",
    "arxiv_dev",
    "pubmedqa_claims_dev",
    "cranfield",
    "debian_sqlite3-doc",
    "debian_git-doc",
    "debian_zsh-doc",
    "sqlite3_titles",
    "sqlite3_identifiers",
)
CALIBRATED_WEIGHTS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def dev_sets() -> dict[
    str, tuple[dict[str, str] | Path, dict[str, str], dict[str, dict[str, int]]]
]:
    """name -> (doc id -> text, or a folder of files; query id -> query; qrels)."""
    sets = {}
    for name, file, query_key, text_of in (
        (
            "pubmedqa_dev",
            "pubmedqa_labeled.jsonl.gz",
            "question",
            lambda r: " ".join(r["contexts"]),
        ),
        ("arxiv_dev", "arxiv_cs_abstracts.jsonl.gz", "title", lambda r: r["abstract"]),
        (
            "pubmedqa_claims_dev",
            "pubmedqa_labeled.jsonl.gz",
            "long_answer",
            lambda r: " ".join(r["contexts"]),
        ),
    ):
        with gzip.open(TRAIN / file, "rt", encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        docs = {str(i): text_of(r) for i, r in enumerate(rows)}
        dev = range(len(rows) - DEV_ROWS, len(rows))
        queries = {str(i): _query(rows[i][query_key], name) for i in dev}
        qrels = {str(i): {str(i): 1} for i in dev}
        sets[name] = (docs, queries, qrels)
    for package in debian_faq.PACKAGES:  # folders of real files (debian_faq.py)
        folder, answers = debian_faq.build(package)
        qids = {f"q{i}": question for i, question in enumerate(answers)}
        sets[f"debian_{package}"] = (
            folder,
            qids,
            {q: {answers[question]: 1} for q, question in qids.items()},
        )
    folder, _ = debian_faq.build("sqlite3-doc")
    stems: dict[str, int] = {}
    for path in folder.rglob("*"):
        stems[path.stem] = stems.get(path.stem, 0) + 1
    for kind, items in known_item.known_items().items():
        unique = {q: Path(page).stem for q, page in items.items() if stems[Path(page).stem] == 1}
        qids = {f"{kind}{i}": query for i, query in enumerate(unique)}
        sets[f"sqlite3_{kind}s"] = (
            folder,
            qids,
            {q: {unique[query]: 1} for q, query in qids.items()},
        )
    corpus, queries, qrels = load_beir("cranfield")
    # Its text already begins with the title; two abstracts are empty.
    sets["cranfield"] = ({d: x for d, (_, x) in corpus.items() if x.strip()}, queries, qrels)
    corpus, queries, qrels = load_scifact()
    sets["scifact_test"] = ({d: f"{t}\n\n{x}" for d, (t, x) in corpus.items()}, queries, qrels)
    return sets


def _query(text: str, set_name: str) -> str:
    """The query of a dev row: the field itself, or for claims the conclusion's last sentence."""
    if set_name != "pubmedqa_claims_dev":
        return text
    from docsearch.training.data import sentences_of

    return (sentences_of(text) or [text])[-1]


def candidates(
    name: str, docs: dict[str, str], queries: dict[str, str], model: Path | None, cached: bool
):
    """Per query: the raw dense and lexical rankings from the real index, and their sentences.

    Saved in the bench cache; with `cached`, read from there when the model is the same (rules
    can then be compared without ingesting again)."""
    import pickle

    from docsearch.encoder import Encoder

    fingerprint = Encoder.load(model, device="cpu").fingerprint
    # v3 (session 19): dense candidates as the engine ranks them, by sentence and passage.
    path = CACHE / f"fusion_candidates_{name}_{fingerprint}_v3.pkl"
    if cached and path.exists():
        return pickle.loads(path.read_bytes())
    out = _fresh_candidates(name, docs, queries, model)
    path.write_bytes(pickle.dumps(out))
    return out


def _fresh_candidates(name: str, docs: dict[str, str], queries: dict[str, str], model: Path | None):
    from docsearch import DocSearch
    from docsearch.search import Restriction, dense_candidates

    folder = docs if isinstance(docs, Path) else CACHE / f"fusion_{name}"
    if not folder.exists():
        folder.mkdir(parents=True)
        for doc_id, text in docs.items():
            (folder / f"{doc_id}.txt").write_text(text + "\n", encoding="utf-8")
    ds = DocSearch(CACHE / f"fusion_{name}_index", model=model, device="cpu")
    ds.rebuild()
    ds.ingest([folder])
    index = ds._open(create=False)
    qids = list(queries)
    vectors = ds.encoder.encode_queries([queries[q] for q in qids])
    out = {}
    for q, vector in zip(qids, vectors, strict=True):
        # The engine's dense ranking (best sentence and best passage, `with_passages`); k = 10
        # fetches FETCH candidates of each kind.
        ranked = dense_candidates(index, vector, FETCH // 10, Restriction(None))
        dense = [(i, score) for i, _, score in ranked]
        # BM25 over the query's ceiling, as the engine scores it (rank-based and min-max rules
        # are unchanged by the scale).
        ceiling = index.lexical_ceiling(queries[q]) or 1.0
        lexical = [(i, s / ceiling) for i, s in index.search_lexical(queries[q], FETCH)]
        found = index.sentences([i for i, _ in dense] + [i for i, _ in lexical])
        # Only what the rules read, in plain objects: a pickle of the engine's own classes
        # stops loading when they change (the `__slots__` of session 8 broke the v1 cache).
        out[q] = (dense, lexical, {i: Where(s.path, s.document_id) for i, s in found.items()})
    ds.close()
    return out


@dataclass(frozen=True)
class Where:
    """What the fusion rules need of a candidate sentence."""

    path: str
    document_id: int


def _documents(ranking, sentences) -> list[str]:
    """Document ids (file stems) in ranking order, each once."""
    return list(dict.fromkeys(Path(sentences[i].path).stem for i, _ in ranking if i in sentences))


def rrf(dense_weight: float, k: int = 60) -> Callable:
    """Weighted reciprocal rank fusion (the rejected alternative, kept for comparison)."""

    def fuse(dense, lexical, sentences):
        scores: dict[str, float] = {}
        for ranking, weight in ((dense, dense_weight), (lexical, 1.0)):
            for rank, doc in enumerate(_documents(ranking, sentences), 1):
                scores[doc] = scores.get(doc, 0.0) + weight / (k + rank)
        return sorted(scores, key=lambda d: -scores[d])

    return fuse


def normalized(dense_weight: float) -> Callable:
    """Min-max fusion (the engine's rule until session 6): each ranking's document scores
    rescaled to [0, 1] over the candidates, 0 when absent; shown by the larger part."""

    def part(best: dict[int, tuple[int, float]]) -> dict[int, float]:
        scores = [score for _, score in best.values()]
        low, high = min(scores, default=0.0), max(scores, default=0.0)
        return {
            doc: (score - low) / (high - low) if high > low else 1.0
            for doc, (_, score) in best.items()
        }

    return _convex(dense_weight, part, lambda scores: 0.0)


def calibrated(dense_weight: float) -> Callable:
    """The engine's fusion (docsearch.fusion.fuse): cosine as it is, BM25 over the query's
    ceiling (`Index.lexical_ceiling`), neither stretched over the candidates."""
    from docsearch.fusion import fuse as engine_fuse

    def fuse(dense, lexical, sentences):
        document_of = {i: s.document_id for i, s in sentences.items()}
        return _documents(engine_fuse(dense, lexical, document_of, dense_weight), sentences)

    return fuse


def by_strength(
    strong: float, weak: float, none: float | None = None, strong_from: float | None = None
) -> Callable:
    """The engine's fusion with a weight per query (`docsearch.fusion.dense_weight_for`):
    `strong` when the query's best lexical score reaches `strong_from` of its ceiling (None:
    `WEAK_MATCH`, a step), falling linearly from `weak` at `WEAK_MATCH` up to there; below
    `WEAK_MATCH`, `weak` rising linearly to `none` for no match at all (`none` None: `weak`
    throughout)."""
    from docsearch.fusion import WEAK_MATCH, dense_weight_for
    from docsearch.fusion import fuse as engine_fuse

    edge = WEAK_MATCH if strong_from is None else strong_from

    def fuse(dense, lexical, sentences):
        document_of = {i: s.document_id for i, s in sentences.items()}
        top = weak if none is None else none
        weight = dense_weight_for(lexical, strong, weak, top, strong_from=edge)
        return _documents(engine_fuse(dense, lexical, document_of, weight), sentences)

    return fuse


def weak_match_table(
    all_candidates: dict, qrels_of: dict, compared: dict[str, Callable]
) -> dict[str, float]:
    """Mean nDCG@10 of each rule in `compared` (and of dense and lexical alone) over the
    weak-match queries of every dev set, pooled (no one set has enough of them): the data the
    weak-match weights are chosen on."""
    from docsearch.fusion import WEAK_MATCH

    weak = {
        name: {
            q
            for q, (_, lexical, _) in all_candidates[name].items()
            if max((score for _, score in lexical), default=0.0) < WEAK_MATCH
        }
        for name in DEV_NAMES
    }
    return pooled_table(all_candidates, qrels_of, weak, compared)


# Weights tried for lookups (step 0).
LOOKUP_WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)


def is_lookup(query: str, lexical) -> bool:
    from docsearch.fusion import is_lookup as engine_is_lookup

    return engine_is_lookup(query, lexical)


def with_lookups(fuse: Callable, as_lookup: Callable, lookups: set[str], rule: str) -> Callable:
    """`fuse` taking the query id first, ranking the lookups by `as_lookup` instead (except for
    the `dense` and `lexical` rankings, which stay themselves)."""
    if rule in ("dense", "lexical"):
        return lambda q, d, lex, s: fuse(d, lex, s)
    return lambda q, d, lex, s: (as_lookup if q in lookups else fuse)(d, lex, s)


def pooled_table(
    all_candidates: dict, qrels_of: dict, chosen: dict[str, set[str]], compared: dict[str, Callable]
) -> dict[str, float]:
    """Mean nDCG@10 of each rule in `compared` (and of dense and lexical alone) over the
    queries `chosen` of every dev set, pooled."""
    from quality import ndcg_at_k

    compared = {**compared, "dense": rules()["dense"], "lexical": rules()["lexical"]}
    scores: dict[str, list[float]] = {}
    for name in DEV_NAMES:
        for q in sorted(chosen[name]):
            dense, lexical, sentences = all_candidates[name][q]
            for rule, fuse in compared.items():
                ranking = fuse(dense, lexical, sentences)[:10]
                scores.setdefault(rule, []).append(ndcg_at_k(ranking, qrels_of[name][q], 10))
    table = {rule: round(float(np.mean(v)), 4) for rule, v in scores.items()}
    table["queries"] = len(next(iter(scores.values()), []))
    return table


def choose_lookup(table: dict[str, float]) -> str:
    """The lookup weight: the best pooled mean; ties within 0.002 go to the smallest weight (a
    lookup is the keyword side's to answer unless the dense side earns a share)."""
    rules = [r for r in table if r.startswith("cal_")]
    best = max(table[r] for r in rules)
    tied = [r for r in rules if table[r] >= best - 0.002]
    return min(tied, key=lambda r: float(r.split("_w")[1]))


def choose_weak(weak: dict[str, float]) -> str:
    """The weak-match weight: the best pooled mean; ties within 0.002 go to the weight nearest
    0.5, as in `choose`."""
    rules = [r for r in weak if r.startswith("cal_")]
    best = max(weak[r] for r in rules)
    tied = [r for r in rules if weak[r] >= best - 0.002]
    return min(tied, key=lambda r: abs(float(r.split("_w")[1]) - 0.5))


def choose_none(table: dict[str, float], weak: float, current: float | None = None) -> float:
    """The weight for no keyword match at all (the top of the ramp below WEAK_MATCH): the best
    pooled mean over the weak-match queries; ties within 0.002 keep the engine's `current`
    value when it is among them (session 15: no dev query reaches below 0.2 of its ceiling, so
    the top is extrapolated, and a tie is no evidence to move it), else go to the flattest ramp
    (the one nearest `weak`), so a new ramp must earn its slope."""
    tops = [r for r in table if r.startswith("none_")]
    best = max(table[r] for r in tops)
    tied = [float(r.split("_")[1]) for r in tops if table[r] >= best - 0.002]
    if current is not None and any(abs(top - current) < 1e-9 for top in tied):
        return current
    return min(tied, key=lambda top: abs(top - weak))


# Where the strong-match weight is reached (`choose_strong_from`): WEAK_MATCH itself is the step.
STRONG_EDGES = (0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0)


def choose_strong_from(table: dict[str, dict[str, float]], edges: dict[str, float]) -> str:
    """Where the weight reaches the strong-match one: among the ramps that hold (`holds`;
    all when none do), the best dev mean; ties within 0.002 go to the widest ramp, whose
    scores change most gently with the strength of the keyword match."""
    eligible = [r for r in edges if holds(table, r)] or list(edges)
    best = max(table[r]["dev_mean"] for r in eligible)
    tied = [r for r in eligible if table[r]["dev_mean"] >= best - 0.002]
    return max(tied, key=lambda r: edges[r])


PartScores = Callable[[dict[int, tuple[int, float]]], dict[int, float]]


def _convex(dense_weight: float, part: PartScores, missing: Callable[[dict], float]) -> Callable:
    """Convex fusion of per-document scores rescaled by `part`; a document missing from one
    ranking gets `missing(that ranking's rescaled scores)` there. A document is shown by its
    lexical sentence when it has one."""
    from docsearch.fusion import best_per_document

    def fuse(dense, lexical, sentences):
        document_of = {i: s.document_id for i, s in sentences.items()}
        best_dense = best_per_document(dense, document_of)
        best_lexical = best_per_document(lexical, document_of)
        d, lex = part(best_dense), part(best_lexical)
        d_missing, lex_missing = missing(d), missing(lex)
        score = {
            doc: dense_weight * d.get(doc, d_missing)
            + (1 - dense_weight) * lex.get(doc, lex_missing)
            for doc in d.keys() | lex.keys()
        }
        ranked = sorted(score, key=lambda doc: -score[doc])
        shown = {doc: i for doc, (i, _) in best_dense.items()}
        shown.update({doc: i for doc, (i, _) in best_lexical.items()})  # lexical's sentence first
        return _documents([(shown[doc], 0.0) for doc in ranked], sentences)

    return fuse


def theoretical_min_max(dense_weight: float) -> Callable:
    """Convex fusion with each score divided by the ranking's best (theoretical minimum 0 for
    both cosine and BM25) instead of min-max over the candidates: a dense ranking whose scores
    are nearly flat is not stretched to [0, 1] (Bruch et al. 2023, "TM2C2")."""

    def part(best: dict[int, tuple[int, float]]) -> dict[int, float]:
        top = max((max(score, 0.0) for _, score in best.values()), default=0.0)
        return {doc: max(score, 0.0) / top if top > 0 else 0.0 for doc, (_, score) in best.items()}

    return _convex(dense_weight, part, lambda scores: 0.0)


def z_score(dense_weight: float) -> Callable:
    """Convex fusion of standardised scores: each ranking's document scores minus their mean,
    over their standard deviation (over the candidates); a document missing from a ranking gets
    that ranking's lowest standardised score. Unlike min-max, one outlier does not squeeze the
    other candidates together."""

    def part(best: dict[int, tuple[int, float]]) -> dict[int, float]:
        scores = np.array([score for _, score in best.values()], dtype=np.float64)
        spread = float(scores.std()) if len(scores) > 1 else 0.0
        centre = float(scores.mean()) if len(scores) else 0.0
        return {
            doc: (score - centre) / spread if spread > 0 else 0.0
            for doc, (_, score) in best.items()
        }

    return _convex(dense_weight, part, lambda scores: min(scores.values(), default=0.0))


def rules() -> dict[str, Callable]:
    out: dict[str, Callable] = {
        "dense": lambda d, lex, s: _documents(d, s),
        "lexical": lambda d, lex, s: _documents(lex, s),
    }
    for w in (0.25, 0.5, 1.0):
        out[f"rrf_w{w}"] = rrf(w)
    for w in (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6):
        out[f"norm_w{w}"] = normalized(w)
    for w in CALIBRATED_WEIGHTS:
        out[f"cal_w{w}"] = calibrated(w)
    for w in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        out[f"tmm_w{w}"] = theoretical_min_max(w)
    for w in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        out[f"z_w{w}"] = z_score(w)
    return out


def holds(table: dict[str, dict[str, float]], rule: str, margin: float = 0.005) -> bool:
    """Issue 14's rule: on every dev set the fused ranking is at least the better of dense and
    lexical less `margin`, and on the dev mean it beats both."""
    on_each = all(
        table[rule][n] >= max(table["dense"][n], table["lexical"][n]) - margin for n in DEV_NAMES
    )
    on_mean = table[rule]["dev_mean"] > max(
        table["dense"]["dev_mean"], table["lexical"]["dev_mean"]
    )
    return on_each and on_mean


def choose(table: dict[str, dict[str, float]]) -> str:
    """The pre-registered rule: among the engine's (calibrated) weights, those that hold
    (`holds`) if any do, the best dev mean; weights within 0.002 of it count as tied, and a tie
    goes to the weight nearest 0.5 (neither side favoured without evidence)."""
    calibrated = [r for r in table if r.startswith("cal_")]
    eligible = [r for r in calibrated if holds(table, r)] or calibrated
    best = max(table[r]["dev_mean"] for r in eligible)
    tied = [r for r in eligible if table[r]["dev_mean"] >= best - 0.002]
    return min(tied, key=lambda r: abs(float(r.split("_w")[1]) - 0.5))


def _with_means(table: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    for scores in table.values():
        if all(n in scores for n in DEV_NAMES):
            scores["dev_mean"] = round(float(np.mean([scores[n] for n in DEV_NAMES])), 4)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument(
        "--cached", action="store_true", help="reuse the candidates of an earlier run (same model)"
    )
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    table: dict[str, dict[str, float]] = {}
    every, qrels_of, lookups = {}, {}, {}
    for name, (docs, queries, qrels) in dev_sets().items():
        every[name] = candidates(name, docs, queries, args.model, args.cached)
        qrels_of[name] = qrels
        lookups[name] = {q for q, (_, lex, _) in every[name].items() if is_lookup(queries[q], lex)}
    # Step 0 (session 19): the weight of lookups (`docsearch.fusion.is_lookup`), on the lookups
    # of every set pooled; from then on every fused rule ranks a lookup by that weight.
    lookup_table = pooled_table(
        every, qrels_of, lookups, {f"cal_w{w}": calibrated(w) for w in LOOKUP_WEIGHTS}
    )
    lookup_w = float(choose_lookup(lookup_table).split("_w")[1])
    as_lookup = calibrated(lookup_w)
    for name in every:
        for rule, fuse in rules().items():
            fused = with_lookups(fuse, as_lookup, lookups[name], rule)
            rankings = {q: fused(q, d, lex, s)[:10] for q, (d, lex, s) in every[name].items()}
            table.setdefault(rule, {})[name] = round(mean_ndcg(rankings, qrels_of[name]), 4)
        print(name, {r: v[name] for r, v in table.items()}, flush=True)
    # Then four steps: one weight for every query (`choose`), then the weight of the queries whose
    # keyword match is weak, on those queries alone (`choose_weak`), then how far it rises as
    # the match weakens to nothing (`choose_none`), on the same queries, then how far above
    # WEAK_MATCH it takes to fall to the first weight (`choose_strong_from`), on every query.
    strong = choose(_with_means(table))
    strong_w = float(strong.split("_w")[1])
    weak = weak_match_table(
        every, qrels_of, {f"cal_w{w}": calibrated(w) for w in CALIBRATED_WEIGHTS}
    )
    weak_w = float(choose_weak(weak).split("_w")[1])
    tops = [round(weak_w + 0.1 * i, 1) for i in range(11) if weak_w + 0.1 * i <= 1.0 + 1e-9]
    ramps = weak_match_table(
        every, qrels_of, {f"none_{top}": by_strength(strong_w, weak_w, top) for top in tops}
    )
    from docsearch.fusion import NO_MATCH_DENSE_WEIGHT

    none_w = choose_none(ramps, weak_w, current=NO_MATCH_DENSE_WEIGHT)
    # A step at WEAK_MATCH itself (the first edge) puts queries either side of it on two scales.
    edges = {f"strength_w{strong_w}_{weak_w}_{none_w}_from{e}": e for e in STRONG_EDGES}
    for rule, edge in edges.items():
        by_edge = by_strength(strong_w, weak_w, none_w, edge)
        for name in every:
            fused = with_lookups(by_edge, as_lookup, lookups[name], rule)
            rankings = {q: fused(q, d, lex, s)[:10] for q, (d, lex, s) in every[name].items()}
            table.setdefault(rule, {})[name] = round(mean_ndcg(rankings, qrels_of[name]), 4)
    chosen = choose_strong_from(_with_means(table), edges)
    table = _with_means(table)
    table["lookups"] = lookup_table
    table["weak_match"] = weak
    table["no_match_ramp"] = ramps
    table["chosen"] = {  # type: ignore[assignment]
        "single_weight": strong,
        "single_weight_holds": holds(table, strong),
        "rule": chosen,
        "holds": holds(table, chosen),
        "lookup_weight": lookup_w,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fusion.json").write_text(json.dumps(table, indent=2) + "\n")
    print(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
