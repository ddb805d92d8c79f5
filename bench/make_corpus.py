"""Write N GB of realistic, mostly unique en+ru input for scale work, deterministically from a seed.

Usage: python bench/make_corpus.py --gb 1 --seed 0 --out /tmp/corpus-1gb [--data ../shared/data]

The proportions are our headline user's (20 GB Common Crawl, 7 GB Wikipedia, 5 GB books: 62 / 22 / 16 of the text
bytes), in the formats they arrive in:
  web/cc-NNNNN.warc.wet.gz   Common Crawl WET: one gzip member per record, a warcinfo record first, ~512 MB of text
                             per file (so a file spans several work units); 70% ru, 30% en
  wiki/ruwiki-NNN.jsonl      one article per line (id, title, url, text), ~512 MB per file; ru
  books/LANG/book-NNNNNN.txt plain-text books, hard-wrapped at 72 columns, with Project Gutenberg (en) or
                             e-book-site (ru) boilerplate around the text; 50% ru, 50% en
  config.yaml                a `corpus run` config over all of it, every default left as it is
  truth.json                 what was generated: bytes and documents per source, and the planted duplicates
Text comes from a word-bigram model of the shared books and Wikipedia articles (read with our own readers), so it
has the word lengths, stop words and punctuation of real prose and passes language ID, yet no two generated
documents share a 13-word shingle by chance. Planted on purpose: exact copies (4% of web pages, 1% of articles
copied into the web), near copies (3% of web pages: one 5% span of words rewritten, Jaccard of 13-shingles ~0.85),
and junk that the Gopher rules drop (3% of web pages too short, 2% one line repeated).
The same --gb, --seed and --data give the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from pathlib import Path

import numpy as np

SHARES = {"web": 0.62, "wiki": 0.22, "books": 0.16}
LANG_SHARES = {"web": {"ru": 0.7, "en": 0.3}, "wiki": {"ru": 1.0}, "books": {"ru": 0.5, "en": 0.5}}
FILE_BYTES = 512 * 2**20          # text per web or wiki file
MEAN_WORDS = {"web": 600, "wiki": 700}
BOOK_WORDS = (60_000, 250_000)    # uniform range of a book's length in words
EXACT_WEB, NEAR_WEB, WIKI_IN_WEB, SHORT_WEB, SPAM_WEB = 0.04, 0.03, 0.01, 0.03, 0.02
NEAR_SPAN = 0.05                  # share of a near copy's words rewritten, as one span
PARAGRAPH_BREAK = 0.2             # chance that a sentence ends its paragraph
_SENTENCE_END = re.compile(r"[.!?…][\"'»”)]*$")


class BigramModel:
    """Word-bigram chains sampled in bulk with numpy: every row's successor CDF is offset by its row number, so
    one `searchsorted` over all rows draws the next word of many chains at once."""

    def __init__(self, texts: list[str]):
        tokens = [t for text in texts for t in text.split()]
        self.vocab, ids = np.unique(np.array(tokens, dtype=object), return_inverse=True)
        pairs = ids[:-1].astype(np.int64) * len(self.vocab) + ids[1:]
        keys, counts = np.unique(pairs, return_counts=True)
        prev = keys // len(self.vocab)
        self.next = keys % len(self.vocab)
        totals = np.bincount(prev, weights=counts, minlength=len(self.vocab))
        cum = np.cumsum(counts) - np.concatenate(([0], np.cumsum(np.bincount(prev, weights=counts))[:-1]))[prev]
        self.cdf = prev + cum / totals[prev]
        self.row_end = np.searchsorted(prev, np.arange(len(self.vocab)), side="right") - 1
        # The last word of the training text may have no successor: its row falls back to a random word.
        self.has_row = np.bincount(prev, minlength=len(self.vocab)) > 0
        self.ends = np.array([bool(_SENTENCE_END.search(w)) for w in self.vocab])
        self.with_space = np.array([w + " " for w in self.vocab], dtype=object)
        self.with_newline = np.array([w + "\n" for w in self.vocab], dtype=object)

    def sample(self, rng: np.random.Generator, n: int, chains: int = 4096) -> np.ndarray:
        steps = -(-n // chains)
        out = np.empty((steps, chains), dtype=np.int64)
        cur = rng.integers(0, len(self.vocab), chains)
        for t in range(steps):
            out[t] = cur
            pos = np.minimum(np.searchsorted(self.cdf, cur + rng.random(chains), side="right"), self.row_end[cur])
            cur = np.where(self.has_row[cur], self.next[pos], rng.integers(0, len(self.vocab), chains))
        return out.T.reshape(-1)[:n]

    def render(self, rng: np.random.Generator, ids: np.ndarray) -> str:
        """Words joined by spaces; a paragraph ends after a sentence end with chance PARAGRAPH_BREAK."""
        breaks = self.ends[ids] & (rng.random(len(ids)) < PARAGRAPH_BREAK)
        pieces = np.where(breaks, self.with_newline[ids], self.with_space[ids])
        return "".join(pieces.tolist()).strip()


def training_texts(data: Path) -> dict[str, list[str]]:
    """Clean prose per language, read by the project's own readers (Gutenberg and site notices stripped)."""
    from corpus.sources import ReadContext
    from corpus.sources.books import read_book

    texts: dict[str, list[str]] = {"en": [], "ru": []}
    for lang in texts:
        for path in sorted((data / "books" / lang).glob("*.txt")):
            ctx = ReadContext(source="books", path=str(path), rel=path.name)
            with open(path, "rb") as f:
                texts[lang] += [d.text for d in read_book(f, ctx) if hasattr(d, "text") and d.text]
    articles = json.loads((data / "wikipedia" / "text" / "cyrillic-wiki-plaintext-10langs.json").read_text())
    for lang in texts:
        entries = articles.get(lang) or []
        texts[lang] += [a["text"] if isinstance(a, dict) else str(a) for a in entries]
    return texts


class Writer:
    """Rolls output files at `file_bytes` of text (0: one document per file); counts documents and text bytes."""

    def __init__(self, folder: Path, pattern: str, opener, file_bytes: int = FILE_BYTES):
        self.folder, self.pattern, self.opener, self.file_bytes = folder, pattern, opener, file_bytes
        folder.mkdir(parents=True, exist_ok=True)
        self.index, self.file, self.in_file = 0, None, 0
        self.docs = self.bytes = 0

    def write(self, payload: bytes, text_bytes: int, header: bytes = b"") -> None:
        if self.file is None or self.in_file >= self.file_bytes:
            self.close()
            self.file = self.opener(self.folder / self.pattern.format(self.index))
            self.index += 1
            self.in_file = 0
            if header:
                self.file.write(header)
        self.file.write(payload)
        self.in_file += text_bytes
        self.docs += 1
        self.bytes += text_bytes

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def wet_record(kind: str, uri: str, date: str, body: bytes, serial: int) -> bytes:
    head = (f"WARC/1.0\r\nWARC-Type: {kind}\r\n" + (f"WARC-Target-URI: {uri}\r\n" if uri else "") +
            f"WARC-Date: {date}\r\nWARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-{serial:012x}>\r\n"
            f"Content-Type: {'text/plain' if kind == 'conversion' else 'application/warc-fields'}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    # One gzip member per record, as Common Crawl ships WET; mtime 0 keeps the bytes reproducible.
    return gzip.compress(head + body + b"\r\n\r\n", compresslevel=1, mtime=0)


def near_copy(rng: np.random.Generator, model: BigramModel, ids: np.ndarray) -> np.ndarray:
    span = max(1, int(len(ids) * NEAR_SPAN))
    start = int(rng.integers(0, max(1, len(ids) - span)))
    return np.concatenate([ids[:start], model.sample(rng, span, chains=64), ids[start + span:]])


def wrap(text: str, width: int = 72) -> str:
    """Hard-wrap paragraphs as plain-text books are, with a blank line between paragraphs."""
    out = []
    for para in text.split("\n"):
        line, lines = [], []
        size = 0
        for word in para.split(" "):
            if size + len(word) > width and line:
                lines.append(" ".join(line))
                line, size = [], 0
            line.append(word)
            size += len(word) + 1
        lines.append(" ".join(line))
        out.append("\n".join(lines))
    return "\n\n".join(out)


def make_corpus(out: Path, gb: float, seed: int, data: Path) -> dict:
    rng = np.random.default_rng(seed)
    models = {lang: BigramModel(texts) for lang, texts in sorted(training_texts(data).items())}
    budget = {source: int(gb * 1e9 * share) for source, share in SHARES.items()}
    truth: dict = {"seed": seed, "gb": gb, "exact_pairs": [], "near_pairs": [], "junk": []}
    date = "2024-05-18T00:00:00Z"

    # Wikipedia first: the web copies some articles.
    wiki = Writer(out / "wiki", "ruwiki-{:03d}.jsonl", lambda p: open(p, "wb"))
    wiki_sample: list[tuple[str, str]] = []
    while wiki.bytes < budget["wiki"]:
        n = max(60, int(rng.lognormal(np.log(MEAN_WORDS["wiki"]), 0.6)))
        text = models["ru"].render(rng, models["ru"].sample(rng, n, chains=256))
        page = wiki.docs + 1
        line = json.dumps({"id": f"ru-{page}", "title": f"Статья {page}", "url": f"https://ru.wikipedia.org/?curid={page}",
                           "text": text}, ensure_ascii=False) + "\n"
        wiki.write(line.encode(), len(text.encode()))
        if rng.random() < WIKI_IN_WEB * 4 and len(wiki_sample) < 1_000_000:
            wiki_sample.append((f"ru-{page}", text))
    wiki.close()

    web = Writer(out / "web", "cc-{:05d}.warc.wet.gz", lambda p: open(p, "wb"))
    info = wet_record("warcinfo", "", date, b"isPartOf: generated\r\noperator: bench/make_corpus.py\r\n", 0)
    recent: list[tuple[str, np.ndarray, str]] = []      # a pool of earlier pages to copy from
    serial = 0
    while web.bytes < budget["web"]:
        serial += 1
        lang = "ru" if rng.random() < LANG_SHARES["web"]["ru"] else "en"
        model = models[lang]
        url = f"https://site{int(rng.integers(0, 50_000))}.example/{lang}/page-{serial}"
        roll = rng.random()
        if roll < EXACT_WEB and recent:
            orig_url, ids, lang = recent[int(rng.integers(0, len(recent)))]
            text = _rendered(models[lang], ids, orig_url)
            truth["exact_pairs"].append([orig_url, url])
        elif roll < EXACT_WEB + NEAR_WEB and recent:
            orig_url, ids, lang = recent[int(rng.integers(0, len(recent)))]
            text = models[lang].render(rng, near_copy(rng, models[lang], ids))
            truth["near_pairs"].append([orig_url, url])
        elif roll < EXACT_WEB + NEAR_WEB + WIKI_IN_WEB and wiki_sample:
            page_id, text = wiki_sample[int(rng.integers(0, len(wiki_sample)))]
            truth["exact_pairs"].append([f"wiki:{page_id}", url])
        elif roll < EXACT_WEB + NEAR_WEB + WIKI_IN_WEB + SHORT_WEB:
            text = model.render(rng, model.sample(rng, int(rng.integers(5, 40)), chains=8))
            truth["junk"].append(url)
        elif roll < EXACT_WEB + NEAR_WEB + WIKI_IN_WEB + SHORT_WEB + SPAM_WEB:
            line = model.render(rng, model.sample(rng, 12, chains=4)).replace("\n", " ")
            text = "\n".join([line] * int(rng.integers(20, 80)))
            truth["junk"].append(url)
        else:
            n = max(60, int(rng.lognormal(np.log(MEAN_WORDS["web"]), 0.8)))
            ids = model.sample(rng, n, chains=256)
            text = _remember(model, rng, ids, url, lang, recent)
        body = text.encode()
        web.write(wet_record("conversion", url, date, body, serial), len(body), header=info)
    web.close()

    books = {lang: Writer(out / "books" / lang, "book-{:06d}.txt", lambda p: open(p, "wb"), file_bytes=0)
             for lang in ("en", "ru")}
    book_bytes = 0
    serial = 0
    while book_bytes < budget["books"]:
        serial += 1
        lang = "ru" if rng.random() < LANG_SHARES["books"]["ru"] else "en"
        model = models[lang]
        text = wrap(model.render(rng, model.sample(rng, int(rng.integers(*BOOK_WORDS)))))
        if lang == "en":
            page = (f"The Project Gutenberg eBook of Book {serial}\n\nTitle: Book {serial}\nAuthor: Anonymous\n\n"
                    f"*** START OF THE PROJECT GUTENBERG EBOOK BOOK {serial} ***\n\n{text}\n\n"
                    f"*** END OF THE PROJECT GUTENBERG EBOOK BOOK {serial} ***\n\nSection 1. General Terms of Use\n")
        else:
            page = (f"Книга {serial}\n\nСпасибо, что скачали книгу в бесплатной электронной библиотеке "
                    f"https://royallib.example\n\n{text}\n\nСпасибо, что скачали книгу!\n")
        books[lang].write(page.encode(), len(text.encode()))
        book_bytes += len(text.encode())
    for writer in books.values():
        writer.close()

    truth["sources"] = {
        "web": {"files": web.index, "docs": web.docs, "text_bytes": web.bytes},
        "wikipedia": {"files": wiki.index, "docs": wiki.docs, "text_bytes": wiki.bytes},
        "books": {"files": sum(w.index for w in books.values()), "docs": sum(w.docs for w in books.values()),
                  "text_bytes": book_bytes}}
    truth["text_bytes"] = sum(s["text_bytes"] for s in truth["sources"].values())
    (out / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False))
    (out / "config.yaml").write_text(
        "# Written by bench/make_corpus.py: every default left as it is.\n"
        "sources:\n"
        "  - {name: web, kind: wet, paths: [\"web/*.warc.wet.gz\"], languages: [ru, en], priority: 2}\n"
        "  - {name: wikipedia, kind: jsonl, paths: [\"wiki/*.jsonl\"], languages: [ru], priority: 3,\n"
        "     id_field: id, url_field: url, title_field: title}\n"
        "  - {name: books, kind: books, paths: [\"books/**/*.txt\"], languages: [ru, en], priority: 1}\n")
    return truth


def _remember(model: BigramModel, rng: np.random.Generator, ids: np.ndarray, url: str, lang: str,
              recent: list) -> str:
    """Render a fresh page and keep it (by its word ids) in a bounded pool that later copies draw from."""
    text = _rendered(model, ids, url)
    if len(recent) < 2000:
        recent.append((url, ids, lang))
    elif rng.random() < 0.01:
        recent[int(rng.integers(0, len(recent)))] = (url, ids, lang)
    return text


def _rendered(model: BigramModel, ids: np.ndarray, key: str) -> str:
    """A page's paragraph breaks are drawn from a generator seeded by its key, so an exact copy renders the same."""
    seed = int.from_bytes(key.encode()[-8:].rjust(8, b"\0"), "little")
    return model.render(np.random.default_rng(seed), ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, required=True, help="gigabytes (1e9 bytes) of document text to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"),
                        help="the shared data (books and Wikipedia text train the word model)")
    args = parser.parse_args()
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"make_corpus: {out} exists and is not empty")
    truth = make_corpus(out, args.gb, args.seed, Path(args.data))
    for source, s in truth["sources"].items():
        print(f"{source}: {s['docs']:,} documents, {s['text_bytes'] / 1e6:,.1f} MB of text in {s['files']} file(s)")
    print(f"planted: {len(truth['exact_pairs']):,} exact copies, {len(truth['near_pairs']):,} near copies, "
          f"{len(truth['junk']):,} junk pages; config: {out / 'config.yaml'}")


if __name__ == "__main__":
    main()
