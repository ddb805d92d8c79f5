"""How long each step of a run took, for `manifest.json` → `steps` (timings never enter stats.json, which stays
byte-identical between identical runs).

Every element a step works on (a unit, a partition, a shard) leaves one small record in `<work>/timings/<step>/`:
its start and end (wall clock), the CPU seconds of its worker process meanwhile, and the documents and bytes it
took in. The driver clears the folder before a run and sums it after, whatever the runner and wherever the
workers were: a step's wall time is from its first element's start to its last one's end. An element whose step
was reused from an earlier run leaves no record, so a step that did nothing this run says `reused`.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from typing import Any, Iterator

from apache_beam.io.filesystems import FileSystems

from corpus.stages import PIPELINE_STEPS
from pipelines.workdir import join, write_bytes

TIMINGS = "timings"


class Took:
    """What the timed element took in; the body of `timed` sets it."""

    def __init__(self):
        self.docs = 0
        self.bytes = 0


@contextmanager
def timed(work: str, step: str, name: str) -> Iterator[Took]:
    """Time the work of one element of `step` (`name` unique within the step) and leave its record."""
    took = Took()
    wall, cpu = time.time(), time.process_time()
    yield took
    record = {"start": wall, "end": time.time(), "cpu": time.process_time() - cpu, "docs": took.docs,
              "bytes": took.bytes}
    write_bytes(join(work, TIMINGS, step, f"{name}.json"), json.dumps(record).encode("utf-8"))


def step_timings(work: str) -> dict[str, dict[str, Any]]:
    """Per step of PIPELINE_STEPS: wall_s, cpu_s, docs, mb, docs_per_s and mb_per_s over this run's records (`reused`
    where the step left none: everything it would have done was reused, or it did not run)."""
    records: dict[str, list[dict[str, Any]]] = {step: [] for step in PIPELINE_STEPS}
    for result in FileSystems.match([join(work, TIMINGS, "*", "*.json")]):
        for meta in result.metadata_list:
            step = meta.path.replace("\\", "/").rsplit("/", 2)[-2]
            with FileSystems.open(meta.path) as f:
                records.setdefault(step, []).append(json.loads(f.read().decode("utf-8")))
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
