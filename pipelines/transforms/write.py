"""Stage 12 in Beam: deterministic global shuffle into Parquet shards.

Each record gets a 64-bit position from hash(seed, id); the shard is position * N >> 64 and rows are sorted by
position inside a shard, so the bytes do not depend on runner, worker count or bundle boundaries.
"""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from corpus.shards import shard_count, shard_index, shard_info, shard_name, shuffle_position, write_parquet_bytes


class _WriteShard(beam.DoFn):
    def __init__(self, staging: str, kind: str, schema):
        self._staging = staging
        self._kind = kind
        self._schema = schema

    def process(self, element):
        (count, index), rows = element
        ordered = [row for _, _, row in sorted(rows, key=lambda r: (r[0], r[1]))]
        data = write_parquet_bytes(ordered, self._schema)
        name = shard_name(self._kind, index, count)
        with FileSystems.create(f"{self._staging}/{name}") as f:
            f.write(data)
        info = shard_info(name, len(ordered), data)
        tokens = sum(row.get("n_tokens") or 0 for row in ordered)
        yield json.dumps({"path": info.path, "rows": info.rows, "bytes": info.bytes, "sha256": info.sha256,
                          "index": index, "count": count, "tokens": tokens}, sort_keys=True)


class WriteShards(beam.PTransform):
    """records -> Parquet files `<staging>/<kind>/part-i-of-N.parquet`; yields one JSON line per shard written."""

    def __init__(self, staging: str, kind: str, schema, to_row, seed: int, target_bytes: int,
                 num_shards: int | None):
        super().__init__()
        self._staging, self._kind, self._schema = staging, kind, schema
        self._to_row, self._seed = to_row, seed
        self._target_bytes, self._num_shards = target_bytes, num_shards

    def expand(self, records):
        seed, to_row = self._seed, self._to_row
        target, configured = self._target_bytes, self._num_shards
        # One integer per record into a lifted combine: the only global step, and it carries no data.
        total_bytes = (records
                       | "Bytes" >> beam.Map(lambda r: r.n_bytes)
                       | "TotalBytes" >> beam.CombineGlobally(sum))

        def assign(record, total):
            count = shard_count(total, target, configured)
            pos = shuffle_position(record.id, seed)
            return (count, shard_index(pos, count)), (pos, record.id, to_row(record))

        return (records
                | "AssignShard" >> beam.Map(assign, total=beam.pvalue.AsSingleton(total_bytes))
                | "GroupShard" >> beam.GroupByKey()
                | "WriteShard" >> beam.ParDo(_WriteShard(self._staging, self._kind, self._schema)))
