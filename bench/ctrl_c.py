"""Ctrl-C at any moment: `corpus run` on configs/shared_data.yaml in a pseudo-terminal, ^C typed at a given number of
seconds after its `corpus: running` line (or mid-run: every unit read, the later steps going), N tries each.

Prints, per moment, how many tries ended as they must: exit 130 within 10 s of the key, the screen showing exactly
the running line then `corpus: interrupted` (warnings aside), and no process of the run left. Needs the test extra
(pyte) and ../shared/data. Run from the repo root:

    python bench/ctrl_c.py --tries 10 --moments 0.5 1 2 4 8 mid-run
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_terminal import SHARED_CONFIG, Terminal, corpus_argv, group_is_gone  # noqa: E402

READ_ALL = re.compile(rb"read [\d,]+ docs, ([\d.,]+ [kMG]B) of \1 \|")


def one_try(moment: str, folder: Path) -> tuple[bool, str]:
    out = folder / "out"
    t = Terminal(corpus_argv("run", "--config", str(SHARED_CONFIG), "--out", str(out)), ROOT)
    try:
        running = f"corpus: running {SHARED_CONFIG} -> {out}"
        if not t.read_until(running, timeout=120):
            return False, "no running line"
        if moment == "mid-run":
            if not t.wait_for(READ_ALL, timeout=120):
                return False, "never saw every unit read"
        else:
            time.sleep(float(moment))
        if t.proc.poll() is not None:
            return False, "finished before Ctrl-C"
        t.press_ctrl_c()
        pressed = time.monotonic()
        code = t.wait(timeout=60)
        seconds = time.monotonic() - pressed
        shown = [line for line in t.screen() if not line.startswith("WARNING ")]
        problems = []
        if code != 130:
            problems.append(f"exit {code}")
        if seconds >= 10:
            problems.append(f"took {seconds:.1f} s")
        if shown != [running, "corpus: interrupted"]:
            problems.append(f"screen {shown[1:]!r}")
        if not group_is_gone(t.proc.pid):
            problems.append("processes left")
        return not problems, f"{seconds:.2f} s" + ("; " + ", ".join(problems) if problems else "")
    finally:
        t.close()
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tries", type=int, default=10)
    parser.add_argument("--moments", nargs="+", default=["0.5", "1", "2", "4", "8", "mid-run"])
    args = parser.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for moment in args.moments:
            results = [one_try(moment, Path(tmp)) for _ in range(args.tries)]
            ok = sum(r[0] for r in results)
            failed += args.tries - ok
            times = sorted(float(r[1].split()[0]) for r in results)
            print(f"Ctrl-C at {moment:>7}: {ok}/{args.tries} as required; time to exit: median {times[len(times) // 2]:.2f} s, "
                  f"max {times[-1]:.2f} s", flush=True)
            for good, detail in results:
                if not good:
                    print(f"    failed: {detail}", flush=True)
    print(f"{failed} failed", flush=True)


if __name__ == "__main__":
    main()
