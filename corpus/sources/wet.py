"""Common Crawl WET files: `conversion` records hold the page's extracted plain text (UTF-8).

A document's id key is its WARC-Record-ID, or where a record has none its offset in the file (see
`open_warc_piece`), so ids are the same however the file is split into pieces.
"""

from __future__ import annotations

from typing import BinaryIO, Iterator

from corpus.document import Document, Rejection
from corpus.sources.base import (DECOMPRESSION_ERRORS, Damaged, ReadContext, decode_utf8, make_document,
                                 raw_offset)
from corpus.sources.warc_records import DamageReport, RecordError, open_warc_piece


def read_wet(stream: BinaryIO, ctx: ReadContext) -> Iterator[Document | Rejection | Damaged]:
    records, damage = open_warc_piece(stream, ctx)
    report = DamageReport(damage, ctx)
    try:
        for rec in records:
            if isinstance(rec, RecordError):
                partial = rec.partial
                kept = (rec.reason == "bad_content_length" and partial is not None and partial.type == "conversion"
                        and len(partial.body) <= ctx.max_doc_bytes and not report.in_corrupt_member(rec))
                if kept:
                    # The block is whole, only its length was wrong: its text is the document. (A cut-off block
                    # is not kept: extracted text cut mid-sentence is no document.)
                    yield make_document(ctx, partial.record_id or partial.offset, decode_utf8(partial.body),
                                        url=partial.target_uri, date=partial.date)
                if (note := report.record(rec, kept)) is not None:
                    yield note
                continue
            if rec.type != "conversion":
                continue   # warcinfo/metadata records carry no document
            if len(rec.body) > ctx.max_doc_bytes:
                yield ctx.error("doc_too_large", rec.offset, f"{len(rec.body)} bytes", n_bytes=len(rec.body))
                continue
            yield make_document(ctx, rec.record_id or rec.offset, decode_utf8(rec.body), url=rec.target_uri,
                                date=rec.date)
    except DECOMPRESSION_ERRORS as exc:
        yield ctx.error("corrupt_archive", raw_offset(stream), f"{type(exc).__name__}: {exc}")
    yield from report.end()
