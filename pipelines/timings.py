"""How long each step of a run took, for `manifest.json` → `steps` (timings never enter stats.json, which stays
byte-identical between identical runs).

Every element a step works on (a unit, a partition, a shard) leaves one small record: its start and end (wall
clock), the CPU seconds of its worker process meanwhile, the documents and bytes it took in, and the worker's peak
memory so far. A `TimedDoFn` writes its bundle's records as one file at the bundle's end (object stores charge,
and take tens of milliseconds, per request: a dedup partition of a few milliseconds must not cost one), `timed`
alone one file per element; both go to `<work>/timings/<step>/`. The driver clears the folder before a run and
sums it after, whatever the runner and wherever the workers were: a step's wall time is from its first element's
start to its last one's end. An element whose step was reused from an earlier run leaves no record, so a step
that did nothing this run says `reused`.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from contextlib import contextmanager
from typing import Any, Iterator

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from corpus.stages import PIPELINE_STEPS
from pipelines.workdir import join, write_bytes

try:
    import resource
except ImportError:      # Windows
    resource = None

TIMINGS = "timings"


class Took:
    """What the timed element took in; the body of `timed` sets it."""

    def __init__(self):
        self.docs = 0
        self.bytes = 0


def _max_rss() -> int:
    """The worker process's peak resident memory so far, in bytes (which element raised it shows in its record)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 if resource else 0


@contextmanager
def _measured(into: list[dict[str, Any]]) -> Iterator[Took]:
    took = Took()
    wall, cpu, rss_before = time.time(), time.process_time(), _max_rss()
    yield took
    # max_rss_before: whether the element raised the peak itself or found it already there.
    into.append({"start": wall, "end": time.time(), "cpu": time.process_time() - cpu, "docs": took.docs,
                 "bytes": took.bytes, "max_rss": _max_rss(), "max_rss_before": rss_before})


def _write(work: str, step: str, name: str, records: list[dict[str, Any]]) -> None:
    write_bytes(join(work, TIMINGS, step, f"{name}.jsonl"),
                "".join(json.dumps(r) + "\n" for r in records).encode("utf-8"))


@contextmanager
def timed(work: str, step: str, name: str) -> Iterator[Took]:
    """Time the work of one element of `step` (`name` unique within the step) and leave its record."""
    records: list[dict[str, Any]] = []
    with _measured(records) as took:
        yield took
    _write(work, step, name, records)


class TimedDoFn(beam.DoFn):
    """A DoFn of `step` that times its elements with `self.timed()`: one file of records per bundle."""

    def __init__(self, work: str, step: str):
        self._work, self._step = work, step
        self._records: list[dict[str, Any]] = []

    def start_bundle(self):
        self._records = []

    def timed(self):
        return _measured(self._records)

    def finish_bundle(self):
        if self._records:
            # Named by DoFn and process: which step of a worker raised its peak (`max_rss`) can be read off.
            _write(self._work, self._step, f"{type(self).__name__}-{os.getpid()}-{uuid.uuid4().hex}", self._records)
            self._records = []


def step_timings(work: str) -> dict[str, dict[str, Any]]:
    """Per step of PIPELINE_STEPS: wall_s, cpu_s, docs, mb, docs_per_s and mb_per_s over this run's records (`reused`
    where the step left none: everything it would have done was reused, or it did not run)."""
    records: dict[str, list[dict[str, Any]]] = {step: [] for step in PIPELINE_STEPS}
    for result in FileSystems.match([join(work, TIMINGS, "*", "*.jsonl")]):
        for meta in result.metadata_list:
            step = meta.path.replace("\\", "/").rsplit("/", 2)[-2]
            with FileSystems.open(meta.path) as f:
                records.setdefault(step, []).extend(json.loads(line) for line in f.read().decode("utf-8").splitlines()
                                                    if line.strip())
    steps = {}
    for step, found in records.items():
        if not found:
            steps[step] = {"reused": True, "wall_s": 0.0, "cpu_s": 0.0, "docs": 0, "mb": 0.0}
            continue
        wall = max(r["end"] for r in found) - min(r["start"] for r in found)
        docs, mb = sum(r["docs"] for r in found), sum(r["bytes"] for r in found) / 1e6
        steps[step] = {"wall_s": round(wall, 3), "cpu_s": round(sum(r["cpu"] for r in found), 3), "docs": docs,
                       "mb": round(mb, 3), "elements": len(found),
                       "docs_per_s": round(docs / wall, 1) if wall > 0 else None,
                       "mb_per_s": round(mb / wall, 3) if wall > 0 else None}
    return steps
