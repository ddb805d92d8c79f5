"""What a person at a terminal sees on stderr: one status line that a run redraws, and whole lines printed above it.

A line printed while the status line is up (a log record, the run's last word) clears it first and then draws it
again below, so nothing is ever glued to the end of a progress line. Not on a terminal, there is no status line
and lines are written as they come.
"""

from __future__ import annotations

import logging
import shutil
import sys
import threading
from typing import TextIO

CLEAR = "\r\x1b[2K"      # carriage return, then erase the whole line (VT100; every terminal emulator in use)


class StatusLine:
    """The redrawn bottom line of a terminal. Thread-safe: a progress thread draws while the main thread and
    logging print. After `close()` nothing is drawn again (a late redraw must not follow the last message)."""

    def __init__(self, stream: TextIO | None = None):
        self._stream = stream
        self._lock = threading.RLock()
        self._text = ""
        self._closed = False

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr      # looked up when used: tests and callers may swap sys.stderr

    def show(self, text: str) -> None:
        """Replace the status line with `text`, cut to the terminal's width (a wrapped line cannot be redrawn)."""
        width = shutil.get_terminal_size((100, 24)).columns
        with self._lock:
            if self._closed:
                return
            self._text = text if len(text) < width else text[:max(width - 2, 1)] + "…"
            self._write(CLEAR + self._text)

    def print(self, line: str) -> None:
        """A whole line above the status line, which is drawn again below it."""
        with self._lock:
            self._write(CLEAR + line + "\n" + (self._text if not self._closed else ""))

    def close(self, last_line: str | None = None) -> None:
        """Take the status line away for good, leaving the cursor at the start of an empty line."""
        with self._lock:
            if self._text or last_line is not None:
                self._write(CLEAR + (last_line + "\n" if last_line is not None else ""))
            self._text, self._closed = "", True

    def _write(self, text: str) -> None:
        stream = self.stream
        stream.write(text)
        stream.flush()


def status_line_if_terminal(stream: TextIO | None = None) -> StatusLine | None:
    """A status line when stderr is a terminal; None (no progress, no line clearing) when it is a file or pipe."""
    target = stream or sys.stderr
    try:
        return StatusLine(stream) if target.isatty() else None
    except (AttributeError, ValueError):     # a closed or file-like stream without isatty
        return None


def say(line: str, status: StatusLine | None = None) -> None:
    """Print one line on stderr, above the status line when there is one."""
    if status is not None:
        status.print(line)
    else:
        print(line, file=sys.stderr, flush=True)


class ConsoleHandler(logging.Handler):
    """Log records to stderr as whole lines, above the status line when one is up. `status` is set per command."""

    def __init__(self):
        super().__init__()
        self.status: StatusLine | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            say(self.format(record), self.status)
        except Exception:  # noqa: BLE001 - logging must never end a run (logging.Handler's own rule)
            self.handleError(record)
