"""Stage 1 readers: one module per input kind; each turns a file into Documents (and counted Rejections)."""

from __future__ import annotations

from typing import BinaryIO, Callable, Iterator

from corpus.document import Document, Rejection
from corpus.sources.base import CONTENT_VERDICTS, Damaged, ReadContext, Skipped, relative_name
from corpus.sources.books import read_book, read_text
from corpus.sources.budget import TimeBudget
from corpus.sources.tabular import read_jsonl, read_parquet
from corpus.sources.warc import read_warc
from corpus.sources.wet import read_wet
from corpus.sources.wikipedia import read_wikipedia

Reader = Callable[[BinaryIO, ReadContext], Iterator[Document | Rejection | Skipped | Damaged]]

READERS: dict[str, Reader] = {
    "jsonl": read_jsonl,
    "parquet": read_parquet,
    "wet": read_wet,
    "warc": read_warc,
    "wikipedia": read_wikipedia,
    "books": read_book,
    "text": read_text,
}


WARM_UP_PAGE = ("<html><body><article><h1>Warm up</h1><p>" + "A sentence to extract. " * 20
                + "</p></article></body></html>")
WARM_UP_WIKITEXT = "'''Warm''' [[up|up]] {{t}}."


def parse_budget(seconds: float) -> TimeBudget:
    """The per-document time budget of the readers' expensive parses, its helper warmed up on the parsers the
    readers call (so that their imports are not the first document's time)."""
    from corpus.sources.books import keep_book_body
    from corpus.sources.html import extract_main_text
    from corpus.sources.wikipedia import wikitext_to_text

    # Both HTML extractors, whichever the mode: hybrid extraction calls trafilatura on some pages.
    return TimeBudget(seconds, warm_up=((extract_main_text, (WARM_UP_PAGE, "resiliparse")),
                                        (extract_main_text, (WARM_UP_PAGE, "trafilatura")),
                                        (wikitext_to_text, (WARM_UP_WIKITEXT,)),
                                        (keep_book_body, (WARM_UP_WIKITEXT,))))


def reader_for(kind: str) -> Reader:
    try:
        return READERS[kind]
    except KeyError:
        raise NotImplementedError(f"source kind {kind!r} has no reader yet") from None


__all__ = ["CONTENT_VERDICTS", "READERS", "Damaged", "ReadContext", "Reader", "Skipped", "parse_budget", "reader_for", "relative_name"]
