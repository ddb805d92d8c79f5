"""Tokenizer training time, fertility, and loader throughput.

Usage: python bench/tokenizer.py [../shared/data] [--big-mb 200] [--vocab 32000]

1. Trains the 32k byte-fallback BPE tokenizer (the pipeline's settings) on all text in ../shared/data and on a
   `--big-mb` sample built from it (each copy drops 10% of its words and mutates 5%, so lines and words stay
   distinct and SentencePiece cannot fold them together), and prints the wall time of each.
2. Fertility (tokens per word, bytes per token) of the shared-data model, en vs ru, on the books and web pages.
3. Loader throughput: the shared text tokenized into a shard, then `PackedSequences(seq_len=2048)` over it.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path


from corpus.document import Document
from corpus.loader import PackedSequences
from corpus.shards import doc_schema, write_parquet_bytes
from corpus.sources import ReadContext, reader_for
from corpus.text.words import words
from corpus.tokenizer import Tokenizer, train_tokenizer


def shared_texts(data: Path) -> list[tuple[str, str]]:
    """(lang, text) for books, web-ru, C4/cc_net text and Wikipedia articles in ../shared/data."""
    out: list[tuple[str, str]] = []
    for kind, pattern in (("books", "books/en/*.txt"), ("books", "books/ru/*.txt"), ("text", "web-ru/*.txt"),
                          ("jsonl", "cc/text/*.jsonl*")):
        for path in sorted(data.glob(pattern)):
            lang = "ru" if "/ru/" in str(path) or "web-ru" in str(path) else "en"
            with path.open("rb") as f:
                out += [(lang, d.text) for d in reader_for(kind)(f, ReadContext(source="b", path=str(path),
                                                                                rel=path.name))
                        if isinstance(d, Document)]
    wiki = json.loads((data / "wikipedia/text/cyrillic-wiki-plaintext-10langs.json").read_text(encoding="utf-8"))
    out += [(lang, t) for lang in ("en", "ru") for t in wiki[lang]]
    return out


def perturbed_copies(texts: list[str], megabytes: int) -> list[str]:
    """Copies of the texts with 10% of words dropped and 5% of words given a random two-letter ending, so lines and
    the word inventory keep growing (BPE's cost follows the distinct words, not the bytes)."""
    rng = random.Random(0)
    letters = "abcdefghijklmnopqrstuvwxyzабвгдежзиклмнопрстуфхцчшщыэюя"
    out, size = [], 0
    while size < megabytes * 1e6:
        for text in texts:
            kept = " ".join(w + rng.choice(letters) + rng.choice(letters) if rng.random() < 0.05 else w
                            for w in text.split(" ") if rng.random() > 0.1)
            out.append(kept)
            size += len(kept.encode("utf-8"))
            if size >= megabytes * 1e6:
                break
    return out


def timed_training(texts: list[str], vocab: int) -> tuple[bytes, float]:
    started = time.perf_counter()
    model = train_tokenizer(texts, vocab, "bpe")
    return model, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--big-mb", type=int, default=200)
    parser.add_argument("--vocab", type=int, default=32000)
    args = parser.parse_args()
    corpus = shared_texts(Path(args.data))
    texts = [t for _, t in corpus]
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    model, seconds = timed_training(texts, args.vocab)
    tok = Tokenizer(model)
    print(f"training on the shared data ({mb:.1f} MB, {len(texts)} documents): {seconds:.1f} s, "
          f"vocabulary {tok.vocab_size:,}")
    if args.big_mb:
        big = perturbed_copies(texts, args.big_mb)
        big_model, big_seconds = timed_training(big, args.vocab)
        print(f"training on a {args.big_mb} MB sample built from it: {big_seconds:.1f} s, vocabulary "
              f"{Tokenizer(big_model).vocab_size:,}")

    print("fertility of the shared-data model (tokens per word, bytes per token):")
    for lang in ("en", "ru"):
        docs = [t for lg, t in corpus if lg == lang]
        n_tokens = sum(tok.count(t) for t in docs)
        n_words = sum(len(words(t)) for t in docs)
        n_bytes = sum(len(t.encode("utf-8")) for t in docs)
        print(f"  {lang}: {n_tokens / n_words:.3f} tokens/word, {n_bytes / n_tokens:.2f} bytes/token "
              f"({len(docs)} documents, {n_words:,} words)")

    out = Path(tempfile.mkdtemp(prefix="loader-bench-"))
    (out / "shards").mkdir()
    rows = [{"id": f"d{i}", "source": "bench", "text": t, "n_bytes": len(t.encode("utf-8")), "tokens": tok.encode(t),
             "n_tokens": tok.count(t), "cluster_size": 1} for i, t in enumerate(texts)]
    (out / "shards" / "part-00000-of-00001.parquet").write_bytes(write_parquet_bytes(rows, doc_schema(tok.vocab_size)))
    (out / "manifest.json").write_text(json.dumps({"shards": [{"path": "shards/part-00000-of-00001.parquet",
                                                               "rows": len(rows)}],
                                                   "tokenizer": {"eos_id": tok.eos_id}}))
    started = time.perf_counter()
    n = sum(len(seq) for seq in PackedSequences(str(out), 2048))
    seconds = time.perf_counter() - started
    print(f"loader: {n:,} tokens in {seconds:.2f} s = {n / seconds / 1e6:.1f} M tokens/s (seq_len 2048, one core)")


if __name__ == "__main__":
    main()
