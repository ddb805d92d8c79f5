"""A per-document time budget for the expensive parsers (HTML extraction, wikitext), reason `timeout` (issue 14).

Readers run inside Beam worker threads, where no signal reaches them, and the slow cases sit in C (lxml,
resiliparse, regex) where no Python-level check runs. So, like datatrove's extractor sandbox, the work goes to a
helper process: the caller waits `seconds` for the answer, and past that kills the helper (a new one starts on the
next call) and raises `DocumentTimeout`. One helper per `TimeBudget`, started on first use; a reader of plain
text never starts one. `seconds=0` runs the call inline, with no limit.

The helper is a `python -c` running `serve`, talking length-prefixed pickles over its stdin and a private
copy of its stdout (a library printing to stdout cannot break the exchange). It exits when its parent goes away.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from typing import Any, BinaryIO, Callable

_LENGTH = struct.Struct("<Q")
_HELPER = "from corpus.sources.budget import serve; serve()"


class DocumentTimeout(Exception):
    """One document's parse ran past its budget."""


class HelperError(Exception):
    """The helper raised: its exception type and message, re-raised in the caller."""


def describe(exc: BaseException) -> str:
    """"Type: message" of an exception, the same whether the parse ran in the helper or inline."""
    return str(exc) if isinstance(exc, HelperError) else f"{type(exc).__name__}: {exc}"


STARTUP_SECONDS = 120.0     # for a helper to import and warm up its parsers; never counted against a document


class TimeBudget:
    """`warm_up`: calls (module-level function, args) the helper makes before it takes documents, so that imports
    and first-use setup (trafilatura's, mwparserfromhell's) never count against a document's budget."""

    def __init__(self, seconds: float, warm_up: tuple[tuple[Callable[..., Any], tuple], ...] = ()):
        self.seconds = seconds
        self.warm_up = warm_up
        self._proc: subprocess.Popen | None = None

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)` within the budget. `fn` must be a module-level function (it travels by name)."""
        if self.seconds <= 0:
            return fn(*args)
        try:
            proc = self._helper()
            _send(proc.stdin, (fn, args))
            ok, value = _receive(proc.stdout, time.monotonic() + self.seconds)
        except (DocumentTimeout, EOFError, OSError):
            self.close()
            raise
        if not ok:
            raise HelperError(value)
        return value

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                pipe.close()

    def _helper(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            self.close()
            root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
            # Its own session: a terminal's Ctrl-C goes to our process group only, so it cannot reach the helper
            # while its interpreter starts (before `serve` ignores SIGINT), where it printed a traceback. The
            # helper still ends with us (PR_SET_PDEATHSIG) and with Ctrl-C (corpus.interrupt kills descendants).
            self._proc = subprocess.Popen([sys.executable, "-c", _HELPER], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, env=env, bufsize=0, start_new_session=True)
            _send(self._proc.stdin, self.warm_up)
            try:
                _receive(self._proc.stdout, time.monotonic() + STARTUP_SECONDS)     # "ready"
            except DocumentTimeout:
                raise OSError(f"the parse helper did not start within {STARTUP_SECONDS:g} s") from None
        return self._proc

    def __getstate__(self):
        # A budget travels to workers as its setting; each worker starts its own helper.
        return {"seconds": self.seconds, "warm_up": self.warm_up, "_proc": None}

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _send(pipe: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(_LENGTH.pack(len(data)) + data)
    pipe.flush()


def _read_exactly(pipe: BinaryIO, n: int, deadline: float | None) -> bytes:
    parts, have = [], 0
    fd = pipe.fileno()
    while have < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise DocumentTimeout()
        chunk = os.read(fd, min(n - have, 1 << 20))
        if not chunk:
            raise EOFError("the helper process ended")
        parts.append(chunk)
        have += len(chunk)
    return b"".join(parts)


def _receive(pipe: BinaryIO, deadline: float | None) -> Any:
    (length,) = _LENGTH.unpack(_read_exactly(pipe, _LENGTH.size, deadline))
    return pickle.loads(_read_exactly(pipe, length, deadline))


def _die_with_parent() -> None:
    """The kernel kills the helper when its parent dies (Linux), even in the middle of a C-level parse that holds
    the GIL; elsewhere a thread notices the parent is gone between the interpreter's switches."""
    try:
        import ctypes

        if ctypes.CDLL(None).prctl(1, signal.SIGKILL) == 0:       # PR_SET_PDEATHSIG
            return
    except (OSError, AttributeError):
        pass
    parent = os.getppid()

    def orphaned():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=orphaned, daemon=True).start()


def serve() -> None:
    """The helper: its warm-up calls, "ready", then (fn, args) in, (True, result) or (False, "Type: message") out,
    until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # Ctrl-C is the parent's to handle; it then closes us
    _die_with_parent()
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)   # whatever a library prints goes to stderr, not into the exchange
    stdin = sys.stdin.buffer
    for fn, args in _receive(stdin, None):
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - a warm-up is only a warm-up
            pass
    _send(out, "ready")
    while True:
        try:
            fn, args = _receive(stdin, None)
        except EOFError:
            return
        try:
            reply = (True, fn(*args))
        except Exception as exc:  # noqa: BLE001 - the caller counts it against the document
            reply = (False, f"{type(exc).__name__}: {exc}")
        _send(out, reply)

