"""Builders for the hostile files of the robustness tests (no I/O beyond the given folder)."""

from __future__ import annotations

import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pypdf
from fpdf import FPDF

from tests.conftest import SAMPLE_DOCS

GOOD_SAMPLES = (
    "science/ocean_tides_and_the_moon.md",
    "tech/sqlite_transactions_and_wal.rst",
    "home/beekeeping_basics.html",
    "science/black_holes.pdf",
)
# Words that occur in exactly one decoded hostile text file, to prove it was decoded right.
UTF16_LE_WORD = "zweiundvierzigmal"
UTF16_BE_WORD = "quarantedeuxfois"
CP1252_WORD = "naïveté"
BAD_UTF8_WORD = "grünlich"
ODD_NAME_WORD = "Zungenbrecher"


@dataclass(frozen=True)
class HostileCorpus:
    """A folder of hostile files next to a few good ones.

    Attributes:
        root: the folder.
        good: files that must be ingested.
        bad: file -> a word its failure reason must contain.
        empty: files without text, passed by and counted (not failures).
    """

    root: Path
    good: list[Path]
    bad: dict[Path, str]
    empty: list[Path]


def sample_pdf() -> bytes:
    """A real PDF from the sample corpus."""
    return (SAMPLE_DOCS / "science" / "black_holes.pdf").read_bytes()


def encrypted(data: bytes, user_password: str) -> bytes:
    """`data` re-written with RC4-128 encryption (readable without the `cryptography` package)."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def drawing_only_pdf() -> bytes:
    """A one-page PDF whose page holds a drawn rectangle and no text."""
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    return bytes(pdf.output())


def long_line(size: int) -> bytes:
    """About `size` bytes of prose on one line (no newline anywhere)."""
    sentence = b"The tide rises and falls twice a day as the Moon pulls the sea. "
    return sentence * (size // len(sentence))


def build_hostile_corpus(root: Path, *, long_line_bytes: int) -> HostileCorpus:
    """Write the hostile corpus into `root` (created).

    Files that can only be simulated (unreadable, vanishing) are plain good files here; the test
    makes them fail. Root can read everything, so permissions alone prove nothing.
    """
    root.mkdir(parents=True)
    good: list[Path] = []
    for relative in GOOD_SAMPLES:
        target = root / "good" / Path(relative).name
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(SAMPLE_DOCS / relative, target)
        good.append(target)

    def write(name: str, data: bytes) -> Path:
        path = root / name
        path.write_bytes(data)
        return path

    pdf = sample_pdf()
    bad = {
        write("corrupt.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 8): "corrupt",
        write("truncated.pdf", pdf[: len(pdf) // 2]): "PDF",
        write("locked.pdf", encrypted(pdf, "secret")): "password",
        write("scanned.pdf", drawing_only_pdf()): "OCR",
        write("binary.txt", bytes(range(256)) * 64): "binary",
        write("image.md", b"\x89PNG\r\n\x1a\n" + os.urandom(4096)): "binary",
    }
    good += [
        write("open.pdf", encrypted(pdf, "")),
        write("bad_utf8.txt", f"Das Wasser ist {BAD_UTF8_WORD}.\n".encode() + b"Ein \xff Byte.\n"),
        write("legacy_cp1252.txt", f"A {CP1252_WORD} “smart” café – 5 €.\n".encode("cp1252")),
        write(
            "utf16_le.txt",
            "\ufeff".encode("utf-16-le") + f"Sie sagte es {UTF16_LE_WORD}.\n".encode("utf-16-le"),
        ),
        write(
            "utf16_be.txt",
            "\ufeff".encode("utf-16-be") + f"Il l'a dit {UTF16_BE_WORD}.\n".encode("utf-16-be"),
        ),
        write("one_long_line.txt", long_line(long_line_bytes)),
        write("ünïcödé 文档.md", f"# Titel\n\nEin {ODD_NAME_WORD} für alle.\n".encode()),
        write("with  spaces .txt", b"Spaces in a file name are fine.\n"),
        write("new\nline.txt", b"A newline in a file name is legal on POSIX.\n"),
    ]
    os.symlink(root / "loop_b.txt", root / "loop_a.txt")
    os.symlink(root / "loop_a.txt", root / "loop_b.txt")
    bad[root / "loop_a.txt"] = "loop"
    bad[root / "loop_b.txt"] = "loop"
    os.mkfifo(root / "pipe.txt")  # opening it would block forever
    bad[root / "pipe.txt"] = "not a regular file"
    os.symlink(root / "nowhere.txt", root / "dangling.txt")
    bad[root / "dangling.txt"] = "broken"
    bad_name = os.fsencode(root) + b"/latin1_\xe9t\xe9.txt"
    with open(bad_name, "wb") as handle:
        handle.write(b"A file whose name is not UTF-8.\n")
    bad[Path(os.fsdecode(bad_name))] = "rename"
    empty = [write("empty.txt", b""), write("blank.txt", b" \n\t\n")]
    return HostileCorpus(root, sorted(good), bad, empty)
