"""SPEC stage 12 out of core: shards assembled from sorted runs, never built as one in-memory list (issue 13).

Two steps, both streaming:

1. Per unit, `write_runs`: the unit's shard rows (documents, parts `ID#k`, repeats `ID@k`) arrive as record
   batches. Each row's place is the global shuffle of corpus/shards.py: position = shuffle_position(id, seed),
   shard = shard_index(position, num_shards), ties broken by id (as the single-list writer sorts). Rows are buffered
   up to `memory_bytes`; then their (position, id) keys are sorted and each shard's rows are copied out in that
   order, a small batch at a time, into one RUN file per shard. A unit larger than the buffer leaves several runs
   per shard (parts 0, 1, ...): the merge takes any number of runs, so there is no spill-and-merge step here.
2. Per shard, `merge_runs`: a k-way merge (heapq.merge over the runs' keys) streams the shard's runs into the final
   Parquet file, holding about one batch per run and one output row group.

A run is an Arrow IPC stream of lz4-compressed record batches of about `batch_bytes` (128 KB), not Parquet: a
merge then holds exactly the batch it reads from each run. (Measured with pyarrow 25: a Parquet reader keeps a
decompression buffer per column sized to the largest page it has met, and a page holds at least one whole value,
so with book-length rows each open Parquet run held 1-2 MB, 200 runs about 380 MB.) A stream is also read and
written front to back, so a run can live behind any file object.

The final file is written with corpus/shards.py's options and row-group rule (ROW_GROUP_ROWS rows), so it is the
same bytes `write_parquet_bytes` gives for the same rows, as long as no row group reaches `row_group_bytes` (one
that does closes early: more row groups, same schema, rows and order). Nothing here knows about Beam or object
stores: runs and shards are file objects the caller opens (local files, or Beam's FileSystems for gs:// and s3://).
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass
from itertools import groupby
from typing import BinaryIO, Callable, Iterable, Iterator, NamedTuple, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.shards import ROW_GROUP_ROWS, shard_index, shuffle_position

# What corpus/shards.py write_parquet_bytes passes to pq.write_table (a test compares the bytes).
SHARD_WRITER_OPTIONS = {"compression": "zstd", "write_statistics": True}
# lz4, not zstd: bench/shard_runs.py wrote and read runs 3x and 7x faster for 25% more bytes; runs are temporary.
RUN_WRITE_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")

MEMORY_BYTES = 256 << 20        # rows a unit buffers before it writes a part (a ~128 MB text unit: one part)
BATCH_BYTES = 128 << 10         # a run's record batches: what a merge holds per run
ROW_GROUP_BYTES = 64 << 20      # a final row group closes here even before ROW_GROUP_ROWS rows (very long rows)


class Run(NamedTuple):
    """One run file written by `write_runs`: `rows` rows of shard `shard`, from the unit's buffer number `part`."""
    shard: int
    part: int
    rows: int


@dataclass(frozen=True)
class MergedShard:
    """What `merge_runs` wrote: corpus.shards.ShardInfo's facts (without the path, which the caller chose)."""
    rows: int
    bytes: int
    sha256: str
    tokens: int       # sum of `n_tokens` (0 for a schema without it, e.g. rejects)


# A row in sort order: (position, id, source, row, bytes, batch). (position, id) is the shard order; source (the
# run, or the buffered batch) and row make every key unique, so tuple comparison never reaches the batch.
_Keyed = tuple[int, str, int, int, int, pa.RecordBatch]


def write_runs(batches: Iterable[pa.RecordBatch], seed: int, num_shards: int,
               open_run: Callable[[int, int], BinaryIO], *, memory_bytes: int = MEMORY_BYTES,
               batch_bytes: int = BATCH_BYTES) -> list[Run]:
    """Write a unit's rows as runs: for each shard that gets rows, a file of them sorted by (position, id).

    `batches` hold the final shard schema (the `id` column gives the order). Every `memory_bytes` of buffered
    batches (Arrow's `nbytes`) make one part; `open_run(shard, part)` is called once per shard with rows in that
    part, and the file it returns is written and closed here. Peak memory: `memory_bytes` plus one input batch,
    the sort keys (~250 bytes a row) and a few `batch_bytes`. Returns the runs written, in (part, shard) order; a
    shard with no rows from this unit has none. The same rows give the same runs whatever the input batches.
    """
    runs: list[Run] = []
    buffered: list[pa.RecordBatch] = []
    size = part = 0
    for batch in batches:
        if batch.num_rows:
            buffered.append(batch)
            size += batch.nbytes
        if size >= memory_bytes:
            runs += _write_part(buffered, part, seed, num_shards, open_run, batch_bytes)
            buffered, size, part = [], 0, part + 1
    if buffered:
        runs += _write_part(buffered, part, seed, num_shards, open_run, batch_bytes)
    return runs


def merge_runs(runs: Sequence[BinaryIO], out: BinaryIO, schema: pa.Schema, seed: int, *,
               row_group_rows: int = ROW_GROUP_ROWS, row_group_bytes: int = ROW_GROUP_BYTES) -> MergedShard:
    """Merge one shard's runs (any number, empty ones too) into its final Parquet file, written to `out`.

    `runs` are readable file objects of `write_runs` output for this shard, written with the same `seed`;
    `schema` is the shard schema (corpus.shards.doc_schema or REJECT_SCHEMA), which every run must have. Rows come
    out in (position, id) order, in row groups of `row_group_rows` rows, or fewer once a group holds
    `row_group_bytes`. Peak memory: about two run batches per run, plus a few output row groups (the source rows,
    their copy, the Parquet encoder's buffers). The caller closes `runs` and `out`.
    """
    readers = [pa.ipc.open_stream(run) for run in runs]
    for number, reader in enumerate(readers):
        if not reader.schema.equals(schema):
            raise ValueError(f"run {number} of {len(runs)} has schema {reader.schema}, not the shard schema {schema}")
    keyed = heapq.merge(*(_read_run(reader, number, seed) for number, reader in enumerate(readers)))
    sink = _HashingSink(out)
    with pq.ParquetWriter(sink, schema, **SHARD_WRITER_OPTIONS) as writer:
        rows, tokens = _write_in_groups(keyed, lambda table: writer.write_table(table, table.num_rows),
                                        row_group_rows, row_group_bytes)
        if not rows:
            writer.write_table(schema.empty_table())   # as pq.write_table of no rows: one empty row group
    return MergedShard(rows=rows, bytes=sink.bytes, sha256=sink.sha256.hexdigest(), tokens=tokens)


def _write_part(batches: list[pa.RecordBatch], part: int, seed: int, num_shards: int,
                open_run: Callable[[int, int], BinaryIO], batch_bytes: int) -> list[Run]:
    """Sort the buffered rows by (position, id) and write each shard's slice of them as one run."""
    keyed = sorted(row for number, batch in enumerate(batches) for row in _keyed_rows(batch, number, seed))
    runs = []
    # shard_index grows with the position, so each shard's rows are one stretch of the sorted keys.
    for shard, rows in groupby(keyed, key=lambda row: shard_index(row[0], num_shards)):
        with open_run(shard, part) as run, \
                pa.ipc.new_stream(run, batches[0].schema, options=RUN_WRITE_OPTIONS) as writer:
            written, _ = _write_in_groups(rows, writer.write_table, None, batch_bytes)
        runs.append(Run(shard, part, written))
    return runs


def _read_run(reader: pa.ipc.RecordBatchStreamReader, number: int, seed: int) -> Iterator[_Keyed]:
    """A run's rows with their keys, a batch at a time; checks that the run is in order."""
    previous: tuple[int, str] | None = None
    for batch in reader:
        for row in _keyed_rows(batch, number, seed):
            if previous is not None and row[:2] < previous:
                raise ValueError(f"run {number} is not in (position, id) order at id {row[1]!r} "
                                 f"(written with another seed?)")
            previous = row[:2]
            yield row


def _keyed_rows(batch: pa.RecordBatch, source: int, seed: int) -> list[_Keyed]:
    ids = batch.column("id").to_pylist()
    sizes = _row_bytes(batch).tolist()
    return [(shuffle_position(doc_id, seed), doc_id, source, row, sizes[row], batch)
            for row, doc_id in enumerate(ids)]


def _row_bytes(batch: pa.RecordBatch) -> np.ndarray:
    """The bytes each row's values take: its stretch of every string and list column, plus the fixed widths."""
    sizes = np.zeros(batch.num_rows, dtype=np.int64)
    fixed = 0
    for column in batch.columns:
        kind = column.type
        if pa.types.is_string(kind) or pa.types.is_binary(kind) or pa.types.is_list(kind):
            # Buffer 1 of a string or list array is its int32 offsets (Arrow columnar format), from the array's start.
            offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[column.offset:column.offset + len(column) + 1]
            width = kind.value_type.bit_width // 8 if pa.types.is_list(kind) else 1
            sizes += np.diff(offsets) * width
        else:
            fixed += max(1, kind.bit_width // 8)
    return sizes + fixed


def _write_in_groups(keyed: Iterable[_Keyed], write: Callable[[pa.Table], None], max_rows: int | None,
                     max_bytes: int) -> tuple[int, int]:
    """Write rows in the order given as tables of `max_rows` rows or fewer, each closed once it holds `max_bytes`.
    Returns (rows, tokens): tokens is the sum of `n_tokens`, 0 without that column."""
    picked: list[list] = []        # [batch, first row, rows]: consecutive rows of one batch are one slice
    rows = size = written = tokens = 0
    for *_, row, row_bytes, batch in keyed:
        if picked and picked[-1][0] is batch and picked[-1][1] + picked[-1][2] == row:
            picked[-1][2] += 1
        else:
            picked.append([batch, row, 1])
        rows += 1
        size += row_bytes
        if rows == max_rows or size >= max_bytes:
            tokens += _write_group(picked, write)
            written += rows
            picked, rows, size = [], 0, 0
    if picked:
        tokens += _write_group(picked, write)
        written += rows
    return written, tokens


def _write_group(picked: list[list], write: Callable[[pa.Table], None]) -> int:
    """Copy slices of batches into one table of one chunk per column (a single Parquet row group or IPC batch)
    and write it; returns its tokens. A function of its own so the table is freed before the next is gathered."""
    table = pa.Table.from_batches([batch.slice(first, rows) for batch, first, rows in picked]).combine_chunks()
    write(table)
    return (pc.sum(table["n_tokens"]).as_py() or 0) if "n_tokens" in table.column_names else 0


class _HashingSink:
    """A write-only file object that passes bytes on to `out` and keeps their count and sha256."""

    closed = False

    def __init__(self, out: BinaryIO):
        self._out = out
        self.bytes = 0
        self.sha256 = hashlib.sha256()

    def write(self, data) -> int:
        self._out.write(data)
        self.sha256.update(data)
        self.bytes += len(data)
        return len(data)

    def tell(self) -> int:
        return self.bytes

    def flush(self) -> None:
        self._out.flush()
