"""The partitioned dedup steps (pipelines/transforms/dedup.py) on synthetic keys written as prepared units, run on
the local runner with its worker processes: wall time, CPU, and the peak RSS of the driver and of every worker.

Usage: python bench/dedup_partitioned.py --docs 2000000 [--unit-docs 25000] [--workers 2] [--hot 20000]
                                         [--partition-docs 2000000] [--work /tmp/dedup-bench] [--keep]
                                         [--runner local|dask] [--memory-limit 3GB]

The documents are keys only, shaped like bench/dedup_arrays.py's crawl: three sources (priorities 2/3/1 in
62/22/16 proportions, one source a unit), 10% exact copies of another document anywhere, 4% of the originals in
near-duplicate clusters of ~3 (each member shares 31 of the 32 band hashes and ~95% of its 256 signature slots, so
its pairs are sure), and one boilerplate bucket of `--hot` pages in band 0 (a hot bucket, paired to its heads).
Every key follows from the number of the document a document copies, so each unit is written on its own and
copies cross units. Signatures are written for cluster and hot-bucket members only (nobody else's is read).

The steps pass their blocks through files in the work directory and the shuffles carry references
(pipelines/blocks.py), so neither the local runner's driver (which keeps every shuffle) nor a Dask worker holds
what waits between steps. `--runner dask` runs the same steps on a Dask cluster started here (`dask scheduler` and
`dask worker --nworkers W --memory-limit M` processes, one bag partition per unit). The timing records carry each
worker's high-water mark before and after every element: the run says which step reached each worker's peak.
Last, `resolve` (the one step that sees all verified pairs) runs in this process on as many synthetic pairs as the
run verified, under tracemalloc: its bytes per pair.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import logging  # noqa: E402

import apache_beam as beam  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402

from corpus.config import Config, DedupConfig, SourceConfig  # noqa: E402
from corpus.dedup import partitioned as parts  # noqa: E402
from corpus.intermediate import SIGNATURE_KEY, keys_schema  # noqa: E402
from pipelines.run import local_runner  # noqa: E402
from pipelines.timings import step_timings  # noqa: E402
from pipelines.transforms.dedup import Deduplicate  # noqa: E402
from pipelines.transforms.prepare import UnitSummary  # noqa: E402

NUM_PERM, BANDS = 256, 32
SOURCES = (("web", 2, 0.62), ("wikipedia", 3, 0.22), ("books", 1, 0.16))
HOT_HASH = np.uint64(12345)


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64: a uint64 hash of each value (deterministic keys from document numbers)."""
    z = np.asarray(x, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def unit_keys(numbers: np.ndarray, n: int, hot: int) -> dict:
    """The key columns of documents `numbers` of a corpus of n."""
    with np.errstate(over="ignore"):
        numbers = numbers.astype(np.uint64)
        copy = mix(numbers ^ np.uint64(1)) % np.uint64(10) == 0                    # 10% copy another document
        origin = np.where(copy, mix(numbers ^ np.uint64(2)) % np.uint64(n), numbers)
        clusters = max(1, int(n * 0.04 / 3))
        member = mix(origin ^ np.uint64(3)) % np.uint64(100) < 4
        cluster = mix(origin ^ np.uint64(4)) % np.uint64(clusters)
        in_hot = mix(origin ^ np.uint64(5)) % np.uint64(n) < np.uint64(hot)
        skip = mix(origin ^ np.uint64(6)) % np.uint64(BANDS)
        band = np.arange(BANDS, dtype=np.uint64)
        own = mix(origin[:, None] * np.uint64(64) + band)
        shared = mix((cluster[:, None] + np.uint64(1 << 40)) * np.uint64(64) + band)
        bands = np.where(member[:, None] & (band[None, :] != skip[:, None]), shared, own)
        bands[in_hot, 0] = HOT_HASH
        signed = member | in_hot
        slots = np.arange(NUM_PERM, dtype=np.uint64)
        base = np.where(member[signed][:, None], mix((cluster[signed][:, None] + np.uint64(1 << 41)) * np.uint64(512)
                                                     + slots), mix(origin[signed][:, None] * np.uint64(512) + slots))
        noise = mix(origin[signed][:, None] * np.uint64(512) + slots + np.uint64(1 << 42)) % np.uint64(100) < 5
        signature = np.where(noise, mix(origin[signed][:, None] + slots), base).astype(np.uint32)
        digest = np.stack([mix(origin ^ np.uint64(7)), mix(origin ^ np.uint64(8))], axis=1)
    signatures = np.full(len(numbers), None, dtype=object)
    signatures[np.flatnonzero(signed)] = [row.astype("<u4").tobytes() for row in signature]
    return {"digest": digest, "bands": bands, "signatures": signatures,
            "n_bytes": (1000 + mix(origin ^ np.uint64(9)) % np.uint64(5000)).astype(np.int64)}


def write_units(folder: Path, n: int, unit_docs: int, hot: int) -> list[UnitSummary]:
    schema = keys_schema(NUM_PERM, BANDS)
    rng = np.random.default_rng(0)
    units = []
    for u, start in enumerate(range(0, n, unit_docs)):
        numbers = np.arange(start, min(n, start + unit_docs), dtype=np.int64)
        source = SOURCES[rng.choice(len(SOURCES), p=[s for _, _, s in SOURCES])][0]
        key = f"{u:06d}"          # key order is number order
        keys = unit_keys(numbers, n, hot)
        k = len(numbers)
        columns = {
            "digest": pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), k, [None, pa.py_buffer(
                keys["digest"].astype("<u8").tobytes())]),
            "n_bytes": pa.array(keys["n_bytes"]),
            "sample_position": pa.array(numbers.astype(np.uint64)),
            "key_kind": pa.array(np.full(k, SIGNATURE_KEY, dtype=np.int8)),
            "short_key": pa.nulls(k, pa.binary(16)),
            "signature": pa.array(keys["signatures"], type=pa.binary(4 * NUM_PERM)),
            "contaminated_by": pa.nulls(k, pa.string()),
            **{f"band_{b}": pa.array(keys["bands"][:, b]) for b in range(BANDS)},
        }
        path = folder / key
        path.mkdir(parents=True)
        pq.write_table(pa.table(columns, schema=schema), path / "keys.parquet", compression="zstd")
        pq.write_table(pa.table({"id": [f"{source}/part-{u:05d}.jsonl#{i}" for i in range(k)],
                                 "text": pa.array([""] * k)}), path / "docs.parquet", compression="zstd")
        units.append(UnitSummary(key, source, str(path), key, k, ()))
    return units


class PeakRSS:
    """The peak resident memory of this process and of each of its descendants, sampled every 0.2 s."""

    def __init__(self):
        self.peaks: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry))
        found, todo = [], [os.getpid()]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += children.get(pid, [])
        return found

    def _watch(self):
        while not self._stop.wait(0.2):
            for pid in self._tree():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                lines = [line for line in status.splitlines() if line.startswith("VmRSS")]
                if not lines:           # a process that is exiting
                    continue
                rss = int(lines[0].split()[1]) << 10
                self.peaks[pid] = max(self.peaks.get(pid, 0), rss)
                self.names[pid] = ("driver" if pid == os.getpid() else
                                   "worker" if "sdk_worker" in cmd or "spawn_main" in cmd else
                                   "scheduler" if "dask scheduler" in cmd else "other")


def peak_steps(folder: Path) -> list[str]:
    """Per worker process, the step (DoFn) of the first element whose record shows that process's final peak RSS,
    and the high-water mark when it began (lower: the element raised it; equal: untimed work before it did)."""
    by_pid: dict[str, list[tuple[float, int, str, int]]] = {}
    for path in folder.glob("*.jsonl"):
        fn, pid = path.name.split("-")[:2]
        for line in path.read_text().splitlines():
            record = json.loads(line)
            by_pid.setdefault(pid, []).append((record["end"], record["max_rss"], fn, record["max_rss_before"]))
    found = []
    for pid, records in sorted(by_pid.items()):
        peak = max(r[1] for r in records)
        end, rss, fn, before = min(r for r in records if r[1] == peak)
        found.append(f"{fn} ({before / 1e9:.2f} -> {rss / 1e9:.2f} GB)")
    return found


def resolve_bytes_per_pair(pairs: int, rng: np.random.Generator) -> tuple[float, float]:
    """(peak bytes per pair, seconds) of parts.resolve over `pairs` random pairs among 1.5x as many members."""
    nodes = np.unique(rng.integers(0, 10**9, size=max(2, int(pairs * 1.5))))
    a, b = rng.integers(0, len(nodes), size=(2, pairs))
    keep = a != b
    edges = np.sort(np.stack([nodes[a[keep]], nodes[b[keep]]], axis=1), axis=1)
    used = np.unique(edges)
    members = parts.Members(used, rng.integers(1, 4, size=len(used)), np.ones(len(used), np.int64),
                            [f"web/part-{i % 997:05d}.jsonl#{i}" for i in used.tolist()],
                            np.zeros((len(used), 0), np.uint32))
    block = [parts.Edges(edges, members)]
    tracemalloc.start()
    start = time.perf_counter()
    parts.resolve(block)
    took = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / max(1, len(edges)), took


@contextmanager
def runner_and_options(args, root: Path):
    """The local runner with its worker processes, or a Dask cluster of separate processes started here."""
    if args.runner == "local":
        options = PipelineOptions(["--direct_running_mode=multi_processing", f"--direct_num_workers={args.workers}"])
        yield local_runner(options), options
        return
    from pipelines.dask_runner import DaskRunner

    dask = str(Path(sys.executable).with_name("dask"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    logs = open(root / "dask.log", "w")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=logs, stderr=subprocess.STDOUT),
             subprocess.Popen([dask, "worker", address, "--nworkers", str(args.workers), "--nthreads", "1",
                               "--memory-limit", args.memory_limit, "--no-dashboard",
                               "--local-directory", str(root / "dask-space")], stdout=logs, stderr=subprocess.STDOUT)]
    try:
        from distributed import Client

        with Client(address, timeout=120) as client:
            client.wait_for_workers(args.workers, timeout=120)
        # One bag partition per unit, as `corpus run` asks for (pipelines/run.py).
        yield DaskRunner(), PipelineOptions([f"--dask_client_address={address}", "--dask_partition_size=1"])
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=2_000_000)
    ap.add_argument("--unit-docs", type=int, default=25_000, help="documents per prepared unit (~64 MB of text)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--hot", type=int, default=20_000, help="pages of one boilerplate bucket")
    ap.add_argument("--partition-docs", type=int, default=2_000_000)
    ap.add_argument("--work", default="/tmp/dedup-bench")
    ap.add_argument("--keep", action="store_true", help="keep the generated units and work directory")
    ap.add_argument("--runner", choices=("local", "dask"), default="local")
    ap.add_argument("--memory-limit", default="3GB", help="per Dask worker (--runner dask): spills past 60-70%%")
    args = ap.parse_args()

    logging.getLogger("apache_beam").setLevel(logging.ERROR)
    root = Path(args.work)
    shutil.rmtree(root, ignore_errors=True)
    start = time.perf_counter()
    units = write_units(root / "units", args.docs, args.unit_docs, args.hot)
    size = sum(f.stat().st_size for f in (root / "units").rglob("*.parquet"))
    print(f"{args.docs:,} documents in {len(units)} units written in {time.perf_counter() - start:.0f} s "
          f"({size / 1e9:.2f} GB of key files)")

    config = Config(sources=tuple(SourceConfig(name=s, kind="jsonl", paths=("x",), priority=p)
                                  for s, p, _ in SOURCES),
                    dedup=DedupConfig(partition_docs=args.partition_docs))
    work = root / "work"
    cpu = os.times()
    start = time.perf_counter()
    with PeakRSS() as rss, runner_and_options(args, root) as (runner, options):
        with beam.Pipeline(runner=runner, options=options) as p:
            result = p | beam.Create(units) | Deduplicate(config, str(work))
            result.kept | beam.Map(lambda r: (work / "counts.txt").write_text(repr(r.counts)))
    wall = time.perf_counter() - start
    after = os.times()
    cpu_s = (after.user + after.system + after.children_user + after.children_system
             - cpu.user - cpu.system - cpu.children_user - cpu.children_system)
    counts = {tuple(k): v for k, v in eval((work / "counts.txt").read_text())}
    near = {k[2]: v[0] for k, v in counts.items() if k[:2] == ("dedup", "near")}
    removed: dict[str, int] = {}
    for k, v in counts.items():
        if k[0] == "funnel" and k[3] in ("duplicate", "near_duplicate"):
            removed[k[3]] = removed.get(k[3], 0) + v[0]
    workers = sorted((peak for pid, peak in rss.peaks.items() if rss.names[pid] == "worker"), reverse=True)
    driver = rss.peaks.get(os.getpid(), 0)
    took = step_timings(str(work))["Deduplicate"]
    print(f"partitions: {-(-args.docs // args.partition_docs)} ranges; elements: {took['elements']:,}, "
          f"{took['cpu_s']:.1f} CPU-s in the steps' own work")
    print(f"wall {wall:.1f} s, CPU {cpu_s:.1f} s ({cpu_s / args.docs * 1e6:.1f} CPU-us per document)")
    held = "the local runner's shuffles, of references" if args.runner == "local" else "the client and its graph"
    print(f"peak RSS: driver {driver / 1e9:.2f} GB ({held}); workers "
          + ", ".join(f"{w / 1e9:.2f}" for w in workers) + " GB")
    print("each worker's peak was reached in: " + ", ".join(peak_steps(work / "timings" / "Deduplicate")))
    if args.runner == "dask":
        spilled = sum(f.stat().st_size for f in (root / "dask-space").rglob("*") if f.is_file())
        print(f"dask: {args.workers} workers, --memory-limit {args.memory_limit}; "
              f"{spilled / 1e9:.2f} GB left spilled on their disks at the end")
    print(f"removed: {removed}; near: {near}")
    pairs = int(near.get("verified_pairs", 0)) or 100_000
    per_pair, took = resolve_bytes_per_pair(pairs, np.random.default_rng(1))
    print(f"resolve over {pairs:,} verified pairs: {per_pair:.0f} B per pair at its peak, {took:.2f} s")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
