"""SPEC stage 11: a byte-fallback SentencePiece tokenizer: training from text, lossless encoding, fertility.

Settings follow Gopher/Chinchilla: byte fallback (no unknown token ever), digits split, identity normalization (no
NFKC, so `№` and `…` survive), character coverage below 1 so the rarest characters are left to byte pieces and
those pieces get trained. Whitespace is kept exactly (no dummy prefix, no whitespace folding, newline a piece of
its own), so decode(encode(text)) == text for every text.
"""

from __future__ import annotations

import io
import re
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


def proto_fields(message: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of a serialized protobuf message: varints as ints, length-delimited as bytes."""
    pos = 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = message[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while pos < len(message):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            yield number, varint()
        elif wire == 2:
            size = varint()
            yield number, message[pos:pos + size]
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"protobuf wire type {wire}")


def model_type(model: bytes) -> str:
    """"bpe", "unigram", "word" or "char": the serialized ModelProto's TrainerSpec (field 2) model_type (field 3,
    UNIGRAM when absent)."""
    spec = b"".join(v for n, v in proto_fields(model) if n == 2 and isinstance(v, bytes))
    return {1: "unigram", 2: "bpe", 3: "word", 4: "char"}.get(dict(proto_fields(spec)).get(3, 1), "unigram")


def user_defined_pieces(model: bytes) -> list[str]:
    """The pieces of type USER_DEFINED (4): SentencePiece matches them whole in any text, before its model."""
    found = []
    for number, piece in proto_fields(model):
        if number == 1 and isinstance(piece, bytes):
            fields = dict(proto_fields(piece))
            if fields.get(3) == 4 and isinstance(fields.get(1), bytes):
                found.append(fields[1].decode("utf-8"))
    return found


def _keeps_whitespace(model: bytes) -> bool:
    """Whether the model's normalizer leaves spaces as they are: identity rules, no dummy `▁` before a text, no
    folding of extra whitespace, and spaces become `▁`. Read from the serialized ModelProto (field 3,
    NormalizerSpec: 1 name, 3 add_dummy_prefix, 4 remove_extra_whitespaces, 5 escape_whitespaces, all true when
    absent) without SentencePiece's generated protobuf module, which Beam's protobuf pin cannot import."""
    try:
        spec = b"".join(v for n, v in proto_fields(model) if n == 3 and isinstance(v, bytes))
        fields = dict(proto_fields(spec))
    except (ValueError, IndexError):
        return False
    return (fields.get(1) == b"identity" and fields.get(3, 1) == 0 and fields.get(4, 1) == 0
            and fields.get(5, 1) != 0)


# A text's segments: a word with the spaces before it, a run of spaces with no word after it, a newline. With
# SentencePiece's escaping a space is `▁`, so a segment starts at every `▁` that follows a non-space.
_SEGMENT = re.compile("[ \u2581]*[^ \u2581\n]+|[ \u2581]+|\n")
_CACHE_ENTRIES = 1 << 17       # segments remembered per worker (~25 MB): words recur, so most are hits
_CACHED_CHARS = 64             # longer segments are encoded for the text at hand and forgotten


@dataclass
class Tokenizer:
    """A loaded model: encode to a compact array, decode back."""

    model: bytes

    def __post_init__(self):
        self._sp = spm.SentencePieceProcessor(model_proto=self.model)
        self.vocab_size = self._sp.get_piece_size()
        self.eos_id = self._sp.eos_id()
        self.dtype = token_dtype(self.vocab_size)
        pieces = [self._sp.id_to_piece(i) for i in range(self.vocab_size)]
        # Whether no token can cross a newline: "\n" is a piece and no other piece contains one (true of every
        # model `train_tokenizer` makes, where it is a user symbol). Then text cut after a newline encodes as its
        # pieces' tokens joined; a model brought from elsewhere may not promise that.
        newline = self._sp.piece_to_id("\n")
        self.cuts_after_newline = newline != self._sp.unk_id() and pieces[newline] == "\n" and not any(
            "\n" in piece for i, piece in enumerate(pieces) if i != newline)
        # Whether no token can cross a word start either: no piece has a `▁` after anything but `▁` (SentencePiece
        # splits training text at whitespace), and the normalizer neither adds a `▁` before a text nor folds
        # spaces. Then a text encodes as its segments' tokens joined (BPE merges and unigram paths only form
        # pieces; byte fallback is per character), so each distinct segment is encoded once per worker.
        self.encodes_by_segments = self.cuts_after_newline and _keeps_whitespace(self.model) and not any(
            "\u2581" in piece.lstrip("\u2581") for i, piece in enumerate(pieces)
            if not (self._sp.is_byte(i) or self._sp.is_control(i) or self._sp.is_unknown(i)))
        self._cache: dict[str, bytes] = {}

    def __getstate__(self):
        return {"model": self.model}

    def __setstate__(self, state):
        self.model = state["model"]
        self.__post_init__()

    def encode(self, text: str) -> np.ndarray:
        """Token ids of `text`, exactly SentencePiece's `encode(text)`."""
        if not self.encodes_by_segments:
            return np.asarray(self._sp.encode(text), dtype=self.dtype)
        segments = _SEGMENT.findall(text)
        known = self._cache
        if len(known) > _CACHE_ENTRIES:
            known.clear()
        new = list(set(segments).difference(known))     # in any order: each segment's tokens are its own
        if new:
            dtype = self.dtype
            known.update((s, np.array(ids, dtype=dtype).tobytes()) for s, ids in zip(new, self._sp.encode(new)))
        # The tokens of a segment are kept as their bytes: one C-level join assembles the text's array.
        tokens = np.frombuffer(b"".join(map(known.__getitem__, segments)), dtype=self.dtype)
        for s in new:
            if len(s) > _CACHED_CHARS:     # a line of CJK, base64 or code is one segment: never kept
                del known[s]
        return tokens

    def count(self, text: str) -> int:
        return len(self.encode(text))

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
    if tokenizer.encodes_by_segments:
        # A whole encode is cheap here (cached segments), and a text within the limit is one part anyway.
        tokens = tokenizer.encode(text)
        if len(tokens) <= max_tokens:
            return [(text, tokens)]
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
