"""Progress of a local run on a terminal: one line, redrawn every two seconds, read off the work directory.

Every step of a unit ends by writing its `done.json`, so counting those files tells how far each step is, whatever
the runner and however many worker processes do the work (their stderr is not the terminal's).
"""

from __future__ import annotations

import os
import sys
import threading
import time

STEPS = (("prepared", "read"), ("tokenized", "tokenized"), ("runs", "written"))


class UnitProgress(threading.Thread):
    def __init__(self, work: str, unit_bytes: dict[str, int], interval: float = 2.0):
        super().__init__(daemon=True)
        self._work, self._units, self._interval = work, unit_bytes, interval
        self._stop_event = threading.Event()
        self._started = time.time()

    @staticmethod
    def wanted(work: str) -> bool:
        return "://" not in work and sys.stderr.isatty()

    def run(self) -> None:
        while not self._stop_event.wait(self._interval):
            self._draw()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        sys.stderr.write("\r\x1b[2K")
        sys.stderr.flush()

    def _draw(self) -> None:
        parts = []
        read_bytes = 0
        for step, label in STEPS:
            done = [k for k in self._units if os.path.exists(os.path.join(self._work, step, k, "done.json"))]
            parts.append(f"{label} {len(done)}/{len(self._units)}")
            if step == "prepared":
                read_bytes = sum(self._units[k] for k in done)
        elapsed = max(time.time() - self._started, 1e-6)
        line = (f"corpus: units {' | '.join(parts)} | {read_bytes / 1e6:,.0f} MB read "
                f"({read_bytes / 1e6 / elapsed:.1f} MB/s)")
        sys.stderr.write("\r\x1b[2K" + line)
        sys.stderr.flush()
