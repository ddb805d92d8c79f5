"""Main-text extraction quality and speed on the Scrapinghub article-extraction benchmark pages.

Usage: python bench/extraction.py [../shared/data]

The benchmark's own metric: tokens are `\\w+` runs; each text is a multiset of 4-token shingles; per page the true
positives, false positives and false negatives are normalised to sum to 1; precision and recall are averaged over
pages and F1 is their harmonic mean. Compares the reader's extractor (`corpus.sources.html.extract_main_text`)
with trafilatura's default settings and resiliparse's main-content mode on the same decoded HTML, and prints
pages/s on one core (extraction only; decoding is shared).
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from corpus.sources.html import decode_html, extract_main_text, parse_http_response
from corpus.sources.warc_records import WarcRecord, iter_warc_records


def shingles(text: str) -> Counter:
    tokens = re.findall(r"\w+", text)
    return Counter(tuple(tokens[i:i + 4]) for i in range(max(1, len(tokens) - 3))) if tokens else Counter()


def score(predictions: dict[str, str], truth: dict[str, str]) -> tuple[float, float, float]:
    tp = fp = fn = 0.0
    for page, predicted in predictions.items():
        gold, pred = shingles(truth[page]), shingles(predicted)
        t, f, n = sum((gold & pred).values()), sum((pred - gold).values()), sum((gold - pred).values())
        total = t + f + n
        if total:
            tp, fp, fn = tp + t / total, fp + f / total, fn + n / total
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return precision, recall, 2 * precision * recall / (precision + recall)


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data")
    truth = {k: v["articleBody"] for k, v in json.loads(
        (data / "eval/extraction/scrapinghub-aeb/ground-truth-part1.json").read_text(encoding="utf-8")).items()}
    pages: dict[str, str] = {}
    with gzip.open(data / "cc/warc/aeb-news-part1-94pages.warc.gz") as f:
        for rec in iter_warc_records(f):
            if isinstance(rec, WarcRecord) and rec.type == "response":
                http = parse_http_response(rec.body)
                page_id = rec.headers["warc-record-id"].strip("<>").rsplit(":", 1)[-1]
                pages[page_id] = decode_html(http.body, http.charset)
    import trafilatura
    from resiliparse.extract.html2text import extract_plain_text

    extractors = {
        "corpus hybrid (default)": extract_main_text,
        "corpus trafilatura mode": lambda html: extract_main_text(html, "trafilatura"),
        "corpus resiliparse mode": lambda html: extract_main_text(html, "resiliparse"),
        "trafilatura defaults": lambda html: trafilatura.extract(html) or "",
        "resiliparse main_content defaults": lambda html: extract_plain_text(html, main_content=True),
    }
    print(f"{len(pages)} pages")
    for name, extract in extractors.items():
        extract(next(iter(pages.values())))   # warm up imports and caches
        started = time.perf_counter()
        predictions = {page: extract(html) for page, html in pages.items()}
        seconds = time.perf_counter() - started
        precision, recall, f1 = score(predictions, truth)
        print(f"{name:58s} precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  "
              f"{len(pages) / seconds:6.1f} pages/s/core")


if __name__ == "__main__":
    main()
