"""The whole default pipeline on generated input of growing size: wall time, throughput per core, peak memory,
resume after a kill, and byte-identity across worker counts.

Usage: python bench/scale.py [--gb 1 5] [--seed 0] [--work /tmp/corpus-scale] [--kill-at 0.5]
                             [--workers 1 2 4] [--workers-gb 0.2] [extra `corpus run` arguments]

Input is made by bench/make_corpus.py (kept under --work and reused when present: delete it to regenerate).
Each run is `corpus run --config GEN/config.yaml --out OUT` in a fresh process, measured as a whole process tree
(bench/measure.py): MB/s is of generated document text; "cores used" is CPU seconds over wall seconds, and MB/s
per core divides by it. --kill-at F runs the smallest size once more, SIGKILLs it at F of the first run's wall
time, runs the same command again and compares shards, rejects and stats.json with the uninterrupted run.
--workers N... runs --workers-gb of input with `--direct_num_workers=N` each and compares their outputs.
Run nothing else heavy meanwhile: on a small machine another process changes every figure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

from make_corpus import make_corpus
from measure import Measured, run_measured

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def generated(work: Path, gb: float, seed: int, data: Path) -> tuple[Path, dict]:
    folder = work / f"gen-{gb:g}gb-seed{seed}"
    if not (folder / "truth.json").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"generating {gb:g} GB (seed {seed}) in {folder} ...", flush=True)
        make_corpus(folder, gb, seed, data)
    return folder, json.loads((folder / "truth.json").read_text())


def corpus_run(gen: Path, out: Path, extra: list[str], kill_after: float | None = None) -> Measured:
    return run_measured([sys.executable, "-m", "corpus.cli", "run", "--config", str(gen / "config.yaml"),
                         "--out", str(out), *extra], kill_after=kill_after)


def output_digest(out: Path) -> str:
    """One hash over the bytes of the shards, the rejects and stats.json (what a rerun must reproduce)."""
    h = hashlib.sha256()
    paths = sorted([*out.glob("shards/*.parquet"), *out.glob("rejects/*.parquet"), out / "stats.json"])
    for path in paths:
        h.update(str(path.relative_to(out)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def report(label: str, run: Measured, text_bytes: int, out: Path) -> None:
    if run.returncode != 0:
        print(run.stderr[-3000:])
        raise SystemExit(f"{label}: corpus run failed (exit {run.returncode})")
    stats = json.loads((out / "stats.json").read_text())
    docs_in = sum(rows[0]["docs_in"] for rows in stats["funnel"].values())
    docs_out = sum(s["docs"] for s in stats["sources"].values())
    mb_s = text_bytes / 1e6 / run.seconds
    print(f"{label}: {text_bytes / 1e6:,.0f} MB of text, {docs_in:,} documents in, {docs_out:,} rows out; "
          f"{run.seconds:,.0f} s wall, {mb_s:.2f} MB/s, {run.cores_used:.2f} cores used, "
          f"{mb_s / max(run.cores_used, 1e-9):.2f} MB/s per core used; peak RSS {run.peak_rss / 2**30:.2f} GB "
          f"({run.peak_rss / text_bytes:.2f}x input; {run.peak_breakdown()})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, nargs="+", default=[1.0, 5.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default="/tmp/corpus-scale")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--kill-at", type=float, default=None, help="SIGKILL the smallest run at this fraction")
    parser.add_argument("--workers", type=int, nargs="*", default=[], help="compare outputs across worker counts")
    parser.add_argument("--workers-gb", type=float, default=0.2)
    args, extra = parser.parse_known_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    runs: dict[float, tuple[Measured, int]] = {}
    for gb in sorted(args.gb):
        gen, truth = generated(work, gb, args.seed, Path(args.data))
        out = work / f"out-{gb:g}gb"
        shutil.rmtree(out, ignore_errors=True)
        run = corpus_run(gen, out, extra)
        report(f"{gb:g} GB", run, truth["text_bytes"], out)
        runs[gb] = (run, truth["text_bytes"])
    if len(runs) > 1:
        (small, small_bytes), (large, large_bytes) = runs[min(runs)], runs[max(runs)]
        print(f"{max(runs):g} GB vs {min(runs):g} GB: input {large_bytes / small_bytes:.2f}x, "
              f"wall {large.seconds / small.seconds:.2f}x, peak RSS {large.peak_rss / small.peak_rss:.2f}x")

    if args.kill_at is not None:
        gb = min(runs)
        full, text_bytes = runs[gb]
        gen, _ = generated(work, gb, args.seed, Path(args.data))
        reference = output_digest(work / f"out-{gb:g}gb")
        out = work / f"out-{gb:g}gb-killed"
        shutil.rmtree(out, ignore_errors=True)
        killed = corpus_run(gen, out, extra, kill_after=args.kill_at * full.seconds)
        resumed = corpus_run(gen, out, extra)
        report(f"{gb:g} GB resumed after SIGKILL at {killed.seconds:.0f} s", resumed, text_bytes, out)
        same = output_digest(out) == reference
        print(f"resume: {resumed.seconds:.0f} s = {resumed.seconds / full.seconds:.0%} of a full run; outputs "
              f"{'byte-identical' if same else 'DIFFERENT'} to the uninterrupted run")

    if args.workers:
        gen, truth = generated(work, args.workers_gb, args.seed, Path(args.data))
        digests = {}
        for n in args.workers:
            out = work / f"out-{args.workers_gb:g}gb-w{n}"
            shutil.rmtree(out, ignore_errors=True)
            run = corpus_run(gen, out, [*extra, f"--direct_num_workers={n}"])
            report(f"{args.workers_gb:g} GB, {n} worker(s)", run, truth["text_bytes"], out)
            digests[n] = output_digest(out)
        print(f"outputs across worker counts {args.workers}: "
              f"{'byte-identical' if len(set(digests.values())) == 1 else 'DIFFERENT: ' + str(digests)}")


if __name__ == "__main__":
    main()
