"""Common Crawl (or any) WARC files: HTML responses -> main text, everything else skipped and counted by kind.

WARC 1.0/1.1 and the legacy 0.17/0.18 layouts (see `warc_records`). A response is a document when its payload is
HTML (by Content-Type, or by sniffing when the header is missing); requests, metadata, warcinfo, `dns:` records,
images, scripts and style sheets are `Skipped` under their record type or MIME type. A record cut off mid-body
still gives the text of what arrived, plus a counted `truncated_record` error. A document's id key is its
WARC-Record-ID, or its offset in the file for a record without one (the same however the file is split).
"""

from __future__ import annotations

from typing import BinaryIO, Iterator

from corpus.document import Document, Rejection
from corpus.sources.budget import DocumentTimeout, describe
from corpus.sources.base import DECOMPRESSION_ERRORS, Damaged, ReadContext, Skipped, make_document, raw_offset
from corpus.sources.html import (HTML_TYPES, decode_html, drop_script_blocks, extract_main_text, looks_like_html,
                                 parse_http_response)
from corpus.sources.warc_records import DamageReport, RecordError, WarcRecord, open_warc_piece


def _page(rec: WarcRecord, ctx: ReadContext) -> Document | Rejection | Skipped:
    uri = rec.target_uri or ""
    if uri.startswith("dns:"):
        return Skipped(ctx.source, "dns", len(rec.body))
    http = parse_http_response(rec.body)
    if http is None:
        return Skipped(ctx.source, "not_http", len(rec.body))
    mime = http.mime or ("text/html" if looks_like_html(http.body) else "unknown")
    if mime not in HTML_TYPES:
        return Skipped(ctx.source, mime, len(http.body))
    if http.status and not 200 <= http.status < 300:
        return Skipped(ctx.source, f"http_{http.status}", len(http.body))
    if len(http.body) > ctx.max_doc_bytes:
        return ctx.error("doc_too_large", rec.offset, f"{len(http.body)} bytes of HTML", n_bytes=len(http.body))
    html = drop_script_blocks(decode_html(http.body, http.charset))
    text = ctx.parse(extract_main_text, html, ctx.html_extractor)
    if not text.strip():
        return ctx.error("no_main_text", rec.offset, f"no main text in {uri}", n_bytes=len(http.body))
    return make_document(ctx, rec.record_id or rec.offset, text, url=uri or None, date=rec.date)


def _safe_page(rec: WarcRecord, ctx: ReadContext) -> Document | Rejection | Skipped:
    """`_page`, with a page past its time budget a `timeout` and anything else it raises a `reader_error` of this
    record: one page never ends a run."""
    try:
        return _page(rec, ctx)
    except DocumentTimeout:
        return ctx.error("timeout", rec.offset, f"extraction ran past {ctx.budget.seconds:g} s",
                         n_bytes=len(rec.body))
    except Exception as exc:  # noqa: BLE001 - parsers and extractors fail in ways nobody lists
        return ctx.error("reader_error", rec.offset, describe(exc), n_bytes=len(rec.body))


def read_warc(stream: BinaryIO, ctx: ReadContext) -> Iterator[Document | Rejection | Skipped | Damaged]:
    records, damage = open_warc_piece(stream, ctx)
    report = DamageReport(damage, ctx)
    try:
        for rec in records:
            if isinstance(rec, RecordError):
                # What arrived of a cut-off or mis-sized response is still its page; a corrupt member's is not.
                page = None
                if rec.partial is not None and rec.partial.type == "response" and not report.in_corrupt_member(rec):
                    page = _safe_page(rec.partial, ctx)
                kept = isinstance(page, Document)
                if kept:
                    yield page
                if (note := report.record(rec, kept)) is not None:
                    yield note
                continue
            if rec.type != "response":
                yield Skipped(ctx.source, rec.type or "untyped", len(rec.body))
                continue
            yield _safe_page(rec, ctx)
    except DECOMPRESSION_ERRORS as exc:
        yield ctx.error("corrupt_archive", raw_offset(stream), f"{type(exc).__name__}: {exc}")
    yield from report.end()
