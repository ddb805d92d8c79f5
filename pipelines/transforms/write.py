"""Stage 12 over the work directory: every tokenized unit writes its rows as sorted runs, one per shard (with the
mix plan applied: units left out, repeats `ID@k` added), and every shard merges its runs into one Parquet file.
Rejects go the same way into their own shards. Memory per worker is a bounded buffer, never a shard.
"""

from __future__ import annotations

import json
import resource
from typing import Any, Iterator

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from corpus.config import Config
from corpus.ids import copy_id
from corpus.mix import mix_position
from corpus.shard_runs import merge_runs, write_runs
from corpus.shards import shard_count, shard_name
from corpus.stages import STAGE_MIX
from corpus.stats import ADDED, CountBook, merge_counts
from pipelines.memory import release_memory
from pipelines.transforms.stage import RejectFile, StageOutput
from pipelines.parquet_files import iter_batches
from pipelines.timings import timed
from pipelines.workdir import fingerprint, join, step_folder

RUN_MEMORY_BYTES = 128 << 20     # rows a unit buffers before it sorts and writes a part of its runs
RUNS_STEP = "runs"               # the work directory's folder of runs (deleted once the shards are written)


def _plan_digest(plan: dict[str, Any]) -> str:
    return fingerprint("plan", {s: repr(p) for s, p in sorted(plan["plans"].items())}, plan["num_shards"])


def _mixed(batches: Iterator[pa.RecordBatch], plan, seed: int, counts: CountBook) -> Iterator[pa.RecordBatch]:
    """The unit's rows as the mix writes them: each row `copies` times, repeats renamed `ID@k` (SPEC stage 10)."""
    for batch in batches:
        ids = batch.column("id").to_pylist()
        sources = batch.column("source").to_pylist()
        sizes = batch.column("n_bytes").to_pylist()
        tokens = batch.column("n_tokens").to_pylist()
        langs = batch.column("lang").to_pylist()
        take, new_ids = [], []
        for row, (unit_id, source) in enumerate(zip(ids, sources)):
            copies = plan[source].copies(mix_position(unit_id, seed))
            counts.funnel(source, STAGE_MIX, "in", sizes[row])
            counts.add(("mix", source, "available", ""), sizes[row] if tokens[row] is None else tokens[row], 1)
            if copies == 0:
                counts.funnel(source, STAGE_MIX, "not_sampled", sizes[row])
            elif copies > 1:
                counts.funnel(source, STAGE_MIX, ADDED + "repeats", (copies - 1) * sizes[row], docs=copies - 1)
            for c in range(copies):
                take.append(row)
                new_ids.append(copy_id(unit_id, c))
                counts.funnel(source, STAGE_MIX, "out", sizes[row])
                counts.add(("output", source, langs[row] or "und", ""), 1, sizes[row])
                counts.add(("output_tokens", source, langs[row] or "und", ""), tokens[row] or 0, 0)
        if take:
            out = batch.take(pa.array(np.asarray(take, dtype=np.int64)))
            at = out.schema.get_field_index("id")
            yield out.set_column(at, out.schema.field(at), pa.array(new_ids, pa.string()))


class WriteRuns(beam.DoFn):
    """Tokenized unit -> ("runs", shard, run path) elements and one ("counts", records) element: its rows with the
    mix plan applied, as sorted runs. Reused when the unit and the plan are those of a finished run."""

    def __init__(self, config: Config, work: str):
        self._config, self._work = config, work

    def process(self, unit: dict[str, Any], plan: dict[str, Any]):
        seed = self._config.seed
        expected = fingerprint("runs", unit["fingerprint"], _plan_digest(plan), seed)
        folder = step_folder(self._work, RUNS_STEP, unit["key"])
        done = folder.done(expected)
        if done is None:
            folder.start()
            counts = CountBook()
            rows = iter_batches(join(unit["folder"], "units.parquet")) if unit["rows"] else iter(())
            with timed(self._work, "WriteShards", f"runs-{unit['key']}"):
                runs = write_runs(_mixed(rows, plan["plans"], seed, counts), seed, plan["num_shards"],
                                  _opener(folder, "shards"), memory_bytes=RUN_MEMORY_BYTES)
            done = {"runs": [(r.shard, _run_name("shards", r.shard, r.part)) for r in runs],
                    "counts": counts.records()}
            folder.finish(expected, done)
            release_memory()
        for shard, name in done["runs"]:
            yield "runs", shard, folder.file(name)
        yield "counts", done["counts"]


class WriteRejectRuns(beam.DoFn):
    """RejectFile -> (shard, run path) elements: the file's rows as sorted runs over the reject shards. Reused
    while the file's step and the number of reject shards are those of a finished run."""

    def __init__(self, config: Config, work: str):
        self._config, self._work = config, work

    def process(self, rejected: RejectFile, rejects_shards: int):
        seed = self._config.seed
        expected = fingerprint("reject-runs", rejected.fingerprint, rejects_shards, seed)
        folder = step_folder(self._work, RUNS_STEP, rejected.key)
        done = folder.done(expected)
        if done is None:
            folder.start()
            batches = iter_batches(rejected.path) if FileSystems.exists(rejected.path) else iter(())
            with timed(self._work, "WriteRejects", f"runs-{rejected.key}"):
                runs = write_runs(batches, seed, rejects_shards, _opener(folder, "rejects"),
                                  memory_bytes=RUN_MEMORY_BYTES)
            done = {"runs": [(r.shard, _run_name("rejects", r.shard, r.part)) for r in runs]}
            folder.finish(expected, done)
            release_memory()
        for shard, name in done["runs"]:
            yield shard, folder.file(name)


def _run_name(kind: str, shard: int, part: int) -> str:
    return f"{kind}-{shard:05d}-{part:03d}.arrow"


def _opener(folder, kind: str):
    def open_run(shard: int, part: int):
        return FileSystems.create(folder.file(_run_name(kind, shard, part)))
    return open_run


class WriteShards(beam.PTransform):
    """(tokenized units, plan) -> StageOutput: kept = one index line per shard written, counts = the mix funnel
    and the output counts (the plan applied). Runs per unit, then one merge per shard."""

    def __init__(self, config: Config, work: str, staging: str, index_name: str):
        super().__init__()
        self._config, self._work, self._staging, self._index_name = config, work, staging, index_name

    def expand(self, pcolls):
        tokenized, plan = pcolls
        written = (tokenized
                   | "OwnUnits" >> beam.Map(lambda t: t)   # its own input: not fused with the steps feeding its side
                   | "WriteRuns" >> beam.ParDo(WriteRuns(self._config, self._work), beam.pvalue.AsSingleton(plan)))
        runs = written | "Runs" >> beam.Filter(lambda r: r[0] == "runs") | "ByShard" >> beam.Map(lambda r: r[1:])
        counts = written | "Counts" >> beam.FlatMap(
            lambda r: [(tuple(k), tuple(v)) for k, v in r[1]] if r[0] == "counts" else [])
        shard_total = plan | "ShardCount" >> beam.Map(lambda pl: pl["num_shards"])
        index = ((runs, shard_total)
                 | "Merge" >> MergeShards(self._staging, "shards", self._config.seed, self._work)
                 | "Index" >> beam.io.WriteToText(join(self._staging, self._index_name), shard_name_template=""))
        return StageOutput(index, None, counts)


class WriteRejects(beam.PTransform):
    """(reject files of every stage, the counts of stages 1-9) -> the reject shards and their index. The number of
    reject shards comes from the bytes those stages dropped."""

    def __init__(self, config: Config, work: str, staging: str, index_name: str):
        super().__init__()
        self._config, self._work, self._staging, self._index_name = config, work, staging, index_name

    def expand(self, pcolls):
        files, counts = pcolls
        target = self._config.output.shard_target_bytes
        shards = (counts
                  | "AllCounts" >> beam.combiners.ToList()
                  | "ShardCount" >> beam.Map(lambda records: rejects_shard_count(merge_counts(records), target)))
        runs = files | "WriteRuns" >> beam.ParDo(WriteRejectRuns(self._config, self._work),
                                                 beam.pvalue.AsSingleton(shards))
        return ((runs, shards)
                | "Merge" >> MergeShards(self._staging, "rejects", self._config.seed, self._work)
                | "Index" >> beam.io.WriteToText(join(self._staging, self._index_name), shard_name_template=""))


def rejects_shard_count(counts: dict, target_bytes: int) -> int:
    """Reject shards sized on the bytes of every dropped document (the mix's `not_sampled` are no rejects)."""
    total = sum(n_bytes for (table, _, stage, reason), (_, n_bytes) in counts.items()
                if table == "funnel" and stage != STAGE_MIX and reason not in ("in", "out")
                and not reason.startswith(ADDED))
    return shard_count(total, target_bytes, None)


class _MergeShard(beam.DoFn):
    def __init__(self, staging: str, kind: str, seed: int, work: str):
        self._staging, self._kind, self._seed, self._work = staging, kind, seed, work

    def setup(self):
        # A shard merges one run per unit at once: hundreds of open files on a big corpus. Let the process have
        # as many as the system allows (the usual soft limit is 1024).
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    def process(self, element, count: int):
        shard, paths = element
        name = shard_name(self._kind, shard, count)
        runs = [FileSystems.open(path) for path in sorted(paths)]
        try:
            # Every run of a kind has its schema (the shards': tokens as the tokenizer's dtype; the rejects').
            schema = pa.ipc.open_stream(runs[0]).schema
            runs[0].seek(0)
            step = "WriteShards" if self._kind == "shards" else "WriteRejects"
            with timed(self._work, step, f"merge-{shard:05d}") as took, \
                    FileSystems.create(join(self._staging, name)) as out:
                merged = merge_runs(runs, out, schema, self._seed)
                took.docs, took.bytes = merged.rows, merged.bytes
        finally:
            for run in runs:
                run.close()
        release_memory()
        yield json.dumps({"path": name, "rows": merged.rows, "bytes": merged.bytes, "sha256": merged.sha256,
                          "index": shard, "count": count, "tokens": merged.tokens}, sort_keys=True)


class MergeShards(beam.PTransform):
    """(shard, run path) elements -> one shard file of `kind` per shard that has runs, and its index line."""

    def __init__(self, staging: str, kind: str, seed: int, work: str):
        super().__init__()
        self._staging, self._kind, self._seed, self._work = staging, kind, seed, work

    def expand(self, pcolls):
        runs, count = pcolls
        return (runs
                | "GroupRuns" >> beam.GroupByKey()
                | "Merge" >> beam.ParDo(_MergeShard(self._staging, self._kind, self._seed, self._work),
                                        beam.pvalue.AsSingleton(count)))

