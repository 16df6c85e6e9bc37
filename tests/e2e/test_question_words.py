"""A question in the first person, with contractions, is searched for its content words only."""

from __future__ import annotations

from pathlib import Path

from docsearch import DocSearch

MANUAL = (
    "After installing a package, run mandb to rebuild the index cache; until then the new "
    "manual page is not shown by man or apropos."
)
# Says "shouldn't", "it's", "me", "my" and "t" everywhere, and nothing about manual pages.
CHATTER = (
    "It's my view that you shouldn't worry. Don't tell me it isn't so; T is just a letter. "
    "My notes, my rules: it's fine, isn't it, and I'd say so again."
)


def test_a_first_person_question_finds_its_content_words(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "manual.txt").write_text(MANUAL + "\n")
    (docs / "chatter.txt").write_text(CHATTER + "\n")
    ds = DocSearch(tmp_path / "index")
    ds.ingest([docs])
    query = "why doesn't man show me my page after I've installed it"
    lexical = ds.search(query, mode="lexical", per_document=1)
    assert [Path(h.path).name for h in lexical] == ["manual.txt"]
