"""Legacy encodings are detected (charset-normalizer), with cp1252 kept where it reads as well.

The samples are this project's own sentences, one per script, written in each encoding."""

from __future__ import annotations

import logging

import pytest

from docsearch.documents import read_bytes
from docsearch.readers.text import legacy_codec

TIDES = {
    "russian": "Приливы бывают дважды в сутки. Луна притягивает воду океанов, и уровень моря "
    "поднимается у берегов. Капитан ждёт высокой воды, чтобы войти в узкий пролив.",
    "chinese": "潮汐每天发生两次。月亮吸引海洋的水，海平面在岸边升高。"
    "船长等待高潮，才能进入狭窄的海峡。",
    "traditional": "潮汐每天發生兩次。月亮吸引海洋的水，海平面在岸邊升高。"
    "船長等待高潮，才能進入狹窄的海峽。",
    "greek": "Η παλίρροια συμβαίνει δύο φορές την ημέρα. Η σελήνη έλκει το νερό των ωκεανών και η "
    "στάθμη της θάλασσας ανεβαίνει στις ακτές. Ο καπετάνιος περιμένει την πλημμυρίδα.",
    "japanese": "潮の満ち引きは一日に二回起こります。月が海の水を引き寄せ、海岸で海面が上がります。"
    "船長は満潮を待ってから狭い海峡に入ります。",
    "korean": "조수는 하루에 두 번 일어납니다. 달이 바다의 물을 끌어당기고 해안에서 해수면이 "
    "올라갑니다. 선장은 만조를 기다렸다가 좁은 해협으로 들어갑니다.",
    "hebrew": "הגאות והשפל מתרחשים פעמיים ביום. הירח מושך את מי האוקיינוסים ומפלס הים עולה לאורך "
    "החופים. רב החובל מחכה לגאות כדי להיכנס למצר הצר.",
    "polish": "Przypływy zdarzają się dwa razy dziennie. Księżyc przyciąga wodę oceanów, a poziom "
    "morza podnosi się przy brzegach. Kapitan czeka na wysoką wodę, żeby wpłynąć do cieśniny.",
    "french": "Les marées se produisent deux fois par jour. La lune attire l'eau des océans, et le "
    "niveau de la mer monte près des côtes. Le capitaine attend la marée haute à l'entrée.",
}
SAMPLES = [
    ("russian", "cp1251"),
    ("russian", "koi8_r"),
    ("chinese", "gb18030"),
    ("traditional", "big5"),
    ("greek", "cp1253"),
    ("japanese", "shift_jis"),
    ("korean", "euc_kr"),
    ("hebrew", "cp1255"),
    ("polish", "cp1250"),
    ("french", "cp1252"),
]


@pytest.mark.parametrize(("language", "encoding"), SAMPLES)
def test_legacy_text_comes_back_readable(
    language: str, encoding: str, caplog: pytest.LogCaptureFixture
) -> None:
    text = TIDES[language]
    with caplog.at_level(logging.WARNING):
        doc = read_bytes(f"tides-{language}.txt", text.encode(encoding))
    assert doc.text == text
    assert "is not UTF-8" in caplog.text, "a guessed encoding is said"


def test_cp1252_is_kept_for_a_few_accents_and_western_text() -> None:
    assert legacy_codec("Café crème, naïve façade.".encode("cp1252")) == "cp1252"
    assert legacy_codec(TIDES["french"].encode("cp1252")) == "cp1252"
    assert legacy_codec(b"plain ascii only") == "cp1252"


def test_utf8_is_never_second_guessed() -> None:
    for text in TIDES.values():
        assert read_bytes("t.txt", text.encode("utf-8")).text == text


def test_a_guess_that_reads_the_same_as_cp1252_is_called_cp1252(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.conftest import SAMPLE_DOCS

    data = (SAMPLE_DOCS / "home" / "tea_varieties_cp1252.txt").read_bytes()
    assert legacy_codec(data) == "cp1252"
    with caplog.at_level(logging.WARNING):
        read_bytes("tea.txt", data)
    assert "read as cp1252" in caplog.text
