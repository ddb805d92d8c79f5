"""Common Crawl WET files: `conversion` records hold the page's extracted plain text (UTF-8).

A document's id key is its WARC-Record-ID, or where a record has none its offset in the file (see
`open_warc_piece`), so ids are the same however the file is split into pieces.
"""

from __future__ import annotations

from typing import BinaryIO, Iterator

from corpus.document import Document, Rejection
from corpus.sources.base import DECOMPRESSION_ERRORS, ReadContext, decode_utf8, make_document
from corpus.sources.warc_records import RecordError, damage_errors, open_warc_piece


def read_wet(stream: BinaryIO, ctx: ReadContext) -> Iterator[Document | Rejection]:
    records, damage = open_warc_piece(stream, ctx)
    reported: set[int | str] = set()     # offsets of the records already rejected
    try:
        for rec in records:
            if isinstance(rec, RecordError):
                reported.add(rec.offset)
                partial = rec.partial
                if rec.reason == "bad_content_length" and partial is not None and partial.type == "conversion" \
                        and len(partial.body) <= ctx.max_doc_bytes:
                    # The block is whole, only its length was wrong: its text is the document. (A cut-off
                    # block is not kept: extracted text cut mid-sentence is no document.)
                    yield make_document(ctx, partial.record_id or partial.offset, decode_utf8(partial.body),
                                        url=partial.target_uri, date=partial.date)
                yield ctx.error(rec.reason, rec.offset, rec.message, n_bytes=rec.n_bytes)
                continue
            if rec.type != "conversion":
                continue   # warcinfo/metadata records carry no document
            if len(rec.body) > ctx.max_doc_bytes:
                yield ctx.error("doc_too_large", rec.offset, f"{len(rec.body)} bytes", n_bytes=len(rec.body))
                continue
            yield make_document(ctx, rec.record_id or rec.offset, decode_utf8(rec.body), url=rec.target_uri,
                                date=rec.date)
    except DECOMPRESSION_ERRORS as exc:
        yield ctx.error("corrupt_archive", "end", f"{type(exc).__name__}: {exc}")
    yield from damage_errors(damage, ctx, reported)
