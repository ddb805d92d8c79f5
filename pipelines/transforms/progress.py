"""Progress for local runs: a pass-through step that counts documents and bytes and, when stderr is a terminal,
redraws one line at most every two seconds (never on workers, whose stderr is a log). Every runner also gets the
counts as Beam metrics (`corpus/<label>_docs`, `corpus/<label>_bytes`: the Dataflow console shows them)."""

from __future__ import annotations

import sys
import threading
import time

import apache_beam as beam
from apache_beam.metrics import Metrics

_LOCK = threading.Lock()
_TOTALS: dict[str, list[float]] = {}      # label -> [docs, bytes]; per process
_STARTED = [0.0]                           # the first document seen, so MB/s excludes graph construction
_LAST_DRAW = [0.0]
_FINISHED = [False]


def _draw(force: bool = False) -> None:
    now = time.time()
    if not force and now - _LAST_DRAW[0] < 2.0:
        return
    _LAST_DRAW[0] = now
    elapsed = max(now - _STARTED[0], 1e-6)
    parts = [f"{label} {docs:,.0f} docs {nbytes / 1e6:,.1f} MB ({nbytes / 1e6 / elapsed:.2f} MB/s)"
             for label, (docs, nbytes) in _TOTALS.items()]
    sys.stderr.write("\r\x1b[2K" + "corpus: " + " | ".join(parts))
    sys.stderr.flush()


class Progress(beam.DoFn):
    def __init__(self, label: str):
        self._label = label
        self._docs = Metrics.counter("corpus", f"{label}_docs")
        self._bytes = Metrics.counter("corpus", f"{label}_bytes")
        self._tty = False

    def setup(self):
        self._tty = sys.stderr.isatty()

    def process(self, doc):
        n_bytes = doc.n_bytes
        self._docs.inc()
        self._bytes.inc(n_bytes)
        if self._tty:
            with _LOCK:
                if not _STARTED[0]:
                    _STARTED[0] = time.time()
                totals = _TOTALS.setdefault(self._label, [0, 0])
                totals[0] += 1
                totals[1] += n_bytes
                _draw()
        yield doc

    def teardown(self):
        if self._tty and _TOTALS:
            with _LOCK:
                if not _FINISHED[0]:
                    _FINISHED[0] = True
                    _draw(force=True)
                    sys.stderr.write("\n")
