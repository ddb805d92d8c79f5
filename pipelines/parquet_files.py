"""Parquet files of the work directory on any Beam filesystem: read whole (small files), read a batch at a time
(a unit's text), and written a row group at a time, put in place whole (pipelines/workdir.py). Every step reads and writes through
these, so none of them imports another step's module for them."""

from __future__ import annotations

from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from pipelines.workdir import publish, staging_name

ROW_GROUP_ROWS = 1024       # rows buffered before a row group is written, or fewer once they hold
ROW_GROUP_BYTES = 32 << 20  # this many bytes of text: bounds a worker's memory (a row can be a 10 MB book)


def read_table(path: str, columns: list[str] | None = None) -> pa.Table:
    with FileSystems.open(path) as f:
        return pq.read_table(f, columns=columns)


def iter_batches(path: str, batch_rows: int = 1024, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    """A Parquet file a few rows at a time (never the whole unit's text at once), optionally only some columns."""
    with FileSystems.open(path) as f:
        # pre_buffer would read whole row groups ahead (pyarrow 25 kept ~320 MB of a 400 MB unit that way).
        yield from pq.ParquetFile(f, pre_buffer=False).iter_batches(batch_size=batch_rows, columns=columns)


class BufferedParquet:
    """Rows appended one by one, written a row group at a time where no reader looks yet, published on close."""

    def __init__(self, path: str, schema: pa.Schema):
        self.path, self.schema = path, schema
        self._staged = staging_name(path)
        self._file = FileSystems.create(self._staged)
        self._writer = pq.ParquetWriter(self._file, schema, compression="zstd")
        self._rows: list[dict[str, Any]] = []
        self._bytes = 0
        self.count = 0

    def append(self, row: dict[str, Any], n_bytes: int = 0) -> None:
        self._rows.append(row)
        self._bytes += n_bytes
        self.count += 1
        if len(self._rows) >= ROW_GROUP_ROWS or self._bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
            self._rows, self._bytes = [], 0

    def close(self) -> None:
        self._flush()
        self._writer.close()
        self._file.close()
        publish(self._staged, self.path)
