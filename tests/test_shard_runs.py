"""Shards from sorted runs: the merged file is what the single-list writer (corpus/shards.py) makes of the same rows.

The reference for every shard is brute force: all rows, those whose shard_index is the shard, sorted by
(shuffle_position, id), written by corpus.shards.write_parquet_bytes (what pipelines/transforms/write.py does today).
"""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.shard_runs import MergedShard, Run, merge_runs, write_runs
from corpus.shards import (REJECT_SCHEMA, SIGNAL_COLUMNS, doc_schema, shard_index, shuffle_position,
                           write_parquet_bytes)

SEED = 7
_rng = random.Random(0)
# Source of texts: ASCII, Cyrillic, CJK and an emoji, so byte and character counts differ.
BLOCK = "".join(_rng.choice("abc xyz эюя 中文 🙂\n") for _ in range(400_000))


def make_rows(count: int, prefix: str, seed: int, vocab: int = 32000, large_every: int = 40) -> list[dict]:
    """Shard rows with small and large texts and token lists, and nulls; floats exact in float32."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        n = rng.randrange(100_000, 300_000) if i % large_every == 0 else rng.randrange(0, 60)
        start = rng.randrange(0, len(BLOCK) - n)
        text = BLOCK[start:start + n]
        tokens = rng.choice([None, [rng.randrange(vocab) for _ in range(rng.choice([0, 3, 50, n // 4]))]])
        doc_id = rng.choice([f"{prefix}{i}", f"{prefix}{i}#2", f"{prefix}{i}@1"])
        rows.append({
            "id": doc_id, "source": rng.choice(["web", "books", "wikipedia"]), "lang": rng.choice(["en", "ru", None]),
            "lang_score": rng.randrange(256) / 256, "url": rng.choice([None, f"https://example.org/{i}"]),
            "title": rng.choice([None, f"Title {i}"]), "author": None, "date": rng.choice([None, "2021-05-01"]),
            "text": text, "n_bytes": len(text.encode()), "tokens": tokens,
            "n_tokens": None if tokens is None else len(tokens),
            "cluster_size": rng.randrange(1, 4),
            **{name: rng.choice([None, rng.randrange(1024) / 1024]) for name in SIGNAL_COLUMNS},
        })
    return rows


def batches_of(rows: list[dict], schema: pa.Schema, size: int) -> list[pa.RecordBatch]:
    return [pa.RecordBatch.from_pylist(rows[i:i + size], schema=schema) for i in range(0, len(rows), size)]


def expected_shard(rows: list[dict], shard: int, num_shards: int, seed: int = SEED,
                   position=shuffle_position) -> list[dict]:
    keyed = [(position(row["id"], seed), row["id"], row) for row in rows]
    return [row for position, _, row in sorted(keyed, key=lambda k: (k[0], k[1]))
            if shard_index(position, num_shards) == shard]


class Runs:
    """write_runs into files under a directory, one call per unit, remembering which file holds which run."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.files: dict[tuple[int, int, int], Path] = {}     # (shard, unit, part) -> path
        self.opened: list = []

    def write(self, unit: int, batches, num_shards: int, seed: int = SEED, **options) -> list[Run]:
        def open_run(shard, part):
            path = self.directory / f"shard{shard}-unit{unit}-part{part}.arrows"
            self.files[shard, unit, part] = path
            self.opened.append(open(path, "wb"))
            return self.opened[-1]
        return write_runs(batches, seed, num_shards, open_run, **options)

    def of_shard(self, shard: int) -> list[Path]:
        return [path for (s, _, _), path in sorted(self.files.items()) if s == shard]


def read_run(path: Path) -> list[pa.RecordBatch]:
    with open(path, "rb") as f:
        return list(pa.ipc.open_stream(f))


def run_rows(path: Path) -> list[dict]:
    return [row for batch in read_run(path) for row in batch.to_pylist()]


def merge(paths: list[Path], schema: pa.Schema, seed: int = SEED, **options) -> tuple[bytes, MergedShard]:
    out = io.BytesIO()
    runs = [open(path, "rb") for path in paths]
    merged = merge_runs(runs, out, schema, seed, **options)
    assert not out.closed and not any(run.closed for run in runs)      # the caller owns its files
    for run in runs:
        run.close()
    return out.getvalue(), merged


def shard_facts(data: bytes, rows: list[dict]) -> MergedShard:
    tokens = sum(row["n_tokens"] or 0 for row in rows) if rows and "n_tokens" in rows[0] else 0
    return MergedShard(rows=len(rows), bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), tokens=tokens)


@pytest.mark.parametrize("vocab", [32000, 100_000])      # list<uint16> tokens, and list<int32> past 65536
def test_merged_shards_are_the_single_list_writers_bytes(tmp_path, vocab):
    schema = doc_schema(vocab)
    units = [make_rows(1300, f"u{u}-", seed=u, vocab=vocab) for u in range(3)]
    runs = Runs(tmp_path)
    for number, rows in enumerate(units):
        runs.write(number, batches_of(rows, schema, 37), num_shards=3)
    every_row = [row for rows in units for row in rows]
    for shard in range(3):
        expected = expected_shard(every_row, shard, 3)
        assert len(expected) > 1024                              # more than one row group of ROW_GROUP_ROWS
        data, merged = merge(runs.of_shard(shard), schema)
        reference = write_parquet_bytes(expected, schema)
        assert data == reference
        assert merged == shard_facts(reference, expected)
        assert pq.read_table(io.BytesIO(data)).to_pylist() == expected
    assert all(file.closed for file in runs.opened)             # write_runs closes what open_run gave it


def test_one_run_per_shard_and_unit_holds_that_shards_rows_in_order(tmp_path):
    schema = doc_schema()
    rows = make_rows(500, "d", seed=1)
    runs = Runs(tmp_path)
    written = runs.write(0, batches_of(rows, schema, 64), num_shards=4)
    assert sorted(written) == [Run(shard, 0, len(expected_shard(rows, shard, 4))) for shard in range(4)]
    for shard in range(4):
        (path,) = runs.of_shard(shard)
        assert run_rows(path) == expected_shard(rows, shard, 4)


def test_a_unit_over_memory_bytes_writes_several_parts_that_merge_to_the_same_shard(tmp_path):
    schema = doc_schema()
    rows = make_rows(600, "d", seed=2)
    batches = batches_of(rows, schema, 50)
    total = sum(batch.nbytes for batch in batches)
    assert max(batch.nbytes for batch in batches) < total / 5
    runs = Runs(tmp_path)
    written = runs.write(0, batches, num_shards=2, memory_bytes=total // 5)   # a part closes at 1/5 of the rows
    parts = sorted({run.part for run in written})
    assert len(parts) >= 3 and parts == list(range(len(parts)))
    for shard in range(2):
        in_order = expected_shard(rows, shard, 2)
        for path in runs.of_shard(shard):                       # each part is a sorted slice of the shard
            part_rows = run_rows(path)
            assert part_rows == [row for row in in_order if row in part_rows]
        data, _ = merge(runs.of_shard(shard), schema)
        assert data == write_parquet_bytes(in_order, schema)


def test_batches_and_row_groups_close_once_they_hold_their_bytes(tmp_path):
    # Text bytes by place in the shard; each row has ~120 bytes of other values. Closing at 1,000,000 bytes:
    # 4 x 300,000 (three hold 900,360), then 500,000 + 10 + 500,000, then the rest.
    text_bytes = [300_000, 300_000, 300_000, 300_000, 500_000, 10, 500_000, 10, 10, 10]
    ids = sorted((f"long{i}" for i in range(10)), key=lambda doc_id: (shuffle_position(doc_id, SEED), doc_id))
    rows = [{"id": doc_id, "source": "books", "text": "a" * size, "n_bytes": size, "tokens": [], "n_tokens": 0,
             "cluster_size": 1} for doc_id, size in zip(ids, text_bytes)]
    schema = doc_schema()
    whole = pa.RecordBatch.from_pylist(rows[::-1], schema=schema)
    runs = Runs(tmp_path)
    # Slices of one batch (an offset into shared buffers) in reverse order: the sizes must follow the rows.
    runs.write(0, [whole.slice(start, 3) for start in range(0, 10, 3)], num_shards=1, batch_bytes=1_000_000)
    (path,) = runs.of_shard(0)
    assert [batch.num_rows for batch in read_run(path)] == [4, 3, 3]
    data, merged = merge([path], schema, row_group_bytes=1_000_000)
    shard = pq.ParquetFile(io.BytesIO(data))
    assert [shard.metadata.row_group(i).num_rows for i in range(shard.metadata.num_row_groups)] == [4, 3, 3]
    assert shard.read().to_pylist() == pa.Table.from_pylist(rows, schema=schema).to_pylist()
    assert merged.rows == 10


def test_a_shard_without_runs_is_the_single_list_writers_empty_shard():
    schema = doc_schema()
    data, merged = merge([], schema)
    assert data == write_parquet_bytes([], schema)
    assert merged == shard_facts(data, [])


def test_empty_runs_add_nothing_to_a_merge(tmp_path):
    schema = doc_schema()
    empty = tmp_path / "empty.arrows"
    with open(empty, "wb") as f, pa.ipc.new_stream(f, schema):
        pass
    rows = make_rows(80, "d", seed=3)
    runs = Runs(tmp_path)
    runs.write(0, batches_of(rows, schema, 16), num_shards=1)
    data, merged = merge([empty, *runs.of_shard(0), empty], schema)
    assert data == write_parquet_bytes(expected_shard(rows, 0, 1), schema)
    assert merged.rows == 80


def test_no_rows_open_no_runs(tmp_path):
    schema = doc_schema()
    runs = Runs(tmp_path)
    assert runs.write(0, [], num_shards=4) == []
    assert runs.write(1, [pa.RecordBatch.from_pylist([], schema=schema)] * 3, num_shards=4) == []
    assert runs.files == {}


def test_a_shard_no_row_falls_in_gets_no_run(tmp_path):
    schema = doc_schema()
    rows = make_rows(2, "d", seed=4)
    runs = Runs(tmp_path)
    written = runs.write(0, batches_of(rows, schema, 2), num_shards=16)
    shards = {shard_index(shuffle_position(row["id"], SEED), 16) for row in rows}
    assert {run.shard for run in written} == shards and len(shards) < 16
    assert sum(run.rows for run in written) == 2


def test_same_bytes_whatever_the_batches_units_and_order_of_runs(tmp_path):
    schema = doc_schema()
    rows = make_rows(900, "d", seed=5)
    first, second = Runs(tmp_path / "a"), Runs(tmp_path / "b")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first.write(0, batches_of(rows, schema, 100), num_shards=2)
    for unit, start in enumerate(range(0, 900, 300)):              # the same rows as three units, other batches
        second.write(unit, batches_of(rows[start:start + 300], schema, 7), num_shards=2)
    for shard in range(2):
        one_unit, _ = merge(first.of_shard(shard), schema)
        three_units, _ = merge(second.of_shard(shard), schema)
        reversed_runs, _ = merge(second.of_shard(shard)[::-1], schema)
        again, _ = merge(second.of_shard(shard), schema)
        assert one_unit == three_units == reversed_runs == again


def test_merge_refuses_runs_written_with_another_seed(tmp_path):
    schema = doc_schema()
    runs = Runs(tmp_path)
    runs.write(0, batches_of(make_rows(100, "d", seed=6), schema, 100), num_shards=1, seed=1)
    with pytest.raises(ValueError, match=r"run 0 is not in \(position, id\) order"):
        merge(runs.of_shard(0), schema, seed=2)


def test_merge_refuses_a_run_with_another_schema(tmp_path):
    runs = Runs(tmp_path)
    runs.write(0, batches_of(make_rows(10, "d", seed=7), doc_schema(32000), 10), num_shards=1)
    with pytest.raises(ValueError, match="run 0 of 1 has schema"):
        merge(runs.of_shard(0), doc_schema(100_000))             # list<int32> tokens, the runs hold list<uint16>


def test_rejects_merge_like_documents_without_tokens(tmp_path):
    rng = random.Random(8)
    rows = [{"id": f"r{i}", "source": "web", "stage": "quality", "reason": "min_words", "lang": "en", "url": None,
             "text": BLOCK[i:i + rng.randrange(500)], "value": float(i), "threshold": 50.0, "duplicate_of": None,
             "detail": None, "n_bytes": i} for i in range(300)]
    runs = Runs(tmp_path)
    runs.write(0, batches_of(rows[:150], REJECT_SCHEMA, 40), num_shards=1)
    runs.write(1, batches_of(rows[150:], REJECT_SCHEMA, 40), num_shards=1)
    data, merged = merge(runs.of_shard(0), REJECT_SCHEMA)
    assert data == write_parquet_bytes(expected_shard(rows, 0, 1), REJECT_SCHEMA)
    assert merged.tokens == 0


def test_the_same_row_in_two_units_is_merged_twice(tmp_path):
    # Equal (position, id) keys in two runs: the merge orders them by run and never compares the rows.
    schema = doc_schema()
    rows = make_rows(20, "d", seed=9)
    runs = Runs(tmp_path)
    runs.write(0, batches_of(rows, schema, 20), num_shards=1)
    runs.write(1, batches_of(rows[:5], schema, 5), num_shards=1)
    data, merged = merge(runs.of_shard(0), schema)
    assert data == write_parquet_bytes(expected_shard(rows + rows[:5], 0, 1), schema)
    assert merged.rows == 25


def test_rows_at_the_same_position_are_ordered_by_id(tmp_path, monkeypatch):
    # Four positions for all ids (the top two bits of the real one), so most rows tie and the id decides.
    def coarse(doc_id: str, seed: int) -> int:
        return shuffle_position(doc_id, seed) >> 62 << 62
    monkeypatch.setattr("corpus.shard_runs.shuffle_position", coarse)
    schema = doc_schema()
    units = [make_rows(150, f"u{u}-", seed=20 + u) for u in range(2)]
    runs = Runs(tmp_path)
    for number, rows in enumerate(units):
        runs.write(number, batches_of(rows, schema, 20), num_shards=2)
    for shard in range(2):
        expected = expected_shard(units[0] + units[1], shard, 2, position=coarse)
        data, _ = merge(runs.of_shard(shard), schema)
        assert data == write_parquet_bytes(expected, schema)
