"""Stages 7-9 as Beam steps: the prepared units' documents numbered globally (units in key order, rows in order),
exact dedup decided per digest partition on as many workers as there are partitions, then the rest decided by
`corpus.dedup.decide`, and the decisions written back as one small file per unit (`<work>/dedup/<unit>.parquet`:
the rows removed and the survivors of clusters), with the funnel and dedup counts.

  Number          every unit's first document number, the partition count, the step's fingerprint (one record)
  ExactKeys       per unit: its digests, priorities and ids, cut by digest range into one block per partition
  DecideExact     per partition (GroupByKey): its duplicate groups, whole there -> `<work>/dedup/exact/part-P`
  Decide          one worker: the exact removals read back, then near dedup and decontamination over key arrays
                  (one LSH band at a time, 8 bytes a document), and the decision files per unit.

Only the documents in a duplicate group or a candidate pair are looked at further: their signatures, ids and, for
pairs near the threshold, their text.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any, NamedTuple, Sequence

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from corpus.config import Config
from corpus.dedup.arrays import Removed
from corpus.dedup.decide import banding_for, decide, digest_partition, partition_duplicates, unit_rows
from corpus.intermediate import DECISIONS_SCHEMA, keys_schema
from corpus.stages import STAGE_EXACT_DEDUP
from pipelines.parquet_files import iter_batches, read_table
from pipelines.transforms.prepare import UnitSummary
from pipelines.transforms.stage import StageOutput
from pipelines.timings import timed
from pipelines.workdir import StepFolder, delete_tree, fingerprint, join, write_bytes

STEP = "dedup"
EXACT = "exact"           # the exact removals of each partition, below the step's folder until it finishes


class Numbering(NamedTuple):
    """Every prepared unit's place in the global numbering of documents, and how the corpus is partitioned."""

    starts: dict[str, int]      # unit key -> the number of its first document (units with documents only)
    partitions: int             # digest partitions of exact dedup
    fingerprint: str            # the dedup step's: nothing is partitioned when its decisions are already there
    done: bool


class ExactBlock(NamedTuple):
    """One unit's documents that fall in one digest partition."""

    numbers: np.ndarray         # (k,) int64 global numbers
    digests: np.ndarray         # (k, 16) uint8
    priority: np.ndarray        # (k,) int64
    ids: list[str]


class DedupResult(NamedTuple):
    """What the dedup step tells the later steps: its fingerprint (theirs chain on it), where the decision files
    are, and its counts."""

    fingerprint: str
    folder: str
    counts: list


class UnitKeys:
    """The prepared units as one numbered list of documents (number <-> unit, row) and readers of their columns:
    `corpus.dedup.decide.DedupKeys` over the units' `keys.parquet` and `docs.parquet`."""

    def __init__(self, units: list[UnitSummary], priorities: dict[str, int], key_types: pa.Schema):
        self.units = sorted((u for u in units if u.docs), key=lambda u: u.key)
        sizes = np.array([u.docs for u in self.units], dtype=np.int64)
        self.starts = np.concatenate(([0], np.cumsum(sizes)))
        self.n = int(self.starts[-1])
        self.unit_of = np.repeat(np.arange(len(self.units)), sizes)
        self.source_names = sorted({u.source for u in self.units})
        self.source_of = np.repeat([self.source_names.index(u.source) for u in self.units], sizes).astype(np.int16)
        self.priority = np.repeat([priorities.get(u.source, 0) for u in self.units], sizes).astype(np.int64)
        self.key_types = key_types

    def column(self, name: str) -> pa.ChunkedArray:
        """One key column over every document (a unit at a time; the caller keeps only what it converts)."""
        chunks = [chunk for u in self.units
                  for chunk in read_table(join(u.folder, "keys.parquet"), [name])[name].chunks]
        return pa.chunked_array(chunks, type=self.key_types.field(name).type)

    def ids(self, numbers: np.ndarray) -> Sequence[str]:
        return self._values(numbers, "docs.parquet", "id")

    def signatures(self, numbers: np.ndarray) -> Sequence[bytes]:
        return self._values(numbers, "keys.parquet", "signature")

    def texts(self, numbers: np.ndarray) -> Sequence[str]:
        return self._values(numbers, "docs.parquet", "text")

    def _values(self, numbers: np.ndarray, file: str, column: str) -> list[Any]:
        found = self._rows_of(numbers, file, column)
        return [found[int(i)] for i in np.asarray(numbers)]

    def _rows_of(self, numbers: np.ndarray, file: str, column: str) -> dict[int, Any]:
        """Chosen documents' values of one column of a unit file: only that column is read, a batch at a time,
        and only the chosen rows are converted."""
        wanted: dict[int, Any] = {}
        numbers = np.unique(np.asarray(numbers, dtype=np.int64))
        for u in np.unique(self.unit_of[numbers]).tolist():
            start = int(self.starts[u])
            rows = numbers[self.unit_of[numbers] == u] - start
            offset = 0
            for batch in iter_batches(join(self.units[u].folder, file), columns=[column]):
                inside = rows[(rows >= offset) & (rows < offset + batch.num_rows)]
                if len(inside):
                    values = batch.column(0).take(pa.array(inside - offset)).to_pylist()
                    wanted.update(zip((inside + start).tolist(), values))
                offset += batch.num_rows
        return wanted


class Deduplicate(beam.PTransform):
    """Prepared units -> StageOutput: kept = one DedupResult (decisions in `<work>/dedup/`), counts = the funnel
    of stages 7-9 and the dedup figures. It rejects by decision only: the rejects are written with their text by
    Tokenize, which reads every survivor's text anyway."""

    def __init__(self, config: Config, work: str):
        super().__init__()
        self._config, self._work = config, work

    def expand(self, prepared):
        units = prepared | "AllUnits" >> beam.combiners.ToList()
        numbering = units | "Number" >> beam.Map(self._numbering)
        exact = (prepared
                 | "ExactKeys" >> beam.ParDo(ExactKeys(self._config, self._work), beam.pvalue.AsSingleton(numbering))
                 | "ByPartition" >> beam.GroupByKey()
                 | "DecideExact" >> beam.ParDo(DecideExact(self._work), beam.pvalue.AsSingleton(numbering)))
        decided = units | "Decide" >> beam.Map(self._decide, beam.pvalue.AsList(exact))
        counts = decided | "Counts" >> beam.FlatMap(lambda d: [(tuple(k), tuple(v)) for k, v in d.counts])
        return StageOutput(decided, None, counts)

    def _expected(self, units: list[UnitSummary]) -> str:
        cfg = self._config
        priorities = {s.name: s.priority for s in cfg.sources}
        # How the corpus is partitioned never changes a decision: a new partition size reuses them.
        settings = dataclasses.replace(cfg.dedup, partition_docs=0)
        return fingerprint("dedup", sorted((u.key, u.fingerprint) for u in units), settings, priorities)

    def _numbering(self, units: list[UnitSummary]) -> Numbering:
        ordered = sorted((u for u in units if u.docs), key=lambda u: u.key)
        starts = np.concatenate(([0], np.cumsum([u.docs for u in ordered], dtype=np.int64)))
        expected = self._expected(units)
        partitions = max(1, -(-int(starts[-1]) // self._config.dedup.partition_docs))
        done = StepFolder(join(self._work, STEP)).done(expected) is not None
        return Numbering({u.key: int(s) for u, s in zip(ordered, starts)}, partitions, expected, done)

    def _decide(self, units: list[UnitSummary], exact_parts: list[str]) -> DedupResult:
        cfg = self._config
        priorities = {s.name: s.priority for s in cfg.sources}
        expected = self._expected(units)
        folder = StepFolder(join(self._work, STEP))
        done = folder.done(expected)
        if done is None:
            folder.start()
            mh = cfg.dedup.minhash
            with timed(self._work, "Deduplicate", "decide") as took:
                keys = UnitKeys(units, priorities, keys_schema(mh.num_perm, banding_for(mh).bands))
                decisions = decide(keys, cfg.dedup, exact=_read_exact(exact_parts) if cfg.dedup.exact else None)
                _write_decisions(keys, folder, decisions)
                entering = [v for k, v in decisions.counts
                            if k[0] == "funnel" and k[2:] == [STAGE_EXACT_DEDUP, "in"]]
                took.docs, took.bytes = sum(v[0] for v in entering), sum(v[1] for v in entering)
            done = {"counts": decisions.counts}
            folder.finish(expected, done)
            delete_tree(folder.file(EXACT))
        return DedupResult(expected, folder.path, done["counts"])


class ExactKeys(beam.DoFn):
    """UnitSummary -> (partition, ExactBlock) for each digest partition its documents fall in."""

    def __init__(self, config: Config, work: str):
        self._config, self._work = config, work

    def process(self, unit: UnitSummary, numbering: Numbering):
        if numbering.done or not self._config.dedup.exact or not unit.docs:
            return
        with timed(self._work, "Deduplicate", f"exact-keys-{unit.key}"):
            yield from self._blocks(unit, numbering)

    def _blocks(self, unit: UnitSummary, numbering: Numbering):
        digests = read_table(join(unit.folder, "keys.parquet"), ["digest"])["digest"].combine_chunks()
        digests = np.frombuffer(digests.buffers()[1], dtype=np.uint8, count=16 * unit.docs).reshape(unit.docs, 16)
        ids = read_table(join(unit.folder, "docs.parquet"), ["id"])["id"].to_pylist()
        numbers = numbering.starts[unit.key] + np.arange(unit.docs, dtype=np.int64)
        priority = {s.name: s.priority for s in self._config.sources}.get(unit.source, 0)
        partition = digest_partition(digests, numbering.partitions)
        for p in np.unique(partition).tolist():
            mine = np.flatnonzero(partition == p)
            yield p, ExactBlock(numbers[mine], digests[mine], np.full(len(mine), priority, dtype=np.int64),
                                [ids[i] for i in mine.tolist()])


class DecideExact(beam.DoFn):
    """(partition, its blocks) -> the path of its exact removals (global numbers): every group of equal digests
    lies whole in one partition, so each is decided alone."""

    def __init__(self, work: str):
        self._work = work

    def process(self, element, numbering: Numbering):
        # element: (partition, its ExactBlocks). Not annotated: Beam would check it against what GroupByKey gives.
        p, blocks = element
        with timed(self._work, "Deduplicate", f"exact-{p:05d}"):
            yield self._decide(p, list(blocks), numbering)

    def _decide(self, p: int, blocks: list[ExactBlock], numbering: Numbering) -> str:
        removed = partition_duplicates(np.concatenate([b.numbers for b in blocks]),
                                       np.concatenate([b.digests for b in blocks]),
                                       np.concatenate([b.priority for b in blocks]),
                                       [i for b in blocks for i in b.ids])
        path = join(self._work, STEP, EXACT, numbering.fingerprint, f"part-{p:05d}.parquet")
        table = pa.table({"doc": removed.docs, "duplicate_of": removed.duplicate_of})
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        write_bytes(path, buffer.getvalue())
        return path


def _read_exact(paths: list[str]) -> Removed:
    """Stage 7's removals of every partition, as one Removed in ascending document numbers."""
    tables = [read_table(path) for path in sorted(paths)]
    docs = np.concatenate([t["doc"].to_numpy() for t in tables] or [np.zeros(0, np.int64)])
    named = np.concatenate([t["duplicate_of"].to_numpy() for t in tables] or [np.zeros(0, np.int64)])
    order = np.argsort(docs, kind="stable")
    return Removed(docs[order].astype(np.int64), named[order].astype(np.int64))


def _write_decisions(keys: UnitKeys, folder: StepFolder, decisions) -> None:
    """One small file per unit with the rows that were removed or survive a cluster; none for a quiet unit."""
    for u, unit in enumerate(keys.units):
        path = folder.file(f"{unit.key}.parquet")
        rows = unit_rows(decisions, int(keys.starts[u]), int(keys.starts[u + 1]))
        if not rows:
            if FileSystems.exists(path):
                FileSystems.delete([path])
            continue
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, schema=DECISIONS_SCHEMA), buffer, compression="zstd")
        write_bytes(path, buffer.getvalue())


def unit_decisions(dedup: DedupResult, unit: UnitSummary) -> dict[int, dict[str, Any]]:
    """Row -> decision for the rows stages 7-9 removed or marked as cluster survivors (a small file per unit)."""
    path = join(dedup.folder, f"{unit.key}.parquet")
    if not FileSystems.exists(path):
        return {}
    return {r["row"]: r for r in read_table(path).to_pylist()}
