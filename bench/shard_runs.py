"""Shards from sorted runs (corpus/shard_runs.py): peak memory and speed of writing runs and of merging them.

Usage: python bench/shard_runs.py [--mb 400] [--runs 200] [--dir DIR]

Rows are web-like shard rows (doc_schema): random words, lognormal lengths around 3 KB with one row in fifty of
200 KB, one token per 4 bytes of text. Units are generated first as Parquet files (the per-unit step streams a
unit's file); each measured step then runs in a child process that streams them, so its peak RSS (VmHWM, reset
after imports) is that step's alone, next to the child's RSS after imports; "Arrow peak" is the Arrow memory pool's
own high-water mark. Each step runs under Arrow's default allocator (mimalloc) and under jemalloc
(ARROW_DEFAULT_MEMORY_POOL), because mimalloc keeps pages freed by the churn of small batches.
1. write: one unit of `--mb` MB of text into 8 shards with the default memory_bytes.
2. many runs: `--runs` units of `--mb / --runs` MB each into one shard, then the `--runs` runs merged.
3. one run: one unit of `--mb` MB into one shard as a single part, then that one run merged.
The shard holds `--mb` MB of text: a merge whose peak stays a few row groups above baseline does not hold it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from corpus.shard_runs import merge_runs, write_runs
from corpus.shards import doc_schema

SCHEMA = doc_schema()
WORDS = ("the of and to in a is that for it as was with be by on not he this are or his from at which but have an "
         "they you were her she there been one all we their has would when if so no").split()


def status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, from /proc (ru_maxrss would carry the parent's peak over)."""
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def make_unit(path: Path, unit: int, megabytes: float, batch_rows: int = 256) -> None:
    """A unit file of about `megabytes` MB of text (plus tokens), deterministic per unit number."""
    rng = np.random.default_rng(unit)
    vocabulary = np.array(WORDS, dtype=object)
    made = number = 0
    with pq.ParquetWriter(path, SCHEMA, compression="zstd") as writer:
        while made < megabytes * 1e6:
            lengths = np.minimum(rng.lognormal(np.log(3000), 0.8, batch_rows), 50_000).astype(int)
            lengths[rng.random(batch_rows) < 0.02] = 200_000
            texts = [" ".join(rng.choice(vocabulary, max(1, n // 4))) for n in lengths]
            n_tokens = np.array([len(t) // 4 for t in texts], dtype=np.int32)
            offsets = np.concatenate([[0], np.cumsum(n_tokens)]).astype(np.int32)
            tokens = pa.ListArray.from_arrays(pa.array(offsets), pa.array(
                rng.integers(0, 32000, int(offsets[-1]), dtype=np.uint16)))
            columns = {"id": pa.array([f"u{unit}-{number + i}" for i in range(batch_rows)]),
                       "source": pa.array(["web"] * batch_rows), "text": pa.array(texts),
                       "n_bytes": pa.array([len(t) for t in texts], pa.int32()), "tokens": tokens,
                       "n_tokens": pa.array(n_tokens), "cluster_size": pa.array(np.ones(batch_rows, np.int32))}
            writer.write_batch(pa.RecordBatch.from_arrays(
                [columns[f.name] if f.name in columns else pa.nulls(batch_rows, f.type) for f in SCHEMA],
                schema=SCHEMA))
            made += sum(len(t) for t in texts)
            number += batch_rows


def warm_up() -> None:
    """A few rows through both steps, so imports and one-time set-up are in the baseline, not in the peak."""
    runs: dict[int, io.BytesIO] = {}

    class Run(io.BytesIO):
        def close(self):
            runs[len(runs)] = io.BytesIO(self.getvalue())
            super().close()

    rows = pa.Table.from_pylist([{"id": str(i), "source": "web", "text": "a b", "n_bytes": 3, "tokens": [1, 2],
                                  "n_tokens": 2, "cluster_size": 1} for i in range(10)], schema=SCHEMA)
    write_runs(rows.to_batches(), 0, 1, lambda shard, part: Run())
    merge_runs(list(runs.values()), io.BytesIO(), SCHEMA, 0)


def measured(step) -> dict:
    warm_up()
    baseline = status_mb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")                                   # resets VmHWM to the RSS now (Linux proc(5))
    start = time.perf_counter()
    result = step()
    return {**result, "seconds": time.perf_counter() - start, "baseline_mb": baseline, "peak_mb": status_mb("VmHWM"),
            "arrow_peak_mb": pa.default_memory_pool().max_memory() / 1e6}


def write_step(units: list[Path], runs: Path, shards: int, memory_bytes: int) -> dict:
    def step():
        written = []
        for number, unit in enumerate(units):
            def open_run(shard, part, number=number):
                return open(runs / f"shard{shard}-unit{number}-part{part}.arrows", "wb")
            # pre_buffer (pyarrow's default) keeps what it read until the file is closed: ~320 MB of this 400 MB unit
            batches = pq.ParquetFile(unit, pre_buffer=False).iter_batches(batch_size=256)
            options = {"memory_bytes": memory_bytes} if memory_bytes else {}
            written += write_runs(batches, 0, shards, open_run, **options)
        return {"runs": len(written), "parts": 1 + max(run.part for run in written)}
    return measured(step)


def merge_step(runs: Path) -> dict:
    def step():
        files = [open(path, "rb") for path in sorted(runs.glob("shard0-*.arrows"))]
        with open(runs / "shard.parquet", "wb") as out:
            merged = merge_runs(files, out, SCHEMA, 0)
        for file in files:
            file.close()
        return {"runs": len(files), "rows": merged.rows, "shard_mb": merged.bytes / 1e6}
    return measured(step)


def child(allocator: str, *args: str) -> dict:
    env = {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": allocator}
    done = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True,
                          text=True, env=env)
    return json.loads(done.stdout)


def memory(step: dict) -> str:
    return (f"peak RSS {step['peak_mb']:.0f} MB (baseline {step['baseline_mb']:.0f}), "
            f"Arrow peak {step['arrow_peak_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=400)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--dir", type=Path, help="where the units and runs go (a temporary directory inside it)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, runs, *rest = args.child
        if step == "write":
            shards, memory_bytes, *units = rest
            result = write_step([Path(u) for u in units], Path(runs), int(shards), int(memory_bytes))
        else:
            result = merge_step(Path(runs))
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        big = root / "big.parquet"
        make_unit(big, 0, args.mb)
        small = [root / f"small{u}.parquet" for u in range(args.runs)]
        for number, path in enumerate(small):
            make_unit(path, number + 1, args.mb / args.runs)
        cases = [("write", [big], 8, 0, False), ("many runs", small, 1, 0, True),
                 ("one run", [big], 1, 4 * int(args.mb * 1e6), True)]
        for allocator in ("mimalloc", "jemalloc"):
            print(f"-- allocator {allocator}")
            for name, units, shards, memory_bytes, merge in cases:
                runs = root / f"{name}-{allocator}".replace(" ", "-")
                runs.mkdir()
                w = child(allocator, "write", str(runs), str(shards), str(memory_bytes), *map(str, units))
                print(f"{name}: write {len(units)} unit(s), {args.mb:g} MB of text, into {shards} shard(s): "
                      f"{w['runs']} runs in {w['parts']} part(s) per unit, {w['seconds']:.1f} s "
                      f"({args.mb / w['seconds']:.0f} MB/s), {memory(w)}")
                if merge:
                    m = child(allocator, "merge", str(runs))
                    print(f"  merge {m['runs']} run(s) into {m['rows']} rows, a {m['shard_mb']:.0f} MB shard: "
                          f"{m['seconds']:.1f} s ({args.mb / m['seconds']:.0f} MB/s of text), {memory(m)}")


if __name__ == "__main__":
    main()
