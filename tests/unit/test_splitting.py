from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docsearch.documents import Document
from docsearch.splitting import (
    MAX_SENTENCE_CHARS,
    Sentence,
    clean,
    split_document,
    split_spans,
    window_spans,
)


def sentences(text: str) -> list[str]:
    return [clean(text[start:end]) for start, end in split_spans(text)]


def document(text: str, **fields: object) -> Document:
    values: dict[str, object] = {
        "path": "doc.txt",
        "type": "text",
        "text": text,
        "sha256": "0" * 64,
        "size": len(text),
        "mtime": None,
        "title": None,
        "page_starts": None,
        "line_map": None,
    }
    values.update(fields)
    return Document(**values)  # type: ignore[arg-type]


# --- hand-worked examples ------------------------------------------------------------------


def test_simple_sentences() -> None:
    assert sentences("It rained. We stayed in! Did you? Yes.") == [
        "It rained.",
        "We stayed in!",
        "Did you?",
        "Yes.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Dr. Smith met Mr. Jones and Mrs. Brown at noon.",
        "Prof. Ada Lovelace wrote the first program.",
        "Use a tool, e.g. Python or Rust, for this.",
        "It is fast, i.e. it runs in linear time.",
        "The U.S. Army built it in 1942.",
        "Apples, pears, etc. are fruit.",
        "It was Ali vs. Frazier in the final.",
        "See Fig. 3 for the results.",
        "The answer is in No. 5 of the series.",
        "Pi is roughly 3.14 and e is roughly 2.72 here.",
        "J. R. R. Tolkien wrote The Hobbit.",
        "Write to jane.doe@example.com for a copy.",
        "The page https://example.com/a.b/c.html has it.",
        "Wait... what happened here?",
        "Smith et al. (2020) showed this first.",
    ],
)
def test_one_sentence_despite_inner_periods(text: str) -> None:
    assert sentences(text) == [text]


def test_sentence_after_url_email_and_ellipsis() -> None:
    text = "Visit https://example.com/x. Mail me at a@b.org. Then he paused... Nobody spoke."
    assert sentences(text) == [
        "Visit https://example.com/x.",
        "Mail me at a@b.org.",
        "Then he paused...",
        "Nobody spoke.",
    ]


def test_closing_quotes_and_brackets_stay_with_their_sentence() -> None:
    text = 'He said "Stop." Then he left. (It was late.) Everyone agreed.'
    assert sentences(text) == [
        'He said "Stop."',
        "Then he left.",
        "(It was late.)",
        "Everyone agreed.",
    ]


def test_lowercase_after_question_mark_in_quote_is_not_a_boundary() -> None:
    assert sentences('"Why?" she asked. Nobody knew.') == ['"Why?" she asked.', "Nobody knew."]


def test_single_newline_inside_prose_is_not_a_boundary() -> None:
    text = (
        "The quick brown fox jumps over the\nlazy dog near the river and then\n"
        "sleeps. A new sentence starts\nhere."
    )
    assert sentences(text) == [
        "The quick brown fox jumps over the lazy dog near the river and then sleeps.",
        "A new sentence starts here.",
    ]


def test_blank_line_always_ends_a_sentence() -> None:
    assert sentences("no punctuation here\n\nnor here") == ["no punctuation here", "nor here"]
    assert sentences("first part\n   \t\nsecond part") == ["first part", "second part"]


def test_heading_line_is_its_own_sentence() -> None:
    text = (
        "Introduction\nThis paper studies search. It has two parts.\n\n"
        "Related Work\nOthers did this."
    )
    assert sentences(text) == [
        "Introduction",
        "This paper studies search.",
        "It has two parts.",
        "Related Work",
        "Others did this.",
    ]


def test_heading_wrapped_over_two_lines() -> None:
    text = "Personal Budgeting: A Practical Guide\nto Your Finances\nWhy budget at all?\nTo plan."
    assert sentences(text) == [
        "Personal Budgeting: A Practical Guide to Your Finances",
        "Why budget at all?",
        "To plan.",
    ]


def test_short_line_after_a_mid_line_sentence_start_is_not_a_heading() -> None:
    assert sentences("It ended. We thank Alice\nBob and Carol.") == [
        "It ended.",
        "We thank Alice Bob and Carol.",
    ]


def test_wrapped_line_ending_in_a_connector_is_not_a_heading() -> None:
    assert sentences("We travelled across the\nUnited States by train.") == [
        "We travelled across the United States by train."
    ]


def test_bulleted_and_numbered_items_are_sentences_without_markers() -> None:
    text = (
        "Steps:\n- install the package\n* run ingest\n• query it\n"
        "1. first\n2) second\n(3) third\na) fourth"
    )
    assert sentences(text) == [
        "Steps:",
        "install the package",
        "run ingest",
        "query it",
        "first",
        "second",
        "third",
        "fourth",
    ]


def test_list_item_may_wrap_onto_an_indented_line() -> None:
    text = "- a long item that wraps onto\n  the next line\n- short item"
    assert sentences(text) == ["a long item that wraps onto the next line", "short item"]


def test_each_line_of_indented_code_is_a_sentence() -> None:
    text = (
        "Run this:\n    pip install docsearch\n    docsearch ingest docs/\nThen query.\n\n"
        "    x = 1\n    print(x. y)\n"
    )
    assert sentences(text) == [
        "Run this:",
        "pip install docsearch",
        "docsearch ingest docs/",
        "Then query.",
        "x = 1",
        "print(x. y)",
    ]


def test_indented_prose_is_not_code() -> None:
    text = (
        "\n    This indented paragraph is long enough to read as wrapped prose and\n"
        "    it continues on the next line. It has two sentences.\n"
    )
    assert sentences(text) == [
        "This indented paragraph is long enough to read as wrapped prose and it continues on "
        "the next line.",
        "It has two sentences.",
    ]


def test_unicode_text() -> None:
    assert sentences("Crème brûlée est délicieuse. Ça va? Oui!") == [
        "Crème brûlée est délicieuse.",
        "Ça va?",
        "Oui!",
    ]
    assert sentences("这是第一句。这是第二句！第三句？") == [
        "这是第一句。",
        "这是第二句！",
        "第三句？",
    ]
    assert sentences("Ελληνικά κείμενα. Δεύτερη πρόταση.") == [
        "Ελληνικά κείμενα.",
        "Δεύτερη πρόταση.",
    ]


def test_empty_and_punctuation_only_text() -> None:
    assert split_spans("") == []
    assert split_spans(" \n\t\n ") == []
    assert split_spans("---\n***\n...") == []


def test_spans_are_stripped_offsets() -> None:
    text = "  Hello there.  \n\n  General Kenobi!  "
    assert split_spans(text) == [(2, 14), (20, 35)]
    assert [text[s:e] for s, e in split_spans(text)] == ["Hello there.", "General Kenobi!"]


def test_clean_collapses_whitespace() -> None:
    assert clean("  a\n b\t\tc  \u00a0d ") == "a b c d"
    assert clean("") == ""


def test_long_run_on_text_is_cut_at_whitespace_in_linear_time() -> None:
    text = "word " * 400_000  # 2 MB without punctuation
    started = time.perf_counter()
    spans = split_spans(text)
    elapsed = time.perf_counter() - started
    assert all(e - s <= MAX_SENTENCE_CHARS for s, e in spans)
    assert all(text[s:e].startswith("word") and text[s:e].endswith("word") for s, e in spans)
    assert sum(text[s:e].count("word") for s, e in spans) == 400_000
    assert elapsed < 5


def test_long_text_without_whitespace_is_cut_hard() -> None:
    text = "x" * (3 * MAX_SENTENCE_CHARS + 7)
    assert split_spans(text) == [
        (0, MAX_SENTENCE_CHARS),
        (MAX_SENTENCE_CHARS, 2 * MAX_SENTENCE_CHARS),
        (2 * MAX_SENTENCE_CHARS, 3 * MAX_SENTENCE_CHARS),
        (3 * MAX_SENTENCE_CHARS, 3 * MAX_SENTENCE_CHARS + 7),
    ]


def test_many_lines_and_dots_stay_fast() -> None:
    started = time.perf_counter()
    split_spans("\n" * 500_000 + "." * 500_000 + "- x\n" * 20_000)
    assert time.perf_counter() - started < 5


# --- split_document ------------------------------------------------------------------------


def test_split_document_gives_source_lines() -> None:
    doc = document("Title\n\nFirst sentence. Second\nsentence.\n\nThird one.")
    assert split_document(doc) == [
        Sentence("Title", 0, 5, 1, None),
        Sentence("First sentence.", 7, 22, 3, None),
        Sentence("Second sentence.", 23, 39, 3, None),
        Sentence("Third one.", 41, 51, 6, None),
    ]


def test_split_document_uses_line_map() -> None:
    doc = document("Heading\n\nBody text.", line_map=(4, 4, 5))
    assert [(s.text, s.line) for s in split_document(doc)] == [("Heading", 4), ("Body text.", 5)]


def test_sentences_never_cross_pages() -> None:
    page1 = "A sentence that continues"
    page2 = "on the next page. Another.\nLine two."
    text = page1 + "\n\n" + page2
    doc = document(text, type="pdf", page_starts=(0, len(page1) + 2))
    result = split_document(doc)
    assert [(s.text, s.page, s.line) for s in result] == [
        ("A sentence that continues", 1, 1),
        ("on the next page.", 2, 1),
        ("Another.", 2, 1),
        ("Line two.", 2, 2),
    ]
    for sentence in result:
        assert clean(text[sentence.start : sentence.end]) == sentence.text


def test_split_document_of_page_without_text() -> None:
    doc = document("\n\nOnly page two.", type="pdf", page_starts=(0, 2))
    assert [(s.text, s.page, s.line) for s in split_document(doc)] == [("Only page two.", 2, 1)]


# --- window_spans --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "size", "overlap", "expected"),
    [
        (0, 4, 1, [(0, 0)]),
        (3, 4, 1, [(0, 3)]),
        (4, 4, 1, [(0, 4)]),
        (5, 4, 1, [(0, 4), (3, 5)]),
        (10, 4, 2, [(0, 4), (2, 6), (4, 8), (6, 10)]),
        (10, 4, 0, [(0, 4), (4, 8), (8, 10)]),
        (3, 1, 0, [(0, 1), (1, 2), (2, 3)]),
    ],
)
def test_window_spans_examples(
    n: int, size: int, overlap: int, expected: list[tuple[int, int]]
) -> None:
    assert window_spans(n, size, overlap) == expected


@pytest.mark.parametrize(("n", "size", "overlap"), [(-1, 4, 1), (5, 0, 0), (5, 4, 4), (5, 4, -1)])
def test_window_spans_rejects_bad_arguments(n: int, size: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="overlap"):
        window_spans(n, size, overlap)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 300), st.integers(1, 40), st.data())
def test_window_spans_cover_with_exact_overlap(n: int, size: int, data: st.DataObject) -> None:
    overlap = data.draw(st.integers(0, size - 1))
    windows = window_spans(n, size, overlap)
    assert windows[0][0] == 0 and windows[-1][1] == n
    assert all(0 < b - a <= size for a, b in windows) or n == 0
    for (a1, b1), (a2, b2) in zip(windows, windows[1:], strict=False):
        assert b1 - a2 == overlap and a2 > a1 and b2 > b1


# --- properties ----------------------------------------------------------------------------

# Pieces that exercise every rule: abbreviations, markers, indentation, blank lines, CJK.
_PIECES = list("abcXYZ é中 .!?…\"')(-*•:\n\t123。") + ["Dr.", "e.g.", "    ", "\n\n", "- ", "1. "]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=120).map("".join)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.one_of(_TEXT, st.text(max_size=200)))
def test_spans_are_ordered_stripped_and_deterministic(text: str) -> None:
    spans = split_spans(text)
    assert spans == split_spans(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        assert clean(text[start:end])
        assert not text[start].isspace() and not text[end - 1].isspace()
        previous_end = end


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet=st.sampled_from(list("abcXY .!?\n")), max_size=300))
def test_no_letter_is_lost(text: str) -> None:
    covered: set[int] = set()
    for start, end in split_spans(text):
        covered.update(range(start, end))
    assert all(i in covered for i, char in enumerate(text) if char.isalpha())


MANUAL_PAGE = """\
NAME
       tidectl - predict the tides of a harbour

DESCRIPTION
       Tidectl reads a table of harmonic constants and prints the height of the
       water for every hour of the chosen day (the local day unless told otherwise).

       -d, --day=DATE
              predict the tides of DATE instead of today; dates are written as
              year, month and day (see FORMATS below)

       --units[=UNIT]
              print heights in UNIT, metres by default

EXAMPLE
       To print tomorrow's tides:

           tidectl --day=tomorrow
           tidectl --units=feet > heights.txt
"""


def test_a_manual_page_keeps_wrapped_paragraphs_and_its_section_headings() -> None:
    spans = split_spans(MANUAL_PAGE)
    sentences = [MANUAL_PAGE[a:b] for a, b in spans]
    flat = [" ".join(s.split()) for s in sentences]
    assert flat[0] == "NAME" and flat[2] == "DESCRIPTION"
    assert (
        "Tidectl reads a table of harmonic constants and prints the height of the water for "
        "every hour of the chosen day (the local day unless told otherwise)." in flat
    )
    assert (
        "-d, --day=DATE predict the tides of DATE instead of today; dates are written as "
        "year, month and day (see FORMATS below)" in flat
    )
    assert "--units[=UNIT] print heights in UNIT, metres by default" in flat
    assert "tidectl --day=tomorrow" in flat and "tidectl --units=feet > heights.txt" in flat
