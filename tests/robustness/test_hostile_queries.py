"""Hostile queries through the real CLI in every mode: results or a one-line error, never a
traceback, and the index is unchanged afterwards.

Queries are passed after `--`, as a user must for text that starts with `-`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from docsearch.cli import cli

MODES = ("dense", "lexical", "hybrid")
# Nothing searchable: a clear "empty query" error (exit 1).
BLANK = {
    "empty": "",
    "spaces": "   ",
    "whitespace": "\t\n\r\v\f \u00a0\u2003",
    "controls": "\x00\x01\x02\x1b\x7f\x9f",
    # No letter or digit: neither ranking has anything to go on (they returned arbitrary hits).
    "minus": "-",
    "caret": "^",
    "star": "*",
    "quote": '"',
    "punctuation": "?!.,",
    "emoji": "🌊🌕",
}
# Something to search for: exit 0 and a JSON array (possibly empty).
ANSWERABLE = {
    "100k-chars": "how do tides work " * 5600,
    "100k-one-word": "x" * 100_000,
    "control-chars": "tides\x00 and\x1b[31m the\x07 moon\x7f",
    "fts-unbalanced": '"foo* AND (bar OR',
    "fts-near": "NEAR(",
    "fts-near-full": "NEAR(tides moon, 2)",
    "and": "AND",
    "or-not": "OR NOT",
    "column-filter": "text: tides",
    "column-set": "{text sentences_fts}: tides",
    "sql-drop": "'; DROP TABLE sentences; --",
    "sql-or": '" OR 1=1 --',
    "sql-union": "x' UNION SELECT path FROM documents --",
    "chinese": "潮汐是如何形成的？",
    "arabic": "كيف يعمل المد والجزر؟",
    "hindi": "ज्वार-भाटा कैसे काम करता है?",
    "emoji-and-words": "🌊 tides and the moon 🌕",
    "zero-width-and-bidi": "ti\u200bdes \u202emoon\u202c",
    "lone-surrogate": "tides \udcff moon",  # what Python makes of invalid UTF-8 in argv
    "combining-marks": "e\u0301" * 500,
}


def query(index: Path, mode: str, text: str) -> Result:
    args = ["query", "--index", str(index), "--mode", mode, "--json", "-k", "3", "--", text]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def status(index: Path) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["status", "--index", str(index), "--json"])
    assert result.exit_code == 0, result.stderr
    info: dict[str, object] = json.loads(result.stdout)
    return info


@pytest.fixture(scope="module")
def counts_before(built_index: Path) -> dict[str, object]:
    return status(built_index)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(ANSWERABLE))
def test_answerable_hostile_query(built_index: Path, mode: str, name: str) -> None:
    result = query(built_index, mode, ANSWERABLE[name])
    assert result.exit_code == 0, result.stderr
    hits = json.loads(result.stdout)
    assert isinstance(hits, list) and len(hits) <= 3
    assert all({"path", "score", "text"} <= set(hit) for hit in hits)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(BLANK))
def test_blank_query_is_a_one_line_error(built_index: Path, mode: str, name: str) -> None:
    result = query(built_index, mode, BLANK[name])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "empty" in result.stderr


def test_words_still_count_inside_hostile_syntax(built_index: Path) -> None:
    hits = json.loads(query(built_index, "lexical", "tides* AND (moon OR").stdout)
    assert any(hit["path"].endswith("ocean_tides_and_the_moon.md") for hit in hits)


def test_hostile_queries_leave_the_index_unchanged(
    built_index: Path, counts_before: dict[str, object]
) -> None:
    for text in (ANSWERABLE["sql-drop"], ANSWERABLE["sql-union"], ANSWERABLE["fts-near"]):
        assert query(built_index, "hybrid", text).exit_code == 0
    assert status(built_index) == counts_before
