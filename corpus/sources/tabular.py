"""Generic `jsonl` (optionally .gz/.bz2/.xz) and `parquet` sources: one document per row with a text column.

A row without an `id_field` value is named by where it lies: a JSONL line by its byte offset in the (decompressed)
file, so that ids are the same however a plain file is split into pieces; a Parquet row by its number.
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO, Iterator

from corpus.document import Document, Rejection
from corpus.sources.base import (DECOMPRESSION_ERRORS, ReadContext, compression, decode_utf8, make_document,
                                 open_salvaging)


def _row_to_document(row: dict[str, Any], ctx: ReadContext, position: int, offset: int | str
                     ) -> Document | Rejection:
    text = row.get(ctx.text_field)
    if not isinstance(text, str):
        return ctx.error("missing_text", offset, f"row has no string field {ctx.text_field!r}")
    if len(text) > ctx.max_doc_bytes:   # cheap pre-check in characters; bytes checked below
        return ctx.error("doc_too_large", offset, f"{len(text)} characters", n_bytes=len(text.encode()))
    n_bytes = len(text.encode("utf-8", errors="replace"))
    if n_bytes > ctx.max_doc_bytes:
        return ctx.error("doc_too_large", offset, f"{n_bytes} bytes", n_bytes=n_bytes)
    key: str | int = position
    if ctx.id_field and row.get(ctx.id_field) not in (None, ""):
        key = str(row[ctx.id_field])
    def opt(field: str | None) -> str | None:
        value = row.get(field) if field else None
        return str(value) if value not in (None, "") else None
    return make_document(ctx, key, text, url=opt(ctx.url_field), title=opt(ctx.title_field))


def read_jsonl(stream: BinaryIO, ctx: ReadContext) -> Iterator[Document | Rejection]:
    """One JSON object per line; a malformed line is a counted rejection and reading goes on.

    A range of a plain file reads the lines that start in it (a compressed file cannot be split: the piece that
    starts at 0 reads all of it)."""
    compressed = compression(ctx.path) is not None
    if compressed and ctx.start > 0:
        return
    end = None if compressed else ctx.end
    offset = ctx.start
    if offset > 0:
        # Hadoop's LineRecordReader: the line holding byte start-1 is the previous piece's, even when it is only
        # its newline, so skip through the first newline from there.
        stream.seek(offset - 1)
        offset += len(stream.readline()) - 1
    # A damaged or cut-off .gz/.bz2/.xz keeps every line before the damage, and the damage is counted once.
    f, damage = open_salvaging(stream, ctx.path)
    cap = ctx.max_doc_bytes * 2     # JSON escaping can double the size of the text a line holds
    cut_line: Rejection | None = None
    try:
        while raw := f.readline(cap + 1):
            line_offset = offset
            if end is not None and line_offset >= end:
                return
            offset += len(raw)
            if not raw.strip():
                continue
            if len(raw) > cap:
                # Too long to be a document: stream past the rest of the line, never holding it.
                while not raw.endswith(b"\n") and (raw := f.readline(1 << 20)):
                    offset += len(raw)
                size = offset - line_offset
                yield ctx.error("doc_too_large", line_offset, f"line of {size} bytes", n_bytes=size)
                continue
            if cut_line is not None:
                yield cut_line
                cut_line = None
            try:
                row = json.loads(decode_utf8(raw))
            except json.JSONDecodeError as exc:
                error = ctx.error("malformed_json", line_offset, str(exc), n_bytes=len(raw))
                if damage is None:
                    yield error
                else:     # held back one line: if the archive is cut off here, the cut is this line's damage
                    cut_line = error
                continue
            if not isinstance(row, dict):
                yield ctx.error("malformed_json", line_offset, "line is not a JSON object", n_bytes=len(raw))
                continue
            yield _row_to_document(row, ctx, line_offset, line_offset)
    except DECOMPRESSION_ERRORS as exc:
        yield ctx.error("corrupt_archive", offset, f"{type(exc).__name__}: {exc}")
    if damage is not None and damage.error is not None:
        # The line the data ends in is that damage: counted once, as the archive's.
        size = cut_line.n_bytes if cut_line is not None else 0
        yield ctx.error(damage.error[0], damage.error_at, damage.error[1], n_bytes=size)
    elif cut_line is not None:
        yield cut_line


def read_parquet(stream: BinaryIO, ctx: ReadContext) -> Iterator[Document | Rejection]:
    """Row by row through record batches, so a large file never sits in memory whole."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(stream)
    except (pa.ArrowException, OSError, ValueError) as exc:
        yield ctx.error("corrupt_file", 0, f"not a readable Parquet file: {exc}")
        return
    if ctx.text_field not in pf.schema_arrow.names:
        yield ctx.error("missing_text", 0, f"no column {ctx.text_field!r} (columns: {pf.schema_arrow.names})")
        return
    wanted = [c for c in (ctx.text_field, ctx.id_field, ctx.url_field, ctx.title_field)
              if c and c in pf.schema_arrow.names]
    index = 0
    try:
        for batch in pf.iter_batches(columns=wanted, batch_size=1024):
            for row in batch.to_pylist():
                index += 1
                yield _row_to_document(row, ctx, index, f"row{index}")
    except (pa.ArrowException, OSError, ValueError) as exc:
        yield ctx.error("corrupt_file", f"row{index}", f"{type(exc).__name__}: {exc}")
