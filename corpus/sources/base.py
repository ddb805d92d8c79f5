"""What every reader shares: the read context, decompression, decoding and counted read errors.

A reader is a generator `read_x(stream, ctx) -> Iterator[Document | Rejection]`: it never raises on bad input;
it yields a `Rejection` (stage `read`, a named reason, file and offset in `detail`) and goes on where it can.

A read covers the byte range `[ctx.start, ctx.end)` of the raw file (`corpus.sources.units` plans the ranges): the
records whose first byte lies in it. The default range is the whole file. Splittable readers find their first
record boundary themselves (`find_boundary`, `find_member`) and read the last record whole even when it runs past
`end`, so that the pieces of a file read every record exactly once.
"""

from __future__ import annotations

import bisect
import bz2
import gzip
import io
import lzma
import re
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Callable

from corpus.document import Document, Rejection
from corpus.ids import document_id, read_error_id
from corpus.sources.budget import TimeBudget

GLOB_CHARS = "*?["


@dataclass(frozen=True)
class ReadContext:
    source: str
    path: str                  # the file as matched (local path or URL)
    rel: str                   # the path below the pattern's fixed prefix; stable part of document ids
    max_doc_bytes: int = 10_000_000
    text_field: str = "text"
    id_field: str | None = None
    url_field: str | None = "url"
    title_field: str | None = "title"
    html_extractor: str = "hybrid"
    budget: TimeBudget | None = None   # per-document time limit of the expensive parses; None: none
    start: int = 0             # the raw byte range [start, end) to read: the records whose first byte lies in it
    end: int | None = None     # None: to the end of the file

    def doc_id(self, key: str | int | None = None) -> str:
        return document_id(self.source, self.rel, key)

    def parse(self, fn: Callable[..., str], *args) -> str:
        """`fn(*args)` (an extractor or markup cleaner) within the per-document time budget: `DocumentTimeout`
        past it."""
        return fn(*args) if self.budget is None else self.budget.run(fn, *args)

    def damaged(self, reason: str, offset: int | str, message: str, n_bytes: int = 0) -> "Damaged":
        return Damaged(self.source, reason, f"{self.path}@{offset}: {message}", n_bytes)

    def error(self, reason: str, offset: int | str, message: str, n_bytes: int = 0, text: str = "") -> Rejection:
        """A record that did not become a document: damage (logged where it is counted), or one of
        CONTENT_VERDICTS (only counted)."""
        return Rejection(id=read_error_id(self.source, self.rel, offset), source=self.source, stage="read",
                         reason=reason, n_bytes=n_bytes, text=text, detail=f"{self.path}@{offset}: {message}")


# Read rejections that are verdicts on sound input, not damage: a page with no article, a wiki page that is all
# markup. Counted and kept in rejects like any drop, but no warning each: a crawl has millions of such pages.
CONTENT_VERDICTS = frozenset({"no_main_text", "no_text"})


def relative_name(pattern: str, path: str) -> str:
    """`books/**/*.txt` matched as `/x/books/en/a.txt` -> `en/a.txt`; a plain file -> its basename."""
    cut = min((pattern.index(c) for c in GLOB_CHARS if c in pattern), default=None)
    if cut is None:
        return path.replace("\\", "/").rsplit("/", 1)[-1]
    prefix = pattern[:cut].replace("\\", "/").rsplit("/", 1)[0] + "/"
    norm = path.replace("\\", "/")
    return norm[len(prefix):] if norm.startswith(prefix) else norm.rsplit("/", 1)[-1]


def compression(path: str) -> str | None:
    """The compression a file's extension names: gz, bz2, xz, or None."""
    name = path.lower()
    return next((kind for kind in ("gz", "bz2", "xz") if name.endswith("." + kind)), None)


def open_decompressed(stream: BinaryIO, path: str) -> BinaryIO:
    """Wrap by extension: .gz (multi-member), .bz2 (multi-stream), .xz; anything else as is."""
    kind = compression(path)
    if kind == "gz":
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    if kind == "bz2":
        return bz2.BZ2File(stream, mode="rb")  # type: ignore[return-value]
    if kind == "xz":
        return lzma.LZMAFile(stream, mode="rb")  # type: ignore[return-value]
    return stream


# What decompressors raise on a corrupt or cut-off archive.
DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, ValueError)


def raw_offset(stream: BinaryIO) -> int | str:
    """Where reading of the raw file stopped (an archive error's offset), or "end" for a stream that cannot say."""
    try:
        return stream.tell()
    except (OSError, ValueError, AttributeError):
        return "end"


def decode_utf8(data: bytes) -> str:
    """UTF-8 (BOM dropped); undecodable bytes become U+FFFD, which normalization counts and repairs or rejects."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="replace")


def looks_binary(data: bytes) -> bool:
    """More than 1% NUL bytes or 5% control bytes in the first 8 KB: not a text file (a stray NUL in a book is
    damage, not a sign of binary; UTF-16 is told apart before this is asked)."""
    head = data[:8192]
    if not head:
        return False
    if head.count(0) > 0.01 * len(head):
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls / len(head) > 0.05


def read_capped(stream: BinaryIO, cap: int) -> tuple[bytes, bool, int]:
    """Read at most `cap` bytes; returns (data, too_large, total bytes seen). Streams past the cap to count."""
    data = stream.read(cap + 1)
    if len(data) <= cap:
        return data, False, len(data)
    total = len(data)
    while chunk := stream.read(1 << 20):
        total += len(chunk)
    return b"", True, total


def make_document(ctx: ReadContext, key: str | int | None, text: str, **fields) -> Document:
    return Document(id=ctx.doc_id(key), source=ctx.source, text=text, **fields)


@dataclass(frozen=True)
class Damaged:
    """A document that was kept although its record arrived damaged (cut off, mis-sized): the damage is counted in
    `stats.json` (`read_damaged`) and logged with file and offset, but the record is one input, not two."""

    source: str
    reason: str        # truncated_record | truncated_archive | bad_content_length | corrupt_archive | book_cleaning_failed
    detail: str        # file@offset: what happened
    n_bytes: int = 0


@dataclass(frozen=True)
class Skipped:
    """A record that is not a document by design (a WARC request, an image, a redirect page): counted by kind in
    `stats.json` (`read_skipped`), never a rejection."""

    source: str
    kind: str          # e.g. "request", "metadata", "image/png", "dns"
    n_bytes: int = 0


PROBE_BYTES = 64   # a member's first output bytes: enough to tell whether it starts a record
RECORD_END = b"\r\n\r\n"   # put between a corrupt member's output and the next member's (see `_resync`)


class SalvagingDecompressor(io.RawIOBase):
    """Streaming .gz/.bz2/.xz decompression that keeps everything before damage instead of losing it.

    `gzip.GzipFile` and friends raise on a cut-off archive and lose the bytes decoded in the failing read; this
    decodes chunk by chunk, so a reader gets every byte up to the cut and then a clean end of file, and `error`
    says what happened (`truncated_archive` or `corrupt_archive`). Multi-member gzip (one member per WARC record)
    and multi-stream bz2 are read member after member.

    For a range read, `raw` is positioned at `start`, a member start. With `end` set, decompression ends before
    the first member that begins at raw offset >= `end` and whose first output bytes satisfy `starts_record`
    (a WARC header, a `<page>`): that member is the next piece's. `stopped` then says so (the file goes on).
    `members` records where each member began, so `position` can name a decompressed offset in raw bytes."""

    CHUNK = 1 << 16
    # Output per decompress call: a tiny archive of one huge line (1 GiB of `A`) never inflates at once (issue 14).
    OUT_CHUNK = 1 << 20

    def __init__(self, raw: BinaryIO, kind: str, start: int = 0, end: int | None = None,
                 starts_record: Callable[[bytes], bool] | None = None):
        super().__init__()
        self._raw, self._kind = raw, kind
        self._end, self._starts_record = end, starts_record
        self._dec = self._new()
        self._pending = b""
        self._taken = 0             # bytes of `_pending` already read
        self._leftover = b""        # raw bytes to decompress before reading more
        self._draining = False      # the decompressor may hold more output for the input it already took
        self._in_member = False
        self._done = False
        self._next_raw = start      # raw offset of the next byte to decompress (the leftover's first byte)
        self._produced = 0          # decompressed bytes so far
        self._held: bytes | None = None   # a member past `end`: its output waits until we know who owns it
        self.members: list[tuple[int, int]] = []   # (decompressed offset, raw offset) of each member read
        self.stopped = False
        self.error: tuple[str, str] | None = None    # (reason, message)
        self.error_at = 0   # raw offset of the error: where the data ends, or the start of the corrupt member
        self.damaged: list[tuple[int, int, str]] = []  # (raw offset, raw bytes, message) of corrupt members skipped

    def _new(self):
        if self._kind == "gz":
            return zlib.decompressobj(31)
        if self._kind == "bz2":
            return bz2.BZ2Decompressor()
        return lzma.LZMADecompressor()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._taken >= len(self._pending) and not self._done:
            self._pending, self._taken = b"", 0      # `_fill` appends only to a spent buffer
            self._fill()
        n = min(len(buffer), len(self._pending) - self._taken)
        buffer[:n] = memoryview(self._pending)[self._taken:self._taken + n]
        self._taken += n
        return n

    def position(self, offset: int) -> int | str:
        """A decompressed offset named by its member: `R` (the member at raw byte R starts there) or `R+k` (k
        decompressed bytes into it). The same whichever piece read it; Common Crawl's index names records by R."""
        i = bisect.bisect_right(self.members, (offset, float("inf"))) - 1
        if i < 0:
            return offset
        out_at, raw_at = self.members[i]
        return raw_at if offset == out_at else f"{raw_at}+{offset - out_at}"

    def _release(self) -> None:
        self._pending += self._held or b""
        self._held = None

    def _fill(self) -> None:
        chunk_at = self._next_raw
        if self._draining:
            chunk = b""
        else:
            chunk, self._leftover = (self._leftover or self._raw.read(self.CHUNK)), b""
        self._next_raw += len(chunk)
        if not chunk and not self._draining:
            self._release()   # a member past `end` too short to start a record stays with this piece
            if self._in_member:
                self.error = ("truncated_archive", f"the {self._kind} data ends inside a compressed member")
                self.error_at = chunk_at      # where the raw data ends
            self._done = True
            return
        if not self._in_member:
            if not chunk.strip(b"\x00"):
                return   # zero padding after the last member, as some writers add
            self.members.append((self._produced, chunk_at))
            if self._end is not None and chunk_at >= self._end:
                self._held = b""
        try:
            out = self._dec.decompress(chunk, self.OUT_CHUNK)
        except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError) as exc:
            resumable = self._kind == "gz" and self._starts_record is not None
            if resumable and self._held is not None and self._next_piece_takes(self.members[-1][1]):
                # A member past `end` that the next piece takes as its first (its probe decodes a record start
                # before the damage): the damage is that piece's to report, once.
                self.members.pop()
                self._held, self.stopped, self._done = None, True, True
                return
            if resumable and self._resync(f"{type(exc).__name__}: {exc}"):
                return
            self._release()
            self.error = ("corrupt_archive", f"{type(exc).__name__}: {exc}")
            self.error_at = self.members[-1][1] if self.members else chunk_at
            self._done = True
            return
        self._in_member = True
        if self._kind == "gz":
            # What zlib did not take for want of output room is the next call's input.
            self._leftover = self._dec.unconsumed_tail
            self._next_raw -= len(self._leftover)
            # A full output with all input taken may leave output inside zlib: ask again before reading more.
            self._draining = not self._dec.eof and not self._leftover and len(out) == self.OUT_CHUNK
        else:
            # `needs_input` alone is not enough: bz2 reports it once its input is used up, while its current block
            # may still hold output. A full output means ask again (an empty answer then ends the drain).
            self._draining = not self._dec.eof and (not self._dec.needs_input or len(out) == self.OUT_CHUNK)
        self._produced += len(out)
        if self._held is None:
            self._pending += out
        else:
            self._held += out
            if len(self._held) >= PROBE_BYTES or self._dec.eof:
                if self._starts_record is not None and self._starts_record(self._held[:PROBE_BYTES]):
                    self.members.pop()
                    self._held, self.stopped, self._done = None, True, True
                    return
                self._release()
        if self._dec.eof:
            self._leftover = self._dec.unused_data
            self._next_raw -= len(self._leftover)
            self._dec = self._new()
            self._in_member = False

    def _next_piece_takes(self, member_at: int) -> bool:
        """Whether `find_member`, as the next piece runs it, starts at the member at `member_at`."""
        resume = self._raw.tell()
        try:
            return find_member(self._raw, self._kind, member_at, member_at + 1, self._starts_record) == member_at
        finally:
            self._raw.seek(resume)

    def _resync(self, message: str) -> bool:
        """A corrupt gzip member of a record file: go on at the next member that starts a record (gzip-per-record
        files, as Common Crawl ships WARC and WET, lose one record, not the rest of the file). The damaged span
        is recorded in `damaged`; False when no record member follows before `end`."""
        member_at = self.members[-1][1] if self.members else self._next_raw
        found = find_member(self._raw, "gz", member_at + 1, self._end, self._starts_record)
        if found is None:
            return False
        self.damaged.append((member_at, found - member_at, message))
        # End the damaged record where the next one starts: a record's blank-line end before the next member's
        # `WARC/` header lets the reader cut the damaged block there (and it never keeps a corrupt member's page).
        self._pending += RECORD_END
        self._produced += len(RECORD_END)
        self._raw.seek(found)
        self._next_raw, self._leftover = found, b""
        self._dec, self._in_member, self._draining = self._new(), False, False
        return True


def open_salvaging(stream: BinaryIO, path: str, start: int = 0, end: int | None = None,
                   starts_record: Callable[[bytes], bool] | None = None
                   ) -> tuple[BinaryIO, SalvagingDecompressor | None]:
    """Like `open_decompressed`, keeping what precedes damage; the second value reports the damage, if any.
    `start`, `end` and `starts_record` bound a range read of a compressed file (see `SalvagingDecompressor`)."""
    kind = compression(path)
    if kind is None:
        return stream, None
    raw = SalvagingDecompressor(stream, kind, start, end, starts_record)
    return io.BufferedReader(raw, buffer_size=1 << 16), raw  # type: ignore[return-value]


# ---------------------------------------------------------------- finding the first record of a range

SCAN_BYTES = 1 << 20
_SCAN_OVERLAP = 64         # longer than any boundary pattern, so none is missed across two scan blocks
# A gzip member header: magic and the deflate method (RFC 1952 section 2.3).
GZIP_MEMBER = re.compile(rb"\x1f\x8b\x08")
# A bzip2 stream header and its first block's magic, pi in BCD; a stream starts byte-aligned, blocks need not.
BZ2_STREAM = re.compile(rb"BZh[1-9]\x31\x41\x59\x26\x53\x59")


def find_boundary(stream: BinaryIO, start: int, end: int | None, pattern: re.Pattern[bytes],
                  accept: Callable[[int], bool]) -> int | None:
    """The first raw offset `at` in [start, end) (end None: to the end of the file) where `pattern` matches and
    `accept(at)` holds (it may seek `stream`); None if there is none. Reads blocks of `SCAN_BYTES`."""
    pos = start
    while end is None or pos < end:
        stream.seek(pos)
        block = stream.read(SCAN_BYTES + _SCAN_OVERLAP)
        last = len(block) < SCAN_BYTES + _SCAN_OVERLAP
        for match in pattern.finditer(block):
            if not last and match.start() >= SCAN_BYTES:
                break   # found again at the start of the next block
            at = pos + match.start()
            if end is not None and at >= end:
                return None
            if accept(at):
                return at
        if last:
            return None
        pos += SCAN_BYTES
    return None


def find_member(stream: BinaryIO, kind: str, start: int, end: int | None,
                starts_record: Callable[[bytes], bool]) -> int | None:
    """The first raw offset in [start, end) where a gz member or bz2 stream begins whose output starts a record.

    A candidate header is checked by decompressing its first bytes: inside compressed data the gzip magic turns up
    by chance every 16 MB or so, and a stream of a bz2 file written in arbitrary slices (pbzip2) need not start a
    record; either way the bytes belong to the member being read before them."""
    def starts_a_record(at: int) -> bool:
        stream.seek(at)
        dec = zlib.decompressobj(31) if kind == "gz" else bz2.BZ2Decompressor()
        out, fed = b"", 0
        while len(out) < PROBE_BYTES and fed < 2 * SCAN_BYTES:   # a bz2 block compresses to < 1 MB
            chunk = stream.read(SalvagingDecompressor.CHUNK)
            if not chunk:
                break
            fed += len(chunk)
            try:
                out += dec.decompress(chunk, PROBE_BYTES - len(out))
            except (zlib.error, OSError, EOFError, ValueError):
                return False
            if dec.eof:
                break
        return starts_record(out)

    return find_boundary(stream, start, end, GZIP_MEMBER if kind == "gz" else BZ2_STREAM, starts_a_record)
