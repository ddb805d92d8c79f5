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

from corpus.document import Rejection
from corpus.sources.base import (Damaged, ReadContext, SalvagingDecompressor, compression, find_boundary, find_member,
                                 open_salvaging)

MAX_HEADER_LINES = 512
MAX_LINE_BYTES = 1 << 16       # a header line, or a stretch of garbage between records, is read this much at a time
BLOCK_SLACK = 1 << 16          # a record block may exceed read.max_doc_bytes by its HTTP headers
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
    reason: str          # truncated_record | malformed_record | bad_content_length
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
        line = f.readline(MAX_LINE_BYTES)
        n_bytes += len(line)
        if not line:
            return headers, n_bytes, False
        if not line.strip():
            break
        name, sep, value = line.decode("utf-8", errors="replace").partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers, n_bytes, True


class _Pushback:
    """A stream that bytes read too far can be handed back to (a record whose Content-Length ran past its end)."""

    def __init__(self, f: BinaryIO):
        self._f, self._back = f, b""

    def unread(self, data: bytes) -> None:
        self._back = data + self._back

    def readline(self, limit: int = -1) -> bytes:
        if not self._back:
            return self._f.readline(limit)
        line, newline, rest = self._back.partition(b"\n")
        if newline:
            self._back = rest
            return line + newline
        self._back = b""
        if 0 <= limit <= len(line):
            return line
        return line + self._f.readline(-1 if limit < 0 else limit - len(line))

    def read(self, n: int) -> bytes:
        if self._back:
            head, self._back = self._back[:n], self._back[n:]
            return head + (self._f.read(n - len(head)) if len(head) < n else b"")
        return self._f.read(n)


# A record ends with two newlines; a block that holds them followed by a WARC version line and record headers has
# run into the next record.
_NEXT_RECORD = re.compile(rb"\r?\n\r?\n(WARC/\d+\.\d+\r?\n)")
_RECORD_HEADERS = (b"warc-type:", b"warc-record-id:")


def _next_record_in(block: bytes) -> int | None:
    """Where a record's block runs into the next record (a Content-Length too long, or a corrupt gzip member
    resynchronised on the next one), as the offset of the next record's `WARC/` line; None if it does not."""
    if b"\nWARC/" not in block:      # nearly every block: one fast scan
        return None
    for match in _NEXT_RECORD.finditer(block):
        head = block[match.end(1):match.end(1) + 2048].lower()
        if any(name in head for name in _RECORD_HEADERS) and b"content-length:" in head:
            return match.start(1)
    return None


PEEK_BYTES = 2048


def _misplaced_end(f: "_Pushback", body: bytes, length: int) -> int | None:
    """Where the next record really starts, counted from the block's start, when the Content-Length is wrong;
    None when it is right. The length is trusted when the next record (or the end of the file) follows the whole block,
    so a page quoting a WARC header is never cut; otherwise the next record header is looked for in the block and
    a little past it (a length a few bytes too long or too short)."""
    after = f.read(PEEK_BYTES)
    f.unread(after)
    rest = after.lstrip(b"\r\n")
    if len(body) == length and (not rest or rest.startswith(b"WARC/")):
        return None
    found = _next_record_in(body + after)
    return None if found is None or found == 0 else found


def iter_warc_records(f: BinaryIO, offset: int = 0, end: int | None = None, max_block_bytes: int | None = None
                      ) -> Iterator[WarcRecord | RecordError]:
    """Records of `f`, whose first byte lies at `offset`; with `end`, up to the first record header at or past
    `end` (the records from there on are the next piece's). A block longer than `max_block_bytes` is skipped
    while it streams past (never held) and counted as `doc_too_large`; so is a line of garbage."""
    f = _Pushback(f)   # type: ignore[assignment]
    while True:
        line = f.readline(MAX_LINE_BYTES)
        if not line:
            return
        start = offset
        offset += len(line)
        if not line.strip():
            continue
        if not line.startswith(b"WARC/"):
            # Garbage between records: skip to the next record header and count one malformed record.
            skipped = len(line)
            while (line := f.readline(MAX_LINE_BYTES)) and not line.startswith(b"WARC/"):
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
        if max_block_bytes is not None and length > max_block_bytes:
            skipped, resynced = _skip(f, length)
            offset += skipped
            if resynced:   # a garbage length: the next record turned up inside the "block"
                yield RecordError(start, "bad_content_length", f"Content-Length {length}, but the next record "
                                  f"starts {skipped} bytes into the block", skipped)
                continue
            yield RecordError(start, "doc_too_large", f"a block of {length} bytes (read.max_doc_bytes)", skipped)
            if skipped < length:
                return
            continue
        body = f.read(length)
        offset += len(body)
        cut = _misplaced_end(f, body, length)
        if cut is not None:
            # Resynchronise on the next record's header: what precedes it is this record's block.
            block = (body + f.read(cut - len(body))) if cut > len(body) else body[:cut]
            if cut < len(body):
                f.unread(body[cut:])
            offset += cut - len(body)
            yield RecordError(start, "bad_content_length",
                              f"Content-Length {length}, but the next record starts {cut} bytes into the block",
                              cut, WarcRecord(start, version, headers, block.rstrip(b"\r\n")))
            continue
        if len(body) < length:
            yield RecordError(start, "truncated_record",
                              f"Content-Length {length} but only {len(body)} bytes follow", len(body),
                              WarcRecord(start, version, headers, body))
            return
        yield WarcRecord(start, version, headers, body)


def _skip(f: _Pushback, n: int) -> tuple[int, bool]:
    """Stream past an `n`-byte block a chunk at a time, never holding it: (bytes skipped, whether a record header
    turned up inside it first, in which case the skipping stops there and the header is read next)."""
    done, tail = 0, b""
    while done < n and (chunk := f.read(min(1 << 20, n - done))):
        window = tail + chunk
        found = _next_record_in(window)
        if found is not None and found >= len(tail):
            keep = found - len(tail)
            f.unread(chunk[keep:])
            return done + keep, True
        done += len(chunk)
        tail = chunk[-PEEK_BYTES:]
    return done, False


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
    cap = ctx.max_doc_bytes + BLOCK_SLACK
    if kind not in (None, "gz"):
        if ctx.start > 0:
            return iter(()), None
        f, damage = open_salvaging(stream, ctx.path)
        return _labelled(iter_warc_records(f, max_block_bytes=cap), damage), damage   # type: ignore[arg-type]
    start = ctx.start
    if start > 0:
        found = _first_record(stream, kind, start, ctx.end)
        if found is None:
            return iter(()), None
        start = found
        stream.seek(start)
    if kind is None:
        return iter_warc_records(stream, start, ctx.end, cap), None
    f, damage = open_salvaging(stream, ctx.path, start, ctx.end, starts_warc_record)
    return _labelled(iter_warc_records(f, max_block_bytes=cap), damage), damage   # type: ignore[arg-type]


class DamageReport:
    """Each damaged record of a piece reported once (issue 14): a record in a corrupt gzip member is that member's
    `corrupt_archive`, a record cut off by the archive's end is the archive's `truncated_archive`, anything else
    its own reason. Where the record's document was kept anyway, the damage is a `Damaged` note, not a second
    input."""

    def __init__(self, damage: SalvagingDecompressor | None, ctx: ReadContext):
        self._damage, self._ctx = damage, ctx
        self._reported: set[int | str] = set()
        self._cut_kept = False

    def in_corrupt_member(self, rec: RecordError) -> bool:
        return self._damage is not None and any(at == rec.offset for at, _, _ in self._damage.damaged)

    def record(self, rec: RecordError, kept: bool) -> Rejection | Damaged | None:
        self._reported.add(rec.offset)
        ctx = self._ctx
        if self.in_corrupt_member(rec):
            return ctx.error("corrupt_archive", rec.offset, f"in a corrupt gzip member: {rec.message}", rec.n_bytes)
        if rec.reason == "truncated_record" and self._damage is not None and self._damage.error is not None:
            self._cut_kept = kept      # the archive's own truncation, reported once by `end`
            return None
        if kept:
            return ctx.damaged(rec.reason, rec.offset, rec.message, rec.n_bytes)
        return ctx.error(rec.reason, rec.offset, rec.message, n_bytes=rec.n_bytes)

    def end(self) -> Iterator[Rejection | Damaged]:
        """The piece's compressed damage: each corrupt member no record reported, then a cut-off end."""
        damage, ctx = self._damage, self._ctx
        if damage is None:
            return
        for at, n_bytes, message in damage.damaged:
            if at not in self._reported:
                yield ctx.error("corrupt_archive", at, f"corrupt gzip member ({n_bytes} bytes skipped): {message}",
                                n_bytes=n_bytes)
        if damage.error is not None:
            reason, message = damage.error
            yield (ctx.damaged if self._cut_kept else ctx.error)(reason, damage.error_at, message)
