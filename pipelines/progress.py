"""Progress of a local run on a terminal: one status line, redrawn every second, read off the work directory.

Worker processes do the work and their stderr is not the terminal's, so the driver reads what they leave behind:
a unit being read leaves `prepared/<unit>/progress.json` (documents and input bytes so far, rewritten every second),
and every step of a unit ends with its `done.json`. The line says documents and MB read, the current read rate
(over the last RATE_WINDOW seconds, so start-up does not drag it down) and the time left at that rate, then how
many units the later steps have finished.
"""

from __future__ import annotations

import collections
import json
import os
import threading
import time
from typing import NamedTuple

from corpus.console import StatusLine
from corpus.sources.units import Unit
from corpus.stages import STAGE_READ

PROGRESS = "progress.json"      # what PrepareUnit leaves while it reads a unit (when asked to)
RATE_WINDOW = 20.0              # seconds the current rate is measured over
LATER_STEPS = (("tokenized", "tokenized"), ("runs", "written"))


class ReadSoFar(NamedTuple):
    docs: int
    bytes: int          # of input (as the planner sized the unit)


def read_done(summary: dict) -> int:
    """Documents read (stage 1's input) from a prepared unit's done.json summary."""
    return sum(value[0] for key, value in summary.get("counts", ())
               if key[0] == "funnel" and key[2] == STAGE_READ and key[3] == "in")


def _load(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):    # not there yet, or being replaced
        return None


class RunProgress:
    """Draws the progress of a run whose work directory is `work` (local) on `status`, until `stop()`."""

    def __init__(self, work: str, units: list[tuple[Unit, str]], status: StatusLine, interval: float = 1.0):
        """`units`: the planned (unit, fingerprint) pairs; a prepared unit is done when its done.json holds that
        fingerprint, as for the step itself (a done file of another run's settings is not progress)."""
        self._work, self._status, self._interval = work, status, interval
        self._units = {unit.key: unit.n_bytes for unit, _ in units}
        self._fingerprints = {unit.key: fingerprint for unit, fingerprint in units}
        self._finished: dict[str, ReadSoFar] = {}
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._status.close()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._status.show(self.line())

    def _unit_read(self, key: str) -> ReadSoFar:
        if key in self._finished:
            return self._finished[key]
        folder = os.path.join(self._work, "prepared", key)
        done = _load(os.path.join(folder, "done.json"))
        if done is not None and done.get("fingerprint") == self._fingerprints[key]:
            self._finished[key] = ReadSoFar(read_done(done.get("summary") or {}), self._units[key])
            return self._finished[key]
        partial = _load(os.path.join(folder, PROGRESS)) or {}
        return ReadSoFar(int(partial.get("docs", 0)), min(int(partial.get("bytes", 0)), self._units[key]))

    def _finished_later(self, step: str) -> int:
        # Their fingerprints chain on what the run computes, so a done file here may be an earlier run's, about to
        # be redone: at worst a unit shows as finished a little early.
        return sum(os.path.exists(os.path.join(self._work, step, key, "done.json")) for key in self._units)

    def line(self) -> str:
        reads = [self._unit_read(key) for key in self._units]
        docs, done_bytes = sum(r.docs for r in reads), sum(r.bytes for r in reads)
        total = sum(self._units.values())
        now = time.monotonic()
        self._samples.append((now, done_bytes))
        while len(self._samples) > 2 and now - self._samples[1][0] >= RATE_WINDOW:
            self._samples.popleft()
        parts = [f"corpus: read {docs:,} docs, {size(done_bytes)} of {size(total)}"]
        if done_bytes < total:
            parts[0] += f" ({100 * done_bytes / max(total, 1):.0f}%)"
            parts.append(self._rate(total - done_bytes))
        units = len(self._units)
        parts += [f"{label} {self._finished_later(step)}/{units} units" for step, label in LATER_STEPS]
        return " | ".join(p for p in parts if p)

    def _rate(self, left: int) -> str:
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        if t1 - t0 < 1.0 or b1 <= b0:
            return "starting" if b1 == 0 else ""
        rate = (b1 - b0) / (t1 - t0)
        return f"{size(rate)}/s, {_duration(left / rate)} left"


def size(n_bytes: float) -> str:
    """Bytes as a person reads them: 850 kB, 12.5 MB, 312 MB, 4.2 GB (decimal units, as MB/s in the README)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if n_bytes >= scale:
            value = n_bytes / scale
            return f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"
    return f"{n_bytes / 1e3:,.0f} kB"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds // 60 % 60:02d} min"
