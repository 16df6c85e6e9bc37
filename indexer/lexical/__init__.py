"""Lexical search, one engine: BM25 over passages, held in postings files.

- `tokens`: how text and queries become terms (folded, Porter-stemmed words, as FTS5 cuts them);
- `porter`: the Porter stemmer;
- `passages`: the unit ranked, runs of sentences up to ~200 words, stored beside the sentences;
- `postings`: the BM25 index over passages, one file per generation;
- `shown`: the sentence shown for a matched passage.

Until format 2 an index also kept SQLite FTS5 tables; `indexer.migrate` drops them.
"""

from indexer.lexical.passages import PASSAGE_WORDS, PassageHit, add_passages, group_passages
from indexer.lexical.shown import SHOWN_PASSAGES, SentenceScorer, best_sentences
from indexer.lexical.tokens import (
    MAX_QUERY_TERMS,
    STOP_WORDS,
    fold,
    fold_words,
    probe,
    query_terms,
    terms,
)

__all__ = [
    "MAX_QUERY_TERMS",
    "PASSAGE_WORDS",
    "SHOWN_PASSAGES",
    "STOP_WORDS",
    "PassageHit",
    "SentenceScorer",
    "add_passages",
    "best_sentences",
    "fold",
    "fold_words",
    "group_passages",
    "probe",
    "query_terms",
    "terms",
]
