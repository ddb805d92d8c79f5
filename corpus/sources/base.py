"""What every reader shares: the read context, decompression, decoding and counted read errors.

A reader is a generator `read_x(stream, ctx) -> Iterator[Document | Rejection]`: it never raises on bad input;
it yields a `Rejection` (stage `read`, a named reason, file and offset in `detail`) and goes on where it can.
"""

from __future__ import annotations

import bz2
import gzip
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


