"""The Porter stemmer, word for word against SQLite FTS5's `porter` tokenizer."""

from __future__ import annotations

import re
import sqlite3

import pytest

from indexer.lexical.porter import stem
from tests.conftest import SAMPLE_DOCS

# Words that exercise every rule of steps 1 to 5, the revision's "bli" and "logi" among them.
RULE_WORDS = """
caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled
sized hopping tanned falling hissing fizzed failing filing happy sky relational conditional
rational valenci hesitanci digitizer conformabli radicalli differentli vileli analogousli
vietnamization predication operator feudalism decisiveness hopefulness callousness formaliti
sensitiviti sensibiliti triplicate formative formalize electriciti electrical hopeful goodness
revival allowance inference airliner gyroscopic adjustable defensible irritant replacement
adjustment dependent adoption homologou communism activate angulariti homologous effective
bowdlerize probate rate cease controll roll possibly compatibly forcibly ostensibly apology
technology terminology topology pathology pathological biology biological reasonably
""".split()


def fts5_stems(words: list[str]) -> dict[str, str]:
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter ascii')")
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no FTS5")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    db.executemany("INSERT INTO t(rowid, x) VALUES (?, ?)", list(enumerate(words, 1)))
    return {words[doc - 1]: term for term, doc in db.execute("SELECT term, doc FROM v")}


def test_every_word_of_the_sample_docs_and_the_rules_stems_as_fts5_does() -> None:
    words = {w.lower() for w in RULE_WORDS}
    for path in SAMPLE_DOCS.rglob("*"):
        if path.is_file() and path.suffix != ".pdf":
            text = path.read_text(encoding="utf-8", errors="replace")
            words.update(w.lower() for w in re.findall(r"[A-Za-z]{3,}", text))
    ordered = sorted(words)
    assert len(ordered) > 1000
    reference = fts5_stems(ordered)
    assert {w: stem(w) for w in ordered} == reference


def test_the_revision_joins_pathology_and_pathological() -> None:
    assert stem("pathology") == stem("pathological") == "patholog"
    assert stem("possibly") == "possibl"
    assert stem("reasonably") == "reason"
