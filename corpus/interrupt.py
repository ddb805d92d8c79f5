"""Ctrl-C ends a command within seconds, at any moment, with one line and exit 130, and leaves no process behind.

Why not Python's default KeyboardInterrupt alone: a local run's worker processes ignore SIGINT (the driver owns
Ctrl-C and stops them), and Beam's runner, unwinding, waits for every worker it started, including one that has not
connected yet, so the run could hang for good. So the first Ctrl-C here:
  1. kills every process this one started, at once (workers and their helpers: nothing of theirs is needed, the
     work directory only counts finished steps);
  2. raises KeyboardInterrupt in the main thread, so the run unwinds as usual and removes its staging files;
  3. starts a clock: if unwinding takes longer than `grace` seconds, the process ends anyway.
A second Ctrl-C ends it at once. The presses are read from a wakeup file descriptor by a thread of ours, so they
are acted on even while the main thread waits inside C code.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections import defaultdict
from typing import Callable

EXIT_CODE = 130     # what a shell reports for a process ended by SIGINT (128 + 2)


def child_map() -> dict[int, list[int]]:
    """parent pid -> child pids of every process visible here (/proc on Linux, `ps` elsewhere)."""
    children: dict[int, list[int]] = defaultdict(list)
    if os.path.isdir("/proc/self"):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:          # the process ended while we looked
                continue
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])   # after "pid (comm) state"
            children[ppid].append(int(name))
        return children
    listing = subprocess.run(["ps", "-A", "-o", "pid=", "-o", "ppid="], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        pid, ppid = (int(x) for x in line.split())
        children[ppid].append(pid)
    return children


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, children before their children."""
    children = child_map()
    found, queue = [], list(children.get(pid, []))
    while queue:
        child = queue.pop(0)
        found.append(child)
        queue.extend(children.get(child, []))
    return found


def kill_descendants() -> None:
    for pid in descendants(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _silent(args) -> None:
    """threading.excepthook once Ctrl-C was pressed: a thread's failure then comes from the interruption."""


class CtrlC:
    """While installed (a context manager, in the main thread), SIGINT ends the process as the module says.
    `last_words()` prints the one line; it runs once, whichever of the main thread or the clock gets there first."""

    def __init__(self, last_words: Callable[[], None], grace: float = 3.0):
        self._last_words, self._grace = last_words, grace
        self._lock = threading.Lock()
        self._presses = 0
        self._installed = False

    @property
    def pressed(self) -> bool:
        return self._presses > 0

    def __enter__(self) -> "CtrlC":
        if threading.current_thread() is not threading.main_thread():
            return self        # signals reach the main thread only: nothing to install
        self._reader, writer = socket.socketpair()
        writer.setblocking(False)
        self._writer = writer
        self._old_handler = signal.signal(signal.SIGINT, self._on_signal)
        self._old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        self._installed = True
        threading.Thread(target=self._watch, name="ctrl-c", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if not self._installed:
            return
        signal.set_wakeup_fd(self._old_fd)
        signal.signal(signal.SIGINT, self._old_handler)
        self._writer.close()        # ends the watching thread
        self._installed = False

    def _on_signal(self, signum, frame) -> None:
        # The watching thread counts the presses and kills; the main thread unwinds from the first one only
        # (a second KeyboardInterrupt in the middle of clean-up would only print a traceback).
        if self._presses <= 1:
            raise KeyboardInterrupt

    def _watch(self) -> None:
        while True:
            try:
                data = self._reader.recv(64)
            except OSError:
                return
            if not data:
                return
            for _ in range(data.count(bytes([signal.SIGINT]))):
                self._presses += 1
                # Beam's threads that watch the workers raise when one is killed: that is ours, not news.
                threading.excepthook = _silent
                kill_descendants()
                if self._presses == 1:
                    clock = threading.Timer(self._grace, self.exit_now)
                    clock.daemon = True
                    clock.start()
                else:
                    self.exit_now()

    def exit_now(self) -> None:
        """Say the last line once, kill what is left and end the process with 130, skipping interpreter shutdown
        (which would wait for Beam's threads)."""
        with self._lock:
            self._last_words()
            kill_descendants()         # a worker started after the first press
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(EXIT_CODE)
