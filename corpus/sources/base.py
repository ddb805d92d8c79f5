"""What every reader shares: the read context, decompression, decoding and counted read errors.

A reader is a generator `read_x(stream, ctx) -> Iterator[Document | Rejection]`: it never raises on bad input;
it yields a `Rejection` (stage `read`, a named reason, file and offset in `detail`) and goes on where it can.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from corpus.document import Document, Rejection

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
    html_extractor: str = "trafilatura"

    def doc_id(self, key: str | int | None = None) -> str:
        return f"{self.source}/{self.rel}" + ("" if key is None else f"#{key}")

    def error(self, reason: str, offset: int | str, message: str, n_bytes: int = 0, text: str = "") -> Rejection:
        return Rejection(id=f"{self.source}/{self.rel}@{offset}", source=self.source, stage="read", reason=reason,
                         n_bytes=n_bytes, text=text, detail=f"{self.path}@{offset}: {message}")


def relative_name(pattern: str, path: str) -> str:
    """`books/**/*.txt` matched as `/x/books/en/a.txt` -> `en/a.txt`; a plain file -> its basename."""
    cut = min((pattern.index(c) for c in GLOB_CHARS if c in pattern), default=None)
    if cut is None:
        return path.replace("\\", "/").rsplit("/", 1)[-1]
    prefix = pattern[:cut].replace("\\", "/").rsplit("/", 1)[0] + "/"
    norm = path.replace("\\", "/")
    return norm[len(prefix):] if norm.startswith(prefix) else norm.rsplit("/", 1)[-1]


def open_decompressed(stream: BinaryIO, path: str) -> BinaryIO:
    """Wrap by extension: .gz (multi-member), .bz2 (multi-stream), .xz; anything else as is."""
    name = path.lower()
    if name.endswith(".gz"):
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    if name.endswith(".bz2"):
        return bz2.BZ2File(stream, mode="rb")  # type: ignore[return-value]
    if name.endswith(".xz"):
        return lzma.LZMAFile(stream, mode="rb")  # type: ignore[return-value]
    return stream


# What decompressors raise on a corrupt or cut-off archive.
DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, ValueError)


def decode_utf8(data: bytes) -> str:
    """UTF-8 (BOM dropped); undecodable bytes become U+FFFD, which normalization counts and repairs or rejects."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="replace")


def looks_binary(data: bytes) -> bool:
    """NUL bytes or a high share of control bytes in the first 8 KB: not a text file."""
    head = data[:8192]
    if not head:
        return False
    if b"\x00" in head:
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
class Skipped:
    """A record that is not a document by design (a WARC request, an image, a redirect page): counted by kind in
    `stats.json` (`read_skipped`), never a rejection."""

    source: str
    kind: str          # e.g. "request", "metadata", "image/png", "dns"
    n_bytes: int = 0


class SalvagingDecompressor(io.RawIOBase):
    """Streaming .gz/.bz2/.xz decompression that keeps everything before damage instead of losing it.

    `gzip.GzipFile` and friends raise on a cut-off archive and lose the bytes decoded in the failing read; this
    decodes chunk by chunk, so a reader gets every byte up to the cut and then a clean end of file, and `error`
    says what happened (`truncated_archive` or `corrupt_archive`). Multi-member gzip (one member per WARC record)
    and multi-stream bz2 are read member after member."""

    CHUNK = 1 << 16

    def __init__(self, raw: BinaryIO, kind: str):
        super().__init__()
        self._raw, self._kind = raw, kind
        self._dec = self._new()
        self._pending = b""
        self._leftover = b""
        self._in_member = False
        self._done = False
        self.error: tuple[str, str] | None = None    # (reason, message)

    def _new(self):
        if self._kind == "gz":
            return zlib.decompressobj(31)
        if self._kind == "bz2":
            return bz2.BZ2Decompressor()
        return lzma.LZMADecompressor()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending and not self._done:
            self._fill()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _fill(self) -> None:
        chunk, self._leftover = (self._leftover or self._raw.read(self.CHUNK)), b""
        if not chunk:
            if self._in_member:
                self.error = ("truncated_archive", f"the {self._kind} data ends inside a compressed member")
            self._done = True
            return
        if not self._in_member and not chunk.strip(b"\x00"):
            return   # zero padding after the last member, as some writers add
        try:
            out = self._dec.decompress(chunk)
        except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError) as exc:
            self.error = ("corrupt_archive", f"{type(exc).__name__}: {exc}")
            self._done = True
            return
        self._in_member = True
        self._pending += out
        if self._dec.eof:
            self._leftover = self._dec.unused_data
            self._dec = self._new()
            self._in_member = False


def open_salvaging(stream: BinaryIO, path: str) -> tuple[BinaryIO, SalvagingDecompressor | None]:
    """Like `open_decompressed`, keeping what precedes damage; the second value reports the damage, if any."""
    name = path.lower()
    kind = "gz" if name.endswith(".gz") else "bz2" if name.endswith(".bz2") else "xz" if name.endswith(".xz") else None
    if kind is None:
        return stream, None
    raw = SalvagingDecompressor(stream, kind)
    return io.BufferedReader(raw, buffer_size=1 << 16), raw  # type: ignore[return-value]
