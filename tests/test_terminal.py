"""What a person at a terminal sees: `corpus` run under a pseudo-terminal, its screen rendered by a terminal emulator
(pyte), and Ctrl-C typed as a terminal sends it (the ^C character, which the tty turns into SIGINT for the whole
foreground process group). Every behaviour that depends on stderr being a terminal is tested here."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import fcntl
import time
from pathlib import Path

import pyte
import pytest

from corpus.cli import SAMPLE_NOTICE
from corpus.config import sample_config_path
from corpus.console import StatusLine

ROOT = Path(__file__).resolve().parents[1]
SHARED_CONFIG = ROOT / "configs" / "shared_data.yaml"
COLUMNS, LINES = 160, 60          # the terminal the command is told it has
SCREEN = (1000, 500)              # the screen it is rendered on: wide and tall enough to keep every line whole


class Terminal:
    """A command on its own pseudo-terminal (its controlling tty, as a shell gives it), and its screen."""

    def __init__(self, argv: list[str], cwd: Path):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        self.proc = subprocess.Popen(argv, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self._master = master
        self.raw = b""

    def read_until(self, text: str, timeout: float) -> bool:
        """Read output until `text` shows in it (True) or the time is up or the command ended (False)."""
        return self.wait_for(re.compile(re.escape(text.encode())), timeout)

    def wait_for(self, pattern: re.Pattern, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not pattern.search(self.raw):
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(min(left, 0.2)) and self.proc.poll() is not None:
                return bool(pattern.search(self.raw))
        return True

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self._master, 65536)
        except OSError:         # EIO: every process holding the tty has ended
            return False
        self.raw += data
        return bool(data)

    def press_ctrl_c(self) -> None:
        os.write(self._master, b"\x03")

    def wait(self, timeout: float) -> int:
        """The exit code, reading all output until then."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        while self._read(0.1):
            pass
        return self.proc.wait(timeout=max(deadline - time.monotonic(), 0.1))

    def screen(self) -> list[str]:
        """The non-empty lines the terminal shows now."""
        screen = pyte.Screen(*SCREEN)
        stream = pyte.ByteStream(screen)
        stream.feed(self.raw.replace(b"\n", b"\r\n"))     # the tty's output processing (onlcr) is not emulated
        return [line.rstrip() for line in screen.display if line.strip()]

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self._master)


@pytest.fixture
def terminal():
    opened: list[Terminal] = []

    def start(argv: list[str], cwd: Path) -> Terminal:
        opened.append(Terminal(argv, cwd))
        return opened[-1]

    yield start
    for t in opened:
        t.close()


def corpus_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "corpus", *args]


def group_is_gone(pgid: int, timeout: float = 5.0) -> bool:
    """No process is left in the command's process group (its worker processes included)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_readme_command_1_on_a_terminal_shows_progress_then_the_summary(terminal, tmp_path):
    # README command 1, after the install: `corpus run && corpus stats out`, in a terminal.
    shell = f"{sys.executable} -m corpus run && {sys.executable} -m corpus stats out"
    t = terminal(["sh", "-c", shell], tmp_path)
    assert t.wait(timeout=300) == 0, t.raw.decode(errors="replace")
    raw = t.raw.decode()
    drawn = raw.index("\r\x1b[2Kcorpus: read ")            # the status line was drawn, while the run went on
    summary = raw.index("corpus: 79 documents in (5 units), 42 written to 2 shard(s)")
    assert drawn < summary
    screen = t.screen()
    assert screen[0] == SAMPLE_NOTICE
    assert screen[1] == f"corpus: running {sample_config_path()} -> out"
    shown = [line for line in screen if not line.startswith("WARNING ")]
    assert shown[2].startswith("corpus: 79 documents in (5 units), 42 written to 2 shard(s) in ")
    assert shown[2].endswith("; conservation ok; see `corpus stats out`")
    assert re.search(r" shard\(s\) in [\d.]+ s \([\d.]+ MB/s per core\); ", shown[2])
    assert not any("corpus: read " in line for line in screen)   # the status line was taken away at the end
    assert any(line.startswith("== funnel: ") for line in shown[3:])     # then `corpus stats out` printed
    assert "Traceback" not in raw


def test_warnings_print_as_whole_lines_above_the_status_line_on_a_terminal(terminal, tmp_path):
    t = terminal(corpus_argv("run", "--out", "out"), tmp_path)
    assert t.wait(timeout=300) == 0
    warnings = [line for line in t.screen() if "WARNING prepare" in line]
    # The sample's five damaged records (read errors and normalize drops), each on a line of its own.
    assert len(warnings) == 5
    assert all(line.startswith("WARNING prepare: ") for line in warnings)
    assert not any("corpus: read" in line for line in warnings)


def test_not_on_a_terminal_there_is_no_status_line_and_no_escape_codes(tmp_path):
    done = subprocess.run(corpus_argv("run", "--out", "out"), cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0
    assert "\x1b" not in done.stderr and "\r" not in done.stderr
    assert "corpus: read " not in done.stderr


def test_a_user_error_on_a_terminal_is_one_clean_line(terminal, tmp_path):
    t = terminal(corpus_argv("run", "--config", "nosuch.yaml"), tmp_path)
    assert t.wait(timeout=60) == 2
    screen = t.screen()
    assert len(screen) == 1 and screen[0].startswith("corpus: config error: ")
    assert "nosuch.yaml" in screen[0]


@pytest.mark.parametrize("moment", [0.5, 2.0, 8.0, "mid-run"])
def test_ctrl_c_on_a_terminal_ends_the_run_at_once_with_one_line(moment, terminal, tmp_path, shared):
    out = tmp_path / "out"
    t = terminal(corpus_argv("run", "--config", str(SHARED_CONFIG), "--out", str(out)), ROOT)
    running = f"corpus: running {SHARED_CONFIG} -> {out}"
    assert t.read_until(running, timeout=120)
    if moment == "mid-run":       # every unit is read (read X of X) and the later steps are under way
        assert t.wait_for(re.compile(rb"read [\d,]+ docs, ([\d.,]+ [kMG]B) of \1 \|"), timeout=120)
    else:
        time.sleep(moment)
    assert t.proc.poll() is None, "the run finished before Ctrl-C"
    t.press_ctrl_c()
    pressed = time.monotonic()
    code = t.wait(timeout=30)
    assert time.monotonic() - pressed < 10
    assert code == 130
    shown = [line for line in t.screen() if not line.startswith("WARNING ")]
    assert shown == [running, "corpus: interrupted"]
    assert b"Traceback" not in t.raw and b"Exception in thread" not in t.raw
    assert group_is_gone(t.proc.pid)      # the worker processes too
    assert not (out / "manifest.json").exists()


def test_status_line_log_lines_never_glue_to_it_and_nothing_draws_after_the_last_line(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    stream = io.StringIO()
    status = StatusLine(stream)
    status.show("corpus: read 10 docs, 1.0 of 5.0 MB (20%)")
    status.print("WARNING prepare: read error (empty_file) empty.txt@0")
    status.show("corpus: read 20 docs, 2.0 of 5.0 MB (40%) | " + "x" * 80)     # longer than the terminal
    status.close("corpus: interrupted")
    status.show("corpus: read 30 docs")          # a late draw from the progress thread: never shown
    screen = pyte.Screen(60, 6)
    pyte.Stream(screen).feed(stream.getvalue().replace("\n", "\r\n"))
    lines = [line.rstrip() for line in screen.display]
    assert lines == ["WARNING prepare: read error (empty_file) empty.txt@0", "corpus: interrupted", "", "", "", ""]
    drawn = stream.getvalue().split("\r\x1b[2K")
    assert "corpus: read 20 docs, 2.0 of 5.0 MB (40%) | " + "x" * 14 + "…" in drawn   # cut to 59 columns
