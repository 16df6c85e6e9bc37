"""Decode raw bytes into normalised text, and read plain-text documents.

Every reader builds on `decode_text` and `normalise`, and returns an `ExtractedText`, which
`docsearch.documents` turns into a `Document`. Undecodable input raises `UnreadableDocument`.
"""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata
from dataclasses import dataclass

from docsearch.errors import UnreadableDocument

log = logging.getLogger(__name__)

# Longer lines are not real markup; the markup readers skip their regexes on them.
MAX_INLINE_LINE = 20_000


@dataclass(frozen=True)
class ExtractedText:
    """What a reader got out of a file's bytes.

    Attributes:
        text: plain text with `\\n` newlines; markup removed. May be blank.
        title: the document's title, untruncated, or None.
        page_starts: offset in `text` where page i+1 starts; None for documents without pages.
        line_map: source line (1-based) of each line of `text`; None when they are the same.
    """

    text: str
    title: str | None = None
    page_starts: tuple[int, ...] | None = None
    line_map: tuple[int, ...] | None = None


def read_text(name: str, data: bytes) -> ExtractedText:
    """Read a plain-text file.

    Args:
        name: file name, used in error messages.
        data: the raw file content.

    Returns:
        The decoded, normalised text; no title.

    Raises:
        UnreadableDocument: the bytes are binary data, not text.
    """
    return ExtractedText(decode_text(name, data))


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# C0/C1 control characters other than tab, newline, vertical tab, form feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def decode_text(name: str, data: bytes, encoding: str | None = None) -> str:
    """Decode bytes to normalised text: BOM, else UTF-8, else a detected legacy encoding.

    Args:
        name: file name, used in error messages.
        data: the raw file content.
        encoding: codec to use when there is no byte order mark (e.g. declared by HTML).

    Returns:
        The text, normalised by `normalise`.

    Raises:
        UnreadableDocument: the bytes are binary data, not text.
    """
    text = None
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(codec, errors="replace")
            break
    if text is None:
        if b"\x00" in data[:8192]:
            raise UnreadableDocument(name, "binary data, not text")
        if encoding is not None:
            text = data.decode(encoding, errors="replace")
        else:
            text = _decode_without_bom(name, data)
    # Text has almost no control characters; decoded binary data has plenty.
    controls = len(text) - len(_CONTROL.sub("", text))
    if controls > 1 + 0.01 * len(text) or text.count("\ufffd") > 1 + 0.1 * len(text):
        raise UnreadableDocument(name, "binary data, not text")
    return normalise(text)


def _decode_without_bom(name: str, data: bytes) -> str:
    """UTF-8 when it is (or nearly is), else the detected legacy encoding (`legacy_codec`), else
    latin-1; a guess is said on stderr."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        first_bad = e.start
    # Bad bytes among valid multi-byte sequences are damage; bad bytes alone mean another
    # encoding. Legacy text almost never holds a valid UTF-8 sequence by accident, and choosing
    # UTF-8 when good >= bad mangles the fewest characters (cp1252 would garble every good one).
    lenient = data.decode("utf-8", errors="replace")
    bad = lenient.count("\ufffd")
    good = len(lenient) - len(lenient.encode("ascii", "ignore")) - bad
    if good >= bad:
        log.warning(
            "%s: %d bytes are not valid UTF-8 (the first at byte %d); read as UTF-8 with "
            "them replaced by \ufffd",
            name,
            bad,
            first_bad,
        )
        return lenient
    codec = legacy_codec(data)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        codec, text = "latin-1", data.decode("latin-1")
    log.warning(
        "%s is not UTF-8 (byte %d); read as %s. If its text looks wrong, convert it to UTF-8",
        name,
        first_bad,
        codec,
    )
    return text


# Fewer non-ASCII bytes than this say too little about an encoding: such text is read as cp1252.
MIN_EVIDENCE = 8
# charset-normalizer looks at no more than this much of a file.
SNIFF_BYTES = 256 * 1024


def legacy_codec(data: bytes) -> str:
    """The encoding of text that is not UTF-8: charset-normalizer's guess (cp1251, KOI8-R,
    GB18030, Shift-JIS...), except that cp1252, the usual legacy encoding of English and Western
    European text, is kept whenever it reads the text as cleanly as the guess (or the text holds
    too few non-ASCII bytes to tell)."""
    sample = data[:SNIFF_BYTES]
    if sum(byte >= 0x80 for byte in sample) < MIN_EVIDENCE:
        return "cp1252"
    from charset_normalizer import from_bytes

    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        return "cp1252"
    guess = codecs.lookup(best.encoding).name
    try:
        western = sample.decode("cp1252")
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined: not cp1252
        return guess
    if sample.decode(guess, errors="replace") == western:
        return "cp1252"  # the same text either way (a guess of cp1250 for French, say)
    chaos = {codecs.lookup(m.encoding).name: m.chaos for m in matches}
    return "cp1252" if chaos.get("cp1252", 1.0) <= best.chaos + 0.01 else guess


def has_bom(data: bytes) -> bool:
    """Whether `data` starts with a Unicode byte order mark (which then decides the codec)."""
    return any(data.startswith(bom) for bom, _ in _BOMS)


def normalise(text: str) -> str:
    """Use `\\n` newlines, drop control characters, BOMs and soft hyphens, and compose to NFC.

    Args:
        text: decoded text.

    Returns:
        The normalised text.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text).replace("\ufeff", "").replace("\xad", "")
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text
