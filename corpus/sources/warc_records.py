"""A small, forgiving WARC record parser (WARC 1.0/1.1 and the legacy 0.17/0.18 header layout).

Shared by the `wet` reader (conversion records) and the `warc` reader (response records). It yields records and
`RecordError`s; a cut-off record ends the file with an error, a garbled one is skipped by resyncing on the next
`WARC/` line.

`open_warc_piece` reads the records of one byte range (`ReadContext.start`/`end`): a plain file from the first
record header at or after `start`, a gzip-per-record file (Common Crawl's layout) from the first member that
decompresses to a record header; a record belongs to the range where its first raw byte (or its member) lies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from corpus.sources.base import (ReadContext, SalvagingDecompressor, compression, find_boundary, find_member,
                                 open_salvaging)

MAX_HEADER_LINES = 512
_LINE_THEN_RECORD = re.compile(rb"\nWARC/")


@dataclass
class WarcRecord:
    offset: int | str            # in the raw file; `R` or `R+k` in a compressed one (SalvagingDecompressor.position)
    version: str
    headers: dict[str, str]      # lower-cased names
    body: bytes

    @property
    def type(self) -> str:
        return self.headers.get("warc-type", "").lower()

    @property
    def target_uri(self) -> str | None:
        uri = self.headers.get("warc-target-uri")
        return uri.strip("<>") if uri else None

    @property
    def date(self) -> str | None:
        return self.headers.get("warc-date")

    @property
    def record_id(self) -> str | None:
        return self.headers.get("warc-record-id", "").strip("<>") or None


@dataclass
class RecordError:
    offset: int | str
    reason: str          # truncated_record | malformed_record
    message: str
    n_bytes: int = 0
    partial: "WarcRecord | None" = None   # a record cut off in its body: what did arrive


def starts_warc_record(data: bytes) -> bool:
    return data.startswith(b"WARC/")


def _read_headers(f: BinaryIO) -> tuple[dict[str, str], int, bool]:
    """The header lines after the version line, up to the blank line: (lower-cased headers, bytes, complete)."""
    headers: dict[str, str] = {}
    n_bytes = 0
    for _ in range(MAX_HEADER_LINES):
        line = f.readline()
        n_bytes += len(line)
        if not line:
            return headers, n_bytes, False
        if not line.strip():
            break
        name, sep, value = line.decode("utf-8", errors="replace").partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers, n_bytes, True


def iter_warc_records(f: BinaryIO, offset: int = 0, end: int | None = None) -> Iterator[WarcRecord | RecordError]:
    """Records of `f`, whose first byte lies at `offset`; with `end`, up to the first record header at or past
    `end` (the records from there on are the next piece's)."""
    while True:
        line = f.readline()
        if not line:
            return
        start = offset
        offset += len(line)
        if not line.strip():
            continue
        if not line.startswith(b"WARC/"):
            # Garbage between records: skip to the next record header and count one malformed record.
            skipped = len(line)
            while (line := f.readline()) and not line.startswith(b"WARC/"):
                skipped += len(line)
                offset += len(line)
            yield RecordError(start, "malformed_record", "bytes outside any WARC record", skipped)
            if not line:
                return
            start = offset
            offset += len(line)
        if end is not None and start >= end:
            return
        version = line.decode("ascii", errors="replace").strip()
        headers, n_bytes, complete = _read_headers(f)
        offset += n_bytes
        if not complete:
            yield RecordError(start, "truncated_record", "file ends inside the record header")
            return
        try:
            length = int(headers.get("content-length", ""))
        except ValueError:
            yield RecordError(start, "malformed_record", "missing or invalid Content-Length")
            continue
        body = f.read(length)
        offset += len(body)
        if len(body) < length:
            yield RecordError(start, "truncated_record",
                              f"Content-Length {length} but only {len(body)} bytes follow", len(body),
                              WarcRecord(start, version, headers, body))
            return
        yield WarcRecord(start, version, headers, body)


def _record_starts_at(f: BinaryIO, at: int) -> bool:
    """A `WARC/` line at `at` starts a record if its header is whole, has a Content-Length, and its block is
    followed by the next record or the end of the file: a `WARC/` line inside a body (a page about WARC) is not."""
    f.seek(at)
    if not f.readline().startswith(b"WARC/"):
        return False
    headers, _, complete = _read_headers(f)
    if not complete or not headers.get("content-length", "").isdigit():
        return False
    f.seek(int(headers["content-length"]), 1)
    after = f.read(64).lstrip(b"\r\n")
    return not after or after.startswith(b"WARC/")


def _labelled(records: Iterator[WarcRecord | RecordError], f: SalvagingDecompressor
              ) -> Iterator[WarcRecord | RecordError]:
    """Decompressed offsets renamed by their members, so they do not depend on where the read began."""
    for rec in records:
        rec.offset = f.position(int(rec.offset))
        if isinstance(rec, RecordError) and rec.partial is not None:
            rec.partial.offset = rec.offset
        yield rec


def _first_record(stream: BinaryIO, kind: str | None, start: int, end: int | None) -> int | None:
    if kind == "gz":
        return find_member(stream, "gz", start, end, starts_warc_record)
    # A record header starts a line: look for "\nWARC/" from the byte before `start`.
    found = find_boundary(stream, start - 1, None if end is None else end - 1, _LINE_THEN_RECORD,
                          lambda at: _record_starts_at(stream, at + 1))
    return None if found is None else found + 1


def open_warc_piece(stream: BinaryIO, ctx: ReadContext
                    ) -> tuple[Iterator[WarcRecord | RecordError], SalvagingDecompressor | None]:
    """The records of `ctx`'s byte range, and the decompressor that reports damage (None for a plain file).

    A `.bz2` or `.xz` file cannot be split: the piece that starts at 0 reads all of it, any other nothing."""
    kind = compression(ctx.path)
    if kind not in (None, "gz"):
        if ctx.start > 0:
            return iter(()), None
        f, damage = open_salvaging(stream, ctx.path)
        return _labelled(iter_warc_records(f), damage), damage   # type: ignore[arg-type]
    start = ctx.start
    if start > 0:
        found = _first_record(stream, kind, start, ctx.end)
        if found is None:
            return iter(()), None
        start = found
        stream.seek(start)
    if kind is None:
        return iter_warc_records(stream, start, ctx.end), None
    f, damage = open_salvaging(stream, ctx.path, start, ctx.end, starts_warc_record)
    return _labelled(iter_warc_records(f), damage), damage   # type: ignore[arg-type]
