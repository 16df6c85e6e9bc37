"""Words and terms: how text and queries are cut, folded and stemmed for BM25.

Words are what SQLite FTS5's `porter unicode61 remove_diacritics 2` tokenizer makes of text:
runs of letters and digits, lower-cased, without diacritics, Porter-stemmed (`porter.py`).
User text is only ever split into words here, never parsed as query syntax.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from indexer.lexical.porter import stem

# Longer queries are cut to this many distinct terms; BM25 over an OR of hundreds of terms is slow
# and no better.
MAX_QUERY_TERMS = 64

# English function words left out of queries. Measured on SciFact (lexical nDCG@10, 300 claims,
# 50k sentences): 0.700 -> 0.706 without them, and 58 -> 23 ms per query (p50). The second part
# (session 15) is what questions in the first person and negated verbs add ("why does my
# prompt...", "I don't see..."): on the FAQ dev sets those words matched any page that says "me".
STOP_WORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have he her his how"
    " i if in into is it its not no of on or our she should so than that the their them then"
    " there these they this to was we were what when where which who why will with would you"
    " your".split()
    + "am me my mine myself us him himself herself itself ourselves themselves yourself yours"
    " ours aren couldn didn doesn don hadn hasn haven isn shouldn wasn weren wouldn".split()
)

# The tail an apostrophe leaves of a contraction or possessive ("don't", "it's", "I've",
# "we'll", "git's"). As a query term "t" or "s" would match "T cells" or a list item "s";
# queries drop the tail, documents keep every word.
CONTRACTION_TAIL = re.compile(r"(?<=[^\W_])['\u2019](?:s|t|d|m|ve|re|ll)\b")

# Runs of letters and digits: the characters unicode61 treats as token characters (minus the
# private-use area). Underscore and punctuation separate tokens, as they do in the tokenizer.
WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """`text` lower-cased and without diacritics."""
    text = text.lower()
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return text


def fold_words(text: str) -> list[str]:
    """The word tokens of `text`, lower-cased and without diacritics."""
    return WORD.findall(fold(text))


def terms(text: str) -> list[str]:
    """The indexed terms of `text`, in order: folded words, Porter-stemmed."""
    return [stem(word) for word in fold_words(text)]


# One query asks for its terms three times (the ranking, its ceiling, the sentence shown), from
# threads of its own; the cache makes that one tokenizing.
@functools.lru_cache(maxsize=256)
def query_terms(text: str) -> tuple[str, ...]:
    """Distinct terms of a query: contraction tails and stop words left out, unless nothing else
    is left."""
    words = WORD.findall(CONTRACTION_TAIL.sub("", fold(text)))
    kept = [w for w in words if w not in STOP_WORDS] or words
    return tuple(dict.fromkeys(stem(w) for w in kept))[:MAX_QUERY_TERMS]


def probe(term: str) -> str:
    """A substring of every folded word whose stem is `term`.

    What Porter writes at the end of a stem that the word itself may not hold is a final "e"
    or "i" ("hoping" -> "hope", "say" -> "sai") and the "l" of "bl" ("capability" -> "capabl");
    without those, the stem is the start of the word.
    """
    if term.endswith(("e", "i")):
        term = term[:-1]
    if term.endswith("bl"):
        term = term[:-1]
    return term
