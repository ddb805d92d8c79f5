"""Hugging Face `tokenizers` both ways (SPEC §3, issue 16): our SentencePiece model as a tokenizer.json with the
same ids, and a user's tokenizer.json as the run's tokenizer.

The conversion holds for the models `train_tokenizer` makes (identity normalization, no dummy prefix, whitespace
kept, newline a user symbol): spaces become `▁`; the text is split where no piece can cross (before every `▁`
that follows a non-space, and around each newline, which is an added token), exactly as `Tokenizer` encodes by
segments; inside a segment BPE merges rank by the merged piece's score (SentencePiece merges the best-scoring
pair first; every way of splitting a piece into two pieces is a merge of that rank). Characters outside the vocabulary fall back to `<0xNN>` byte pieces, as in SentencePiece.
Control pieces (`<unk>`, `<s>`, `</s>`) stay ordinary vocabulary entries, so that a literal `</s>` in a text is
never read as one, again as in SentencePiece. Tests encode every row of a run with both and compare.

Only `tokenizers` is needed (not `transformers`, whose protobuf needs clash with Beam's pin).
"""

from __future__ import annotations

import json

import numpy as np
import sentencepiece as spm

from corpus.tokenizer import Tokenizer, model_type, token_dtype, user_defined_pieces

SPACE = "\u2581"


def _pieces(sp: spm.SentencePieceProcessor) -> tuple[list[str], set[int]]:
    """Every piece, and the ids no text produces by merging (control, unknown, byte, unused, the newline)."""
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    fixed = {i for i in range(len(pieces)) if sp.is_control(i) or sp.is_unknown(i) or sp.is_byte(i)
             or sp.is_unused(i)}
    return pieces, fixed | {sp.piece_to_id("\n")}


def has_tokenizer_json(tokenizer: Tokenizer) -> bool:
    """Whether `tokenizer_json` gives the same ids on every text: BPE models that encode by segments. (A unigram
    model converts too, but Hugging Face's Viterbi breaks ties between equal-scoring paths differently: about
    4% of documents came out different, so none is written.)"""
    return (tokenizer.encodes_by_segments and model_type(tokenizer.model) == "bpe"
            and user_defined_pieces(tokenizer.model) == ["\n"])


def tokenizer_json(model: bytes) -> str:
    """The tokenizer.json of a BPE SentencePiece model made by `train_tokenizer`."""
    from tokenizers import AddedToken, Regex, decoders, models, normalizers, pre_tokenizers
    from tokenizers import Tokenizer as HFTokenizer

    sp = spm.SentencePieceProcessor(model_proto=model)
    pieces, fixed = _pieces(sp)
    vocab = {piece: i for i, piece in enumerate(pieces)}
    unk = pieces[sp.unk_id()]
    if model_type(model) != "bpe":
        raise ValueError("only a BPE SentencePiece model converts exactly (see has_tokenizer_json)")
    mergeable = {piece: i for i, piece in enumerate(pieces) if i not in fixed}
    merges = []
    for piece, i in mergeable.items():
        splits = [(piece[:k], piece[k:]) for k in range(1, len(piece))
                  if piece[:k] in mergeable and piece[k:] in mergeable]
        # Rank by the merged piece's score (best first), then by the parts' ids: deterministic.
        merges += [(-sp.get_score(i), vocab[a], vocab[b], a, b) for a, b in splits]
    merges.sort()
    tok = HFTokenizer(models.BPE(vocab=vocab, merges=[(a, b) for *_, a, b in merges], unk_token=unk,
                                 byte_fallback=True, fuse_unk=False))
    tok.normalizer = normalizers.Replace(" ", SPACE)
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(f"{SPACE}*[^{SPACE}]+|{SPACE}+"), behavior="isolated")
    tok.decoder = decoders.Sequence([decoders.Replace(SPACE, " "), decoders.ByteFallback(), decoders.Fuse()])
    tok.add_tokens([AddedToken("\n", normalized=False, special=False)])
    return tok.to_str()



# The end-of-document token of the common Hugging Face tokenizers, by name, in the order they are tried.
EOS_NAMES = ("</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>", "<|eos|>", "<|im_end|>", "[SEP]")


def is_tokenizer_json(model: bytes) -> bool:
    """A Hugging Face tokenizer.json (a JSON object with a `model`), not a SentencePiece ModelProto."""
    try:
        data = json.loads(model)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and "model" in data


class HuggingFaceTokenizer:
    """A user's tokenizer.json (`tokenizer: {train: false, model: tokenizer.json}`), with `Tokenizer`'s interface:
    `tokens`, the mix and fertility all come from it. Encoded without the template's special tokens (BOS/EOS
    are the trainer's to add); EOS is the first of `EOS_NAMES` in the vocabulary, or None (the loader then asks
    for one)."""

    encodes_by_segments = False      # nothing is known of its pieces: parts are encoded whole
    cuts_after_newline = False

    def __init__(self, model: bytes):
        from tokenizers import Tokenizer as HFTokenizer

        self.model = model
        self._tok = HFTokenizer.from_str(model.decode("utf-8"))
        # A Hub tokenizer.json often carries a model's truncation (max_length 512) and padding: a corpus wants
        # every token of every document.
        self._tok.no_truncation()
        self._tok.no_padding()
        self.vocab_size = self._tok.get_vocab_size(with_added_tokens=True)
        self.eos_id = next((self._tok.token_to_id(name) for name in EOS_NAMES
                            if self._tok.token_to_id(name) is not None), None)
        self.dtype = token_dtype(self.vocab_size)

    def __getstate__(self):
        return {"model": self.model}

    def __setstate__(self, state):
        self.__init__(state["model"])

    def encode(self, text: str) -> np.ndarray:
        return np.asarray(self._tok.encode(text, add_special_tokens=False).ids, dtype=self.dtype)

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def decode(self, ids) -> str:
        return self._tok.decode([int(i) for i in ids], skip_special_tokens=False)

    def piece(self, token_id: int) -> str:
        return self._tok.id_to_token(int(token_id))


def load_tokenizer(model: bytes) -> Tokenizer | HuggingFaceTokenizer:
    """A SentencePiece model (spm.model bytes) or a Hugging Face tokenizer.json, by its content."""
    return HuggingFaceTokenizer(model) if is_tokenizer_json(model) else Tokenizer(model)
