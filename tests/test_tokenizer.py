"""Stage 11: the byte-fallback SentencePiece tokenizer, and the tokens it writes into shards."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.sample.generate import DE, EN, RU
from corpus.shards import doc_schema
from corpus.tokenizer import Tokenizer, encode_parts, token_dtype, train_tokenizer

TRAINING = EN + RU + DE + ["Итого: № 5, № 12 и так далее…", "Page 3 of 10… see № 7."] * 3


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(train_tokenizer(TRAINING, vocab_size=1200, model_type="bpe"))


def test_round_trip_keeps_whitespace_exactly(tokenizer):
    text = "  Two  spaces,\ta tab,\n\nblank line, trailing space \n\u00a0nbsp and CRLF\r\nend"
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_unseen_script_goes_through_byte_pieces(tokenizer):
    text = "ქართული ენა 日本語 🙂"   # Georgian, Japanese, emoji: none in the training text
    ids = tokenizer.encode(text)
    pieces = [tokenizer.piece(i) for i in ids]
    assert any(p.startswith("<0x") for p in pieces)
    assert tokenizer.decode(ids) == text


def test_numero_and_ellipsis_are_kept_as_pieces(tokenizer):
    ids = tokenizer.encode("№ 5…")
    assert "№" in [tokenizer.piece(i) for i in ids] and "…" in [tokenizer.piece(i) for i in ids]
    assert tokenizer.decode(ids) == "№ 5…"   # identity normalization: no NFKC "No" or "..."


def test_digits_are_split(tokenizer):
    assert [tokenizer.piece(i) for i in tokenizer.encode("2015")] == ["2", "0", "1", "5"]
    vocab = [tokenizer.piece(i) for i in range(tokenizer.vocab_size)]
    assert not [p for p in vocab if not p.startswith("<") and sum(c.isdigit() for c in p) > 1]


def test_training_is_deterministic_and_unigram_works():
    assert train_tokenizer(TRAINING, 800, "bpe") == train_tokenizer(TRAINING, 800, "bpe")
    uni = Tokenizer(train_tokenizer(TRAINING, 800, "unigram"))
    text = " ".join(RU[:2])
    assert uni.decode(uni.encode(text)) == text


EDGES = ["", " ", "  ", "\n", "\n\n  \n", "a", " a", "a ", "a  b", "  lead", "trail  ", "x \n y", "▁literal▁ ▁▁x",
         "word▁joined", "tab\there", "\u00a0nbsp\u00a0 x", "日本語のテキスト、スペースなし。", "🙂 🙂🙂  ქართული",
         "2015 год, № 5…", "e\u0301 combining", "\r\ncrlf\r\n", "a" * 5000, ("long " * 3000).strip()]


@pytest.mark.parametrize("model_type", ["bpe", "unigram"])
def test_encoding_by_segments_is_sentencepiece_exactly(model_type, sample_out):
    import sentencepiece as spm

    shard_texts = [t for path in sorted((sample_out / "shards").glob("*.parquet"))
                   for t in pq.read_table(path, columns=["text"]).column("text").to_pylist()]

    # Indented and double-spaced lines teach whitespace-only pieces (`▁▁`, `▁▁▁▁`), which a word's segment must
    # keep with the spaces before it.
    model = train_tokenizer(TRAINING + ["    indented  line  with  two  spaces", "        deeper"] * 20, 800,
                            model_type)
    tok = Tokenizer(model)
    assert tok.encodes_by_segments            # our models qualify: the cached path is the one under test
    assert any(len(p) > 1 and set(p) == {"\u2581"} for p in map(tok.piece, range(tok.vocab_size)))
    reference = spm.SentencePieceProcessor(model_proto=model)
    texts = EDGES + shard_texts
    for _ in range(2):                   # cold, then warm cache
        for text in texts:
            assert tok.encode(text).tolist() == reference.encode(text), text[:80]


def test_long_segments_are_encoded_but_not_kept():
    tok = Tokenizer(train_tokenizer(TRAINING, 800))
    line = "日本語の長い行には空白がない。" * 50
    assert tok.encode(f"short words {line} more").tolist() == tok._sp.encode(f"short words {line} more")
    assert tok._cache and max(map(len, tok._cache)) <= 64


def test_a_model_that_adds_a_dummy_prefix_is_encoded_whole(tmp_path):
    import io

    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(EN * 5), model_writer=buf, vocab_size=400,
                                   byte_fallback=True, minloglevel=2)     # SentencePiece's defaults otherwise
    tok = Tokenizer(buf.getvalue())
    assert not tok.encodes_by_segments
    reference = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    for text in EDGES + EN[:5]:
        assert tok.encode(text).tolist() == reference.encode(text)


def test_a_small_sample_gives_a_smaller_vocabulary_instead_of_failing():
    tok = Tokenizer(train_tokenizer(EN[:3], vocab_size=32000))
    assert 256 < tok.vocab_size < 32000


def test_token_dtype_follows_the_vocabulary():
    assert token_dtype(32000) == np.uint16 and token_dtype(65536) == np.uint16
    assert token_dtype(100_000) == np.int32
    assert doc_schema(32000).field("tokens").type == pa.list_(pa.uint16())
    assert doc_schema(100_000).field("tokens").type == pa.list_(pa.int32())


def test_long_document_splits_at_paragraphs_and_rejoins_exactly(tokenizer):
    text = "\n\n".join(EN * 3)
    parts = [part for part, _ in encode_parts(text, tokenizer, 200)]
    assert len(parts) > 3
    assert "".join(parts) == text
    assert all(tokenizer.count(p) <= 200 for p in parts)
    assert all(p.endswith("\n\n") for p in parts[:-1])   # cut at paragraph boundaries


@pytest.mark.parametrize("limit", [60, 200, 10_000])
def test_each_part_carries_exactly_its_own_encoding(tokenizer, limit):
    """Parts reuse the tokens of their paragraphs and lines; that must equal encoding the part's text."""
    text = "\n\n".join(EN * 2) + "\n" + " ".join(EN) + "\n\n\n" + "\n".join(EN)
    parts = encode_parts(text, tokenizer, limit)
    assert "".join(p for p, _ in parts) == text
    assert len(parts) > 1 if limit < 10_000 else len(parts) == 1
    for part, tokens in parts:
        assert tokens.tolist() == tokenizer.encode(part).tolist()


def test_our_models_cut_after_newlines_and_other_models_encode_each_part(tokenizer):
    assert tokenizer.cuts_after_newline   # "\n" is a user symbol of every model train_tokenizer makes
    other = Tokenizer(tokenizer.model)
    other.cuts_after_newline = False      # as for a model brought from elsewhere
    text = "\n\n".join(EN * 2)
    parts = encode_parts(text, other, 200)
    assert len(parts) > 1 and "".join(p for p, _ in parts) == text
    for part, tokens in parts:
        assert tokens.tolist() == other.encode(part).tolist()


def test_a_paragraph_longer_than_the_limit_is_cut_at_spaces(tokenizer):
    text = " ".join(EN)   # one long paragraph
    parts = [part for part, _ in encode_parts(text, tokenizer, 100)]
    assert "".join(parts) == text and len(parts) > 2


def test_every_shard_row_decodes_back_to_its_text(sample_out):
    manifest = json.loads((sample_out / "manifest.json").read_text())
    tok = Tokenizer((sample_out / "tokenizer" / "spm.model").read_bytes())
    assert manifest["tokenizer"]["vocab_size"] == tok.vocab_size
    rows = pq.read_table(sample_out / "shards").to_pylist()
    assert rows and all(tok.decode(r["tokens"]) == r["text"] for r in rows)
    assert all(r["n_tokens"] == len(r["tokens"]) for r in rows)
    assert pq.read_schema(next((sample_out / "shards").glob("*.parquet"))).field("tokens").type == pa.list_(
        pa.uint16())
