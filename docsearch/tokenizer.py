"""The sentencepiece tokenizer: train it, encode text to ids, save and load it with the encoder."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm

PAD_ID = 0
UNK_ID = 1
_WORD = re.compile(r"\S+")


class Tokenizer:
    """A sentencepiece model held in memory (ids: 0 = padding, 1 = unknown; no BOS/EOS).

    Args:
        model_proto: the serialized sentencepiece model (the bytes of a `.model` file).
    """

    def __init__(self, model_proto: bytes) -> None:
        self._proto = model_proto
        self._sp = spm.SentencePieceProcessor(model_proto=model_proto)

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int,
        *,
        model_type: str = "unigram",
        input_sentence_size: int = 1_000_000,
    ) -> Tokenizer:
        """Train a new model on `texts` (case-folded NFKC normalisation).

        Args:
            texts: training sentences, already sampled (training is deterministic for the same
                texts); a few hundred thousand are plenty for 16k pieces.
            vocab_size: number of pieces, including padding and unknown.
        """
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(texts),
            model_writer=model,
            vocab_size=vocab_size,
            model_type=model_type,
            normalization_rule_name="nmt_nfkc_cf",
            pad_id=PAD_ID,
            unk_id=UNK_ID,
            bos_id=-1,
            eos_id=-1,
            input_sentence_size=input_sentence_size,
            shuffle_input_sentence=False,
            character_coverage=0.9995,
            num_threads=2,
            hard_vocab_limit=False,  # tiny corpora (tests) get a smaller vocabulary, not an error
            minloglevel=2,
        )
        return cls(model.getvalue())

    @classmethod
    def load(cls, path: Path) -> Tokenizer:
        """Load a `.model` file written by `save`."""
        return cls(Path(path).read_bytes())

    def save(self, path: Path) -> None:
        """Write the model to `path` (a `.model` file)."""
        Path(path).write_bytes(self._proto)

    def to_bytes(self) -> bytes:
        """The serialized model, as stored in a `.model` file."""
        return self._proto

    @property
    def vocab_size(self) -> int:
        """Number of pieces, padding and unknown included."""
        return int(self._sp.get_piece_size())

    @property
    def version(self) -> str:
        """A short content hash that identifies this exact model."""
        return hashlib.sha256(self._proto).hexdigest()[:12]

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text (no truncation)."""
        return self._sp.encode(texts, out_type=int)  # type: ignore[no-any-return]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character span `[start, end)` of each token of `text`; a word's tokens share its span.

        Word-level spans are enough to cut over-long sentences into windows at word boundaries.
        """
        words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        counts = self._sp.encode([text[a:b] for a, b in words], out_type=int)
        return [span for span, ids in zip(words, counts, strict=False) for _ in ids]
