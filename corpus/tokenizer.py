"""SPEC stage 11: a byte-fallback SentencePiece tokenizer: training from text, lossless encoding, fertility.

Settings follow Gopher/Chinchilla: byte fallback (no unknown token ever), digits split, identity normalization (no
NFKC, so `№` and `…` survive), character coverage below 1 so the rarest characters are left to byte pieces and
those pieces get trained. Whitespace is kept exactly (no dummy prefix, no whitespace folding, newline a piece of
its own), so decode(encode(text)) == text for every text.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np
import sentencepiece as spm

MAX_LINE_BYTES = 4000          # SentencePiece skips training sentences above max_sentence_length (4192 bytes)
CHARACTER_COVERAGE = 0.9995
REQUIRED_CHARS = "№…"          # always whole pieces, however rare in the sample


def training_lines(texts: Iterable[str]) -> Iterator[str]:
    """Texts as training sentences: one per line, long lines cut at spaces into pieces SentencePiece accepts."""
    for text in texts:
        for line in text.split("\n"):
            if not line.strip():
                continue
            while len(line.encode("utf-8")) > MAX_LINE_BYTES:
                cut = line.rfind(" ", 0, MAX_LINE_BYTES // 4)   # 4 bytes per char at worst
                cut = cut if cut > 0 else MAX_LINE_BYTES // 4
                yield line[:cut]
                line = line[cut:]
            yield line


def train_tokenizer(texts: Iterable[str], vocab_size: int = 32000, model_type: str = "bpe",
                    num_threads: int = 2) -> bytes:
    """Train on `texts` and return the serialized model. A sample too small for `vocab_size` gives the largest
    vocabulary it supports instead of failing (the vocabulary size is reported with the model)."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=training_lines(texts), model_writer=model,
        vocab_size=vocab_size, model_type=model_type, hard_vocab_limit=False,
        byte_fallback=True, split_digits=True, normalization_rule_name="identity",
        remove_extra_whitespaces=False, add_dummy_prefix=False, allow_whitespace_only_pieces=True,
        user_defined_symbols=["\n"], required_chars=REQUIRED_CHARS, character_coverage=CHARACTER_COVERAGE,
        input_sentence_size=0, shuffle_input_sentence=False, num_threads=num_threads, minloglevel=2)
    return model.getvalue()


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 while every id fits (SPEC §3), else int32."""
    return np.dtype(np.uint16) if vocab_size <= 65536 else np.dtype(np.int32)


@dataclass
class Tokenizer:
    """A loaded model: encode to a compact array, decode back."""

    model: bytes

    def __post_init__(self):
        self._sp = spm.SentencePieceProcessor(model_proto=self.model)
        self.vocab_size = self._sp.get_piece_size()
        self.eos_id = self._sp.eos_id()
        self.dtype = token_dtype(self.vocab_size)
        # Whether no token can cross a newline: "\n" is a piece and no other piece contains one (true of every
        # model `train_tokenizer` makes, where it is a user symbol). Then text cut after a newline encodes as its
        # pieces' tokens joined; a model brought from elsewhere may not promise that.
        newline = self._sp.piece_to_id("\n")
        self.cuts_after_newline = newline != self._sp.unk_id() and self._sp.id_to_piece(newline) == "\n" and not any(
            "\n" in self._sp.id_to_piece(i) for i in range(self.vocab_size) if i != newline)

    def __getstate__(self):
        return {"model": self.model}

    def __setstate__(self, state):
        self.model = state["model"]
        self.__post_init__()

    def encode(self, text: str) -> np.ndarray:
        return np.asarray(self._sp.encode(text), dtype=self.dtype)

    def count(self, text: str) -> int:
        return len(self._sp.encode(text))

    def decode(self, ids) -> str:
        return self._sp.decode([int(i) for i in ids])

    def piece(self, token_id: int) -> str:
        return self._sp.id_to_piece(int(token_id))


def encode_parts(text: str, tokenizer: Tokenizer, max_tokens: int | None) -> list[tuple[str, np.ndarray]]:
    """Encode a document, cut at paragraph boundaries into parts of at most about `max_tokens` tokens (SPEC stage
    10: `ID#k` parts), each with exactly `tokenizer.encode(part)`. Parts concatenate back to the text exactly; a
    single paragraph longer than the limit is cut at line breaks, then at spaces.

    Every piece is encoded once: where no token can cross a newline (`Tokenizer.cuts_after_newline`), the tokens
    of text cut after a newline are its pieces' tokens joined (tests check this against encode).
    """
    # A token covers at least one UTF-8 byte (byte fallback: exactly one), and a character is at most four.
    if max_tokens is None or 4 * len(text) <= max_tokens:
        return [(text, tokenizer.encode(text))]
    units = list(_units(text, tokenizer, max_tokens))
    parts: list[tuple[str, np.ndarray]] = []
    current: list[tuple[str, np.ndarray]] = []
    current_tokens = 0

    def close():
        part = "".join(u for u, _ in current)
        # Joined tokens are exact only where every cut inside the part follows a newline.
        exact = tokenizer.cuts_after_newline and all(u.endswith("\n") for u, _ in current[:-1])
        parts.append((part, np.concatenate([t for _, t in current]) if exact else tokenizer.encode(part)))

    for unit, tokens in units:
        if current and current_tokens + len(tokens) > max_tokens:
            close()
            current, current_tokens = [], 0
        current.append((unit, tokens))
        current_tokens += len(tokens)
    if current:
        close()
    return parts


def _units(text: str, tokenizer: Tokenizer, max_tokens: int) -> Iterator[tuple[str, np.ndarray]]:
    """(piece, its tokens): paragraphs with their trailing blank lines; oversized ones broken into lines, then
    into word runs."""
    for paragraph in _split_keep(text, "\n\n"):
        tokens = tokenizer.encode(paragraph)
        if len(tokens) <= max_tokens:
            yield paragraph, tokens
            continue
        for line in _split_keep(paragraph, "\n"):
            tokens = tokenizer.encode(line)
            if len(tokens) <= max_tokens:
                yield line, tokens
                continue
            words = _split_keep(line, " ")
            step = max(1, len(words) * max_tokens // (2 * max(1, len(tokens))))
            for i in range(0, len(words), step):
                run = "".join(words[i:i + step])
                yield run, tokenizer.encode(run)


def _split_keep(text: str, sep: str) -> list[str]:
    pieces = text.split(sep)
    return [p + sep for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
