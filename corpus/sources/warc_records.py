"""A small, forgiving WARC record parser (WARC 1.0/1.1 and the legacy 0.17/0.18 header layout).

Shared by the `wet` reader (conversion records) and the `warc` reader (response records). It yields records and
`RecordError`s; a cut-off record ends the file with an error, a garbled one is skipped by resyncing on the next
`WARC/` line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Iterator

MAX_HEADER_LINES = 512


@dataclass
class WarcRecord:
    offset: int
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


@dataclass
class RecordError:
    offset: int
    reason: str          # truncated_record | malformed_record
    message: str
    n_bytes: int = 0
    partial: "WarcRecord | None" = None   # a record cut off in its body: what did arrive


def iter_warc_records(f: BinaryIO) -> Iterator[WarcRecord | RecordError]:
    offset = 0
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
        version = line.decode("ascii", errors="replace").strip()
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADER_LINES):
            hline = f.readline()
            offset += len(hline)
            if not hline:
                yield RecordError(start, "truncated_record", "file ends inside the record header")
                return
            if not hline.strip():
                break
            name, sep, value = hline.decode("utf-8", errors="replace").partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
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
