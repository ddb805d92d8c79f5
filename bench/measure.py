"""Run a command and measure its whole process tree: wall time, peak summed RSS, CPU seconds (Linux /proc).

Shared by the bench scripts. Beam's multi-processing workers are descendants of the `corpus` process, so the tree's
RSS and CPU time are what the machine really spent; "cores used" is CPU seconds over wall seconds.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> dict[int, tuple[int, int, float]]:
    """pid -> (parent pid, RSS bytes, CPU seconds) for every process /proc shows."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry)] = (int(fields[1]), int(fields[21]) * PAGE, (int(fields[11]) + int(fields[12])) / TICKS)
    return table


def tree(pid: int) -> dict[int, tuple[int, float]]:
    """pid -> (RSS bytes, CPU seconds) for `pid` and all its descendants."""
    table = _processes()
    children: dict[int, list[int]] = {}
    for p, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(p)
    out, stack = {}, [pid]
    while stack:
        p = stack.pop()
        if p in table:
            out[p] = table[p][1:]
        stack += children.get(p, [])
    return out


@dataclass
class Measured:
    seconds: float
    peak_rss: int          # bytes, summed over the process tree at its peak
    cpu_seconds: float     # user + system, summed over every process of the tree
    returncode: int
    stderr: str
    peak_at: float = 0.0                     # seconds after the start when the tree's RSS peaked
    peak_parts: tuple[int, ...] = ()         # each process's RSS then: the command's own first, then the largest

    def peak_breakdown(self) -> str:
        """Who held the peak, e.g. `at 212 s: 0.61 (main) + 0.80 + 0.75 GB` (processes under 50 MB left out)."""
        if not self.peak_parts:
            return ""
        main, *rest = self.peak_parts
        return (f"at {self.peak_at:.0f} s: {main / 2**30:.2f} (main)"
                + "".join(f" + {r / 2**30:.2f}" for r in rest if r >= 50 << 20) + " GB")

    @property
    def cores_used(self) -> float:
        return self.cpu_seconds / self.seconds if self.seconds else 0.0


class _Sampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.cpu, self.done = pid, 0, {}, threading.Event()
        self.peak_at, self.peak_parts, self._t0 = 0.0, (), time.perf_counter()

    def run(self):
        while not self.done.wait(0.1):
            procs = tree(self.pid)
            total = sum(rss for rss, _ in procs.values())
            if total > self.peak:
                self.peak, self.peak_at = total, time.perf_counter() - self._t0
                own = procs.get(self.pid, (0, 0.0))[0]
                self.peak_parts = (own, *sorted((rss for p, (rss, _) in procs.items() if p != self.pid),
                                                reverse=True))
            for p, (_, cpu) in procs.items():
                self.cpu[p] = max(self.cpu.get(p, 0.0), cpu)


def run_measured(cmd: list[str], kill_after: float | None = None, env: dict | None = None) -> Measured:
    """Run `cmd`; with `kill_after`, SIGKILL its whole process group after that many seconds (a crash)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    sampler = _Sampler(proc.pid)
    if os.path.isdir("/proc"):
        sampler.start()
    timer = None
    if kill_after is not None:
        timer = threading.Timer(kill_after, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
    _, stderr = proc.communicate()
    seconds = time.perf_counter() - started
    if timer is not None:
        timer.cancel()
    sampler.done.set()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Without /proc: the largest single process's peak and the children's CPU time stand in.
    peak = sampler.peak or usage.ru_maxrss * 1024
    cpu = sum(sampler.cpu.values()) or usage.ru_utime + usage.ru_stime
    return Measured(seconds, peak, cpu, proc.returncode, stderr, sampler.peak_at, sampler.peak_parts)
