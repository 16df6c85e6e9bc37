"""End to end through the library: the flows a chat backend uses."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from docsearch import DocSearch, EmptyQuery, Encoder, IndexNotFound, UnreadableDocument
from tests.e2e.test_cli import PAGE_TWO, TIDES


def test_search_returns_hits_with_context(built_index: Path) -> None:
    with DocSearch(built_index) as ds:
        hits = ds.search(TIDES, k=3, mode="dense", per_document=1)
        index = ds._open(create=False)  # noqa: SLF001 - the score's parts, read directly
        vector = ds._query_vectors(index, [TIDES])  # noqa: SLF001
        (sentence, document, cosine), *_ = index.nearest_sentences(vector, 1)[0]
        passage = next(c for _, d, c in index.nearest_passages(vector, 50)[0] if d == document)
    top = hits[0]
    assert top.path.endswith("ocean_tides_and_the_moon.md") and top.text == TIDES
    assert (top.sentence_id, cosine) == (sentence, pytest.approx(1.0, abs=1e-4))
    # A dense score is the mean of the sentence's cosine and its document's best passage's.
    assert passage < 0.99 and top.score == pytest.approx(0.5 * (cosine + passage), abs=1e-5)
    assert top.before or top.after
    assert len(hits) == 3 and len({h.path for h in hits}) == 3


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_many_queries_at_once_equal_one_at_a_time(built_index: Path, mode: str) -> None:
    queries = [TIDES, "How do I bake bread?", "quantum computers", "zzzz unknownword"]
    with DocSearch(built_index) as ds:
        together = ds.search_many(queries, k=4, mode=mode)
        apart = [ds.search(q, k=4, mode=mode) for q in queries]
    assert together == apart
    assert together[0] and together[0][0].path.endswith("ocean_tides_and_the_moon.md")
    # Closed (worker threads stopped), the object opens again on use.
    assert ds.search(TIDES, k=1, mode=mode)[0].path.endswith("ocean_tides_and_the_moon.md")
    ds.close()


def test_filters_that_exclude_everything_give_no_hits(built_index: Path) -> None:
    with DocSearch(built_index) as ds:
        assert ds.search_many([TIDES, "bread"], mode="hybrid", path_glob="*.nothing") == [[], []]
        hits = ds.search(TIDES, mode="hybrid", types=["markdown"])
    assert hits and all(h.type == "markdown" for h in hits)


def test_upload_text_and_bytes_then_remove(index_copy: Path, sample_docs: Path) -> None:
    ds = DocSearch(index_copy)
    n = ds.add_text(
        "notes/meeting.txt",
        "We agreed to ship the hovercraft on Friday. Bring snacks.",
        metadata={"user": 7},
    )
    assert n == 2
    hits = ds.search("when will the hovercraft ship?", k=1, mode="lexical")
    assert hits[0].path == "notes/meeting.txt" and hits[0].metadata == {"user": 7}

    pdf = (sample_docs / "science" / "black_holes.pdf").read_bytes()
    ds.add_bytes("uploads/guide.pdf", pdf)
    hits = ds.search(PAGE_TWO, k=2, mode="dense")
    assert {h.path for h in hits} >= {"uploads/guide.pdf"}
    assert all(h.page == 2 for h in hits)

    assert ds.remove("notes/meeting.txt") == 1
    assert all(h.path != "notes/meeting.txt" for h in ds.search("hovercraft", k=5, mode="lexical"))


def test_upload_names_never_escape_the_index(
    index_copy: Path, tmp_path: Path, isolated_home: Path
) -> None:
    ds = DocSearch(index_copy)
    before = {p for p in tmp_path.rglob("*")}
    ds.add_text("../../escape.txt", "A harmless note about gardening and tomatoes.")
    created = {p for p in tmp_path.rglob("*")} - before
    # Only the index changes, and docsearch's home (its cache of model fingerprints).
    assert all(index_copy in p.parents or isolated_home in (p, *p.parents) for p in created)
    assert created
    assert ds.search("tomatoes", k=1, mode="lexical")[0].path == "../../escape.txt"


def test_bad_upload_raises_our_error(index_copy: Path) -> None:
    with pytest.raises(UnreadableDocument, match="broken.pdf"):
        DocSearch(index_copy).add_bytes("broken.pdf", b"%PDF-1.4 garbage")


def test_errors_for_missing_index_and_empty_query(tmp_path: Path, built_index: Path) -> None:
    with pytest.raises(IndexNotFound):
        DocSearch(tmp_path / "none").search("x")
    with pytest.raises(EmptyQuery):
        DocSearch(built_index).search("  ")


def test_readers_in_threads_while_a_writer_adds(index_copy: Path) -> None:
    ds = DocSearch(index_copy)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                hits = ds.search(TIDES, k=3, mode="hybrid")
                assert hits[0].path.endswith("ocean_tides_and_the_moon.md")
        except BaseException as e:  # noqa: BLE001 - collected and re-raised below
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(5):
        ds.add_text(f"notes/{i}.txt", f"Note number {i} is about quilting and patchwork patterns.")
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert ds.status().documents == 37 + 5


def test_shipped_encoder_contract() -> None:
    encoder = Encoder.load(device="cpu")
    vectors = encoder.encode(["a sentence", "another one", ""])
    assert vectors.shape == (3, encoder.dim) and str(vectors.dtype) == "float32"


def test_a_document_removed_after_its_candidates_were_read_gives_up_its_place(
    index_copy: Path,
) -> None:
    # A search reads its candidates, then their rows, in separate snapshots; a document removed
    # in between must neither show up nor leave the list one hit short.
    from docsearch.search import Filters, Restriction, dense_candidates, lexical_candidates, rank

    ds = DocSearch(index_copy)
    index = ds._open(create=False)  # noqa: SLF001 - the test steps through one search
    everything = Restriction.of(index, Filters())
    vector = ds._query_vectors(index, [TIDES])[0]  # noqa: SLF001
    nearest = dense_candidates(index, vector, 5, everything)
    passages = lexical_candidates(index, TIDES, 5, everything)
    before = rank(index, TIDES, nearest, passages, k=5, mode="hybrid")
    assert ds.remove(before[0].path) == 1
    after = rank(index, TIDES, nearest, passages, k=5, mode="hybrid")
    assert [h.path for h in after[:4]] == [h.path for h in before[1:]]
    assert len(after) == 5 and before[0].path not in {h.path for h in after}


def test_a_one_word_lookup_ranks_as_the_keyword_side_does(built_index: Path) -> None:
    # A name or a term alone gives a sentence encoder nothing to place it by (fusion.is_lookup).
    with DocSearch(built_index) as ds:
        lexical = ds.search("water", k=5, mode="lexical")
        hybrid = ds.search("water", k=5, mode="hybrid")
        dense = ds.search("water", k=5, mode="dense")
    assert len(lexical) == 5
    assert [h.path for h in hybrid] == [h.path for h in lexical]
    assert [h.path for h in dense] != [h.path for h in lexical]  # so the rule is what holds it
