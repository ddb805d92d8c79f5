"""Input units: every source's files cut into units of roughly `target_bytes`, the work a per-unit step reads.

Hadoop-style splits: the planner needs only file sizes, and the reader of a piece finds its own first record
(`ReadContext.start`/`end`, honoured by each reader in `corpus.sources`). The rule that makes splits lossless: a
record belongs to the piece in whose byte range its first raw byte lies (in a compressed file: the gzip member or
bz2 stream it starts in), and a piece reads its last record whole even when it runs past the range's end, so over
all pieces of a file every record is read exactly once whatever `target_bytes` is. Damage (a corrupt member,
malformed XML) ends the read of its own range, as it ends a whole read; the ranges after it read on.

Small files are packed together, in path order, into one unit of up to `target_bytes`, so that 100,000 small books
do not make 100,000 units; a splittable file larger than that is cut into equal ranges, one unit each. Splittable:
WARC and WET (plain or gzip per record, as Common Crawl ships them; a whole-file gzip gives all its records to the
first range, since only decompressing can tell), uncompressed JSONL, and Wikipedia `.xml` and `.xml.bz2`
(multistream; a single-stream dump gives all its pages to the first range). Books, text, Parquet and compressed
files of other kinds are one piece each.

Document ids never depend on the split: a WARC-Record-ID, else the record's offset (in a compressed file `R`, the
raw offset of its member, or `R+k`, k decompressed bytes into it), a JSONL line's byte offset, a page id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

from corpus.document import Document, Rejection
from corpus.sources import Skipped, reader_for
from corpus.sources.base import ReadContext, compression

DEFAULT_TARGET_BYTES = 128 * 1024 * 1024   # issue 13: units of 64-256 MB


@dataclass(frozen=True)
class Piece:
    """The byte range [start, end) of one file (end: its size for a range that runs to the end)."""

    path: str        # the file as matched (local path or URL), opened by the caller
    rel: str         # the path below the pattern's fixed prefix, as in document ids (`relative_name`)
    start: int
    end: int


@dataclass(frozen=True)
class Unit:
    """Pieces of one source's files read together; `key` names the unit's work files."""

    source: str
    pieces: tuple[Piece, ...]

    @property
    def key(self) -> str:
        """16 hex digits of SHA-256 over the source and pieces: stable across runs, machines and Python versions."""
        spec = json.dumps([self.source, [dataclasses.astuple(p) for p in self.pieces]], ensure_ascii=False)
        return hashlib.sha256(spec.encode("utf-8")).hexdigest()[:16]

    @property
    def n_bytes(self) -> int:
        return sum(p.end - p.start for p in self.pieces)


def splittable(kind: str, path: str) -> bool:
    """Whether a file of this kind can be read in byte ranges (by name; see the module docstring)."""
    packed = compression(path)
    if kind in ("wet", "warc"):
        return packed in (None, "gz")
    if kind == "jsonl":
        return packed is None
    if kind == "wikipedia":
        return packed in (None, "bz2")
    return False


def plan_units(source: str, kind: str, files: list[tuple[str, str, int]],
               target_bytes: int = DEFAULT_TARGET_BYTES) -> list[Unit]:
    """Units for one source's files, given as (path, rel, size) in any order; the same input gives the same
    units. Small files are packed in path order up to `target_bytes`; a splittable file larger than that becomes
    ceil(size / target_bytes) units of equal ranges; an unsplittable one stays whole, alone if it is large."""
    if target_bytes < 1:
        raise ValueError(f"target_bytes must be at least 1, got {target_bytes}")
    units: list[Unit] = []
    pack: list[Piece] = []
    pack_bytes = 0

    def flush() -> None:
        nonlocal pack, pack_bytes
        if pack:
            units.append(Unit(source, tuple(pack)))
        pack, pack_bytes = [], 0

    for path, rel, size in sorted(files):
        if size > target_bytes and splittable(kind, path):
            flush()
            n = -(-size // target_bytes)
            cuts = [size * i // n for i in range(n + 1)]
            units.extend(Unit(source, (Piece(path, rel, a, b),)) for a, b in zip(cuts, cuts[1:]))
            continue
        if pack and pack_bytes + size > target_bytes:
            flush()
        pack.append(Piece(path, rel, 0, size))
        pack_bytes += size
    flush()
    return units


def read_unit(unit: Unit, kind: str, open_file: Callable[[str], BinaryIO], ctx: ReadContext
              ) -> Iterator[Document | Rejection | Skipped]:
    """Every record of the unit, piece after piece. `ctx` carries the source's read settings; its path, rel, start
    and end are set per piece. `open_file(path)` gives a seekable raw stream (Beam's `FileSystems.open` with
    `CompressionTypes.UNCOMPRESSED`); a file that cannot be opened is one `unreadable_file` rejection."""
    read = reader_for(kind)
    for piece in unit.pieces:
        piece_ctx = dataclasses.replace(ctx, path=piece.path, rel=piece.rel, start=piece.start, end=piece.end)
        try:
            stream = open_file(piece.path)
        except Exception as exc:  # noqa: BLE001 - any filesystem failure is a counted read error
            yield piece_ctx.error("unreadable_file", piece.start, f"{type(exc).__name__}: {exc}")
            continue
        with stream:
            if piece.start == 0 and piece.end == 0:
                # A zero-byte file of any kind: counted, never silently nothing (issue 14).
                yield piece_ctx.error("empty_file", 0, "the file is empty")
                continue
            last = None
            try:
                for item in read(stream, piece_ctx):
                    last = item
                    yield item
            except Exception as exc:  # noqa: BLE001 - a reader's failure ends its piece, never the run
                after = f" after {last.id}" if isinstance(last, (Document, Rejection)) else ""
                yield piece_ctx.error("reader_error", piece.start, f"{type(exc).__name__}: {exc}{after}")
