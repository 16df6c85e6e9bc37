"""Read e-mail (.eml) and mailboxes (.mbox) with the standard library's `email` package.

A message becomes its headers that say what it is (Subject, From, To, Date) as lines of text,
then its body: the text/plain part where there is one, else the HTML part through our HTML
reader. Attachments that docsearch can read itself (a PDF, a Word file, a text file...) are
read too and follow the body, each under a line naming it. The subject is the title.

In a mailbox, each message is a page, so a hit says which message it is in.
"""

from __future__ import annotations

import email
import email.errors
import email.policy
import logging
import re
from email.message import EmailMessage

from docsearch.errors import DocsearchError, UnreadableDocument
from docsearch.readers.html import read_html
from docsearch.readers.parts import joined_pages
from docsearch.readers.text import ExtractedText, decode_text, normalise

log = logging.getLogger(__name__)

HEADERS = ("Subject", "From", "To", "Date")
# mboxrd/mboxo: a message starts at a line "From " at the very start of the file or after a
# blank line.
_MBOX_SEPARATOR = re.compile(rb"(?:\A|\n\n|\r\n\r\n)From [^\n]*\n")


# What the `email` package raises on some malformed messages (headers above all).
_MALFORMED = (
    email.errors.MessageError,
    IndexError,
    ValueError,
    TypeError,
    AttributeError,
    LookupError,
)


def read_eml(name: str, data: bytes) -> ExtractedText:
    """Read one message (see the module doc).

    Raises:
        UnreadableDocument: a message the `email` package cannot take apart.
    """
    text, subject = message_text(name, data)
    return ExtractedText(normalise(text), title=subject)


def read_mbox(name: str, data: bytes) -> ExtractedText:
    """Read a mailbox: one page per message, in file order; the title is the first subject."""
    separators = list(_MBOX_SEPARATOR.finditer(data))
    starts = [m.end() for m in separators]
    ends = [m.start() for m in separators[1:]] + [len(data)] if separators else []
    pages: list[str] = []
    title: str | None = None
    for start, end in zip(starts, ends, strict=True):
        raw = re.sub(rb"(?m)^>(>*From )", rb"\1", data[start:end])  # undo From-quoting
        try:
            text, subject = message_text(name, raw)
        except UnreadableDocument as exc:  # one bad message: its page stays, empty
            log.warning("%s: message %d skipped: %s", name, len(pages) + 1, exc.reason)
            text, subject = "", None
        pages.append(text)
        title = title or subject
    if not starts:  # no "From " line: a single message saved with the wrong extension
        text, title = message_text(name, data)
        pages = [text]
    return joined_pages(pages, title)


def message_text(name: str, data: bytes) -> tuple[str, str | None]:
    """A message's headers, body and readable attachments as text; and its subject.

    Raises:
        UnreadableDocument: the `email` package cannot take the message apart.
    """
    try:
        return _message_text(name, data)
    except _MALFORMED as exc:
        raise UnreadableDocument(name, f"malformed message ({exc})") from None


def _message_text(name: str, data: bytes) -> tuple[str, str | None]:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    lines = [f"{h}: {message[h]}" for h in HEADERS if message[h]]
    parts = ["\n".join(lines), _body(name, message)]
    for attachment in message.iter_attachments():
        filename = attachment.get_filename()
        if isinstance(attachment, EmailMessage) and filename:
            text = _attachment_text(filename, attachment)
            if text:
                parts.append(f"Attachment: {filename}\n\n{text}")
    subject = " ".join(str(message["Subject"] or "").split()) or None
    return "\n\n".join(p for p in parts if p.strip()), subject


def _body(name: str, message: EmailMessage) -> str:
    """The plain-text body, or the HTML one where the plain text is missing or blank."""
    for kind in ("plain", "html"):
        part = message.get_body(preferencelist=(kind,))
        text = _part_text(name, part) if isinstance(part, EmailMessage) else ""
        if text.strip():
            return text
    return ""


def _part_text(name: str, part: EmailMessage) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    if part.get_content_subtype() == "html":
        return read_html(name, payload).text
    charset = part.get_content_charset()
    try:
        return (
            decode_text(name, payload, encoding=charset) if charset else decode_text(name, payload)
        )
    except (LookupError, DocsearchError):
        return ""


def _attachment_text(filename: str, attachment: EmailMessage) -> str:
    """The text of an attachment docsearch reads itself; empty for other types or on failure."""
    from docsearch.documents import SUPPORTED_TYPES, read_bytes

    suffix = ("." + filename.rsplit(".", 1)[-1].lower()) if "." in filename else ""
    payload = attachment.get_payload(decode=True)
    if suffix not in SUPPORTED_TYPES or not isinstance(payload, bytes) or not payload:
        return ""
    try:
        return read_bytes(filename, payload).text
    except DocsearchError:
        return ""
