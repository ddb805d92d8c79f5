"""Main-text extraction quality and speed on the Scrapinghub article-extraction benchmark pages.

Usage: python bench/extraction.py [../shared/data] [--pipeline] [--run COPIES [--only EXTRACTOR]]

The benchmark's own metric: tokens are `\\w+` runs; each text is a multiset of 4-token shingles; per page the true
positives, false positives and false negatives are normalised to sum to 1; precision and recall are averaged over
pages and F1 is their harmonic mean. Compares the reader's extractor (`corpus.sources.html.extract_main_text`)
with trafilatura's default settings and resiliparse's main-content mode on the same decoded HTML, and prints
pages/s on one core (extraction only; decoding is shared).

`--run COPIES [--only EXTRACTOR]` runs the whole `corpus run` (every stage, tokenizer training included,
DirectRunner on all cores) on COPIES variants of the 94 pages, each variant's paragraphs word-shuffled by its own seed (the same markup and
lengths to extract, text that no dedup stage removes), for each extractor: pages per CPU-second of the whole
process tree, which is pages/s per core used, with wall time and peak RSS.

`--pipeline` also times the pages through stages 1-6 as `corpus run` runs them (`PrepareUnit`: WARC reading, HTTP
and charset decoding, extraction in the time-budget helper process, normalization, language ID, the quality and
repetition rules, dedup keys), for each extractor: pages per CPU-second of the whole process tree (helper
included), which is pages/s per core used.
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


def main(data: Path) -> None:
    truth = {k: v["articleBody"] for k, v in json.loads(
        (data / "eval/extraction/scrapinghub-aeb/ground-truth-part1.json").read_text(encoding="utf-8")).items()}
    pages = benchmark_pages(data)
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


def pipeline_pages_per_cpu_second(warc: Path, extractor: str, copies: int = 10) -> tuple[int, float]:
    """(pages read, pages per CPU-second of this process and its helper) through stages 1-6 of one unit of
    `copies` concatenated copies of `warc` (gzip members concatenate; copies are only deduplicated after stage 6,
    so each is read, extracted and judged). The set-up (models, the helper's start) is measured alone and taken
    off: it is once per worker, not per page."""
    import resource
    import shutil
    import tempfile

    from corpus.config import config_from_dict
    from pipelines.build import key_settings
    from pipelines.transforms.prepare import PrepareUnit
    from pipelines.transforms.units import planned_units

    def cpu() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    work = Path(tempfile.mkdtemp())
    try:
        (work / "pages.warc.gz").write_bytes(warc.read_bytes() * copies)
        config = config_from_dict({"sources": [{"name": "web", "kind": "warc", "paths": ["pages.warc.gz"]}],
                                   "read": {"html_extractor": extractor}}, base_dir=str(work))
        settings = key_settings(config)
        elements = planned_units(config, settings, None)
        seconds, summaries = {}, []
        for run in ("set-up", "pages"):
            started = cpu()
            prepare = PrepareUnit(config, str(work / run), settings, None)
            prepare.setup()
            if run == "pages":
                summaries = [summary for element in elements for summary in prepare.process(element)]
            prepare.teardown()          # the helper ends, so its CPU time is in RUSAGE_CHILDREN
            seconds[run] = cpu() - started
        pages = sum(v[0] for summary in summaries for k, v in summary.counts
                    if k[0] == "funnel" and k[2] == "read" and k[3] == "in")
        return pages, pages / (seconds["pages"] - seconds["set-up"])
    finally:
        shutil.rmtree(work, ignore_errors=True)


_PLAIN_PARAGRAPH = re.compile(r"(<p[^>]*>)([^<]{40,})(</p>)", re.IGNORECASE)


def shuffled_variant(html: str, seed: int) -> str:
    """`html` with the words of every tag-free paragraph shuffled by `seed` (the same markup, new text)."""
    import random

    rng = random.Random(seed)

    def shuffle(match: re.Match) -> str:
        words = match.group(2).split()
        rng.shuffle(words)
        return match.group(1) + " ".join(words) + match.group(3)

    return _PLAIN_PARAGRAPH.sub(shuffle, html)


def write_variants(pages: dict[str, str], copies: int, path: Path) -> int:
    """A WARC of `copies` variants of every page (UTF-8, one gzip member per record); the number of pages."""
    with path.open("wb") as out:
        for copy in range(copies):
            for n, (page_id, html) in enumerate(sorted(pages.items())):
                body = html if copy == 0 else shuffled_variant(html, copy * 1000 + n)
                http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body.encode("utf-8")
                head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{copy:08d}-{page_id[:24]}>\r\n"
                        f"WARC-Target-URI: https://page.example/{copy}/{page_id}\r\nWARC-Date: 2019-11-20T00:00:00Z\r\n"
                        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n")
                out.write(gzip.compress(head.encode() + http + b"\r\n\r\n", compresslevel=1, mtime=0))
    return copies * len(pages)


def whole_run(pages: dict[str, str], copies: int, extractor: str) -> None:
    import shutil
    import tempfile

    from measure import run_measured

    work = Path(tempfile.mkdtemp())
    try:
        n_pages = write_variants(pages, copies, work / "pages.warc.gz")
        (work / "config.yaml").write_text(
            "sources:\n  - {name: web, kind: warc, paths: [pages.warc.gz]}\n"
            f"read: {{html_extractor: {extractor}}}\n")
        run = run_measured([sys.executable, "-m", "corpus.cli", "run", "--config", str(work / "config.yaml"),
                            "--out", str(work / "out")])
        if run.returncode != 0:
            raise SystemExit(run.stderr[-2000:])
        stats = json.loads((work / "out" / "stats.json").read_text())
        rows = sum(s["docs"] for s in stats["sources"].values())
        print(f"whole corpus run, {extractor:12s} {n_pages} pages ({rows} rows out): {run.seconds:.0f} s wall, "
              f"{run.cores_used:.2f} cores used, {n_pages / run.cpu_seconds:.1f} pages/s per core used, "
              f"peak RSS {run.peak_rss / 2**30:.2f} GB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def benchmark_pages(data: Path) -> dict[str, str]:
    """The benchmark's pages, decoded: record id -> HTML."""
    pages = {}
    with gzip.open(data / "cc/warc/aeb-news-part1-94pages.warc.gz") as f:
        for rec in iter_warc_records(f):
            if isinstance(rec, WarcRecord) and rec.type == "response":
                http = parse_http_response(rec.body)
                pages[rec.headers["warc-record-id"].strip("<>").rsplit(":", 1)[-1]] = decode_html(
                    http.body, http.charset)
    return pages


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--pipeline", action="store_true", help="time stages 1-6 for each extractor")
    parser.add_argument("--run", type=int, metavar="COPIES", help="a whole `corpus run` on COPIES variants")
    parser.add_argument("--only", choices=("hybrid", "trafilatura"), help="the whole run for this extractor only")
    args = parser.parse_args()
    main(args.data)
    if args.run:
        for extractor in ("hybrid", "trafilatura"):
            if args.only in (None, extractor):
                whole_run(benchmark_pages(args.data), args.run, extractor)
    if args.pipeline:
        for extractor in ("hybrid", "trafilatura", "resiliparse"):
            pages, rate = pipeline_pages_per_cpu_second(args.data / "cc/warc/aeb-news-part1-94pages.warc.gz",
                                                        extractor)
            print(f"inside the pipeline (stages 1-6), {extractor:12s} {pages} pages  {rate:6.1f} pages per CPU-second")
