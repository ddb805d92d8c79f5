"""Stages 7-9 as a Beam step: the prepared units' key files read as one numbered list of documents, decided by
`corpus.dedup.decide`, and the decisions written back as one small file per unit (`<work>/dedup/<unit>.parquet`:
the rows removed and the survivors of clusters), with the funnel and dedup counts.

One worker reads the key columns it needs, a unit at a time, into flat numpy arrays indexed by a global document
number (units in key order, rows in order): digests and sizes for exact dedup (~40 bytes a document), then one LSH
band at a time (8 bytes a document). Only the documents in a duplicate group or a candidate pair are looked at
further: their signatures, ids and, for pairs near the threshold, their text.
"""

from __future__ import annotations

import io
from typing import Any, NamedTuple, Sequence

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from corpus.config import Config
from corpus.dedup.decide import banding_for, decide, unit_rows
from corpus.intermediate import DECISIONS_SCHEMA, keys_schema
from pipelines.parquet_files import iter_batches, read_table
from pipelines.transforms.prepare import UnitSummary
from pipelines.transforms.stage import StageOutput
from pipelines.workdir import StepFolder, fingerprint, join, write_bytes

STEP = "dedup"


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
        decided = (prepared
                   | "AllUnits" >> beam.combiners.ToList()
                   | "Decide" >> beam.Map(self._decide))
        counts = decided | "Counts" >> beam.FlatMap(lambda d: [(tuple(k), tuple(v)) for k, v in d.counts])
        return StageOutput(decided, None, counts)

    def _decide(self, units: list[UnitSummary]) -> DedupResult:
        cfg = self._config
        priorities = {s.name: s.priority for s in cfg.sources}
        expected = fingerprint("dedup", sorted((u.key, u.fingerprint) for u in units), cfg.dedup, priorities)
        folder = StepFolder(join(self._work, STEP))
        done = folder.done(expected)
        if done is None:
            folder.start()
            mh = cfg.dedup.minhash
            keys = UnitKeys(units, priorities, keys_schema(mh.num_perm, banding_for(mh).bands))
            decisions = decide(keys, cfg.dedup)
            _write_decisions(keys, folder, decisions)
            done = {"counts": decisions.counts}
            folder.finish(expected, done)
        return DedupResult(expected, folder.path, done["counts"])


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
