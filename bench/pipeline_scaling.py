"""The whole local pipeline (DirectRunner) at 1x, 2x, 4x input: wall time, MB/s per core, peak RSS.

Usage: python bench/pipeline_scaling.py [../shared/data] [--sizes 1 2 4] [beam args, e.g. --direct_num_workers=2
       --direct_running_mode=multi_processing]

Input: the WARC, WET and Wikipedia files and the books of ../shared/data, copied k times under distinct names (so
the copies are read, filtered and deduplicated like new files: exact dedup removes them, which is part of the work).
Each size runs `corpus run` in a fresh process. Peak RSS is the peak of the summed RSS of that process and all its
descendants (Beam's multi-processing workers included), sampled from /proc every 0.1 s; where /proc is missing,
the largest single process's peak (getrusage) stands in.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from measure import run_measured

KINDS = (("web", "warc", "cc/warc/*.warc.gz"), ("web_wet", "wet", "cc/wet/*.wet.gz"),
         ("wikipedia", "wikipedia", "wikipedia/xml/*.xml.bz2"), ("books", "books", "books/*/*.txt"))


def build_input(data: Path, root: Path, copies: int) -> int:
    size = 0
    for name, _, pattern in KINDS:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(data.glob(pattern)):
            for k in range(copies):
                target = folder / f"copy{k}-{path.name}"
                shutil.copyfile(path, target)
                size += target.stat().st_size
    return size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4])
    args, beam_args = parser.parse_known_args()
    cores = os.cpu_count() or 1
    for copies in args.sizes:
        root = Path(tempfile.mkdtemp(prefix=f"scale{copies}-"))
        size = build_input(Path(args.data), root / "in", copies)
        config = {"sources": [{"name": n, "kind": k, "paths": [f"in/{n}/*"], "languages": ["en", "ru", "bg"]}
                              for n, k, _ in KINDS],
                  "output": {"keep_rejects": True}}
        (root / "config.yaml").write_text(json.dumps(config))
        run = run_measured([sys.executable, "-m", "corpus.cli", "run", "--config", str(root / "config.yaml"),
                            "--out", str(root / "out"), *beam_args])
        seconds, peak = run.seconds, run.peak_rss
        if run.returncode != 0:
            print(run.stderr[-2000:])
            raise SystemExit(f"run at {copies}x failed")
        stats = json.loads((root / "out" / "stats.json").read_text())
        docs_in = sum(rows[0]["docs_in"] for rows in stats["funnel"].values())
        print(f"{copies}x: {size / 1e6:.1f} MB in ({docs_in} documents), {seconds:.1f} s wall, "
              f"{size / 1e6 / seconds:.2f} MB/s = {size / 1e6 / seconds / cores:.2f} MB/s per core ({cores} cores), "
              f"peak RSS {peak / 2**20:.0f} MB = {peak / size:.1f}x input bytes")
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
