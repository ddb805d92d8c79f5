"""The near-dedup stage inside the real Beam pipeline (DirectRunner): wall time, docs/s, peak RSS.

Usage: python bench/near_dedup_beam.py [../shared/data] [--docs 20000] [--dedup on|off] [beam args...]

Writes `--docs` documents (real passages from ../shared/data plus planted near-duplicates, as in
bench/near_dedup.py) to a JSONL file and runs `corpus run` on it with every filter off, once with near-dedup and
once without when `--dedup both` (the default): the difference is the cost of stage 8's transforms.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from near_dedup import LEVELS, base_passages, make_variant  # noqa: E402


def run_once(root: Path, dedup: bool, beam_args: list[str]) -> None:
    cfg = {"sources": [{"name": "bench", "kind": "jsonl", "paths": ["docs.jsonl"], "languages": None}],
           "langid": {"min_lang_score": 0.0},
           "dedup": {"minhash": {"enabled": dedup}},
           "output": {"keep_rejects": False}}
    (root / "bench.yaml").write_text(json.dumps(cfg))
    out = root / ("out-dedup" if dedup else "out-plain")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c",
                           "import resource, sys; from corpus.cli import main; rc = main(sys.argv[1:]); "
                           "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)",
                           "run", "--config", str(root / "bench.yaml"), "--out", str(out), *beam_args],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    rss = next((int(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("MAXRSS")), 0)
    stats = json.loads((out / "stats.json").read_text())
    docs = stats["funnel"]["bench"][0]["docs_in"]
    print(f"near-dedup {'on ' if dedup else 'off'}: {docs} docs in, {stats['sources']['bench']['docs']} out, "
          f"{elapsed:.1f} s wall ({docs / elapsed:.0f} docs/s), peak RSS {rss / 1024:.0f} MB; "
          f"dedup {json.dumps(stats['dedup'])}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--dedup", choices=["on", "off", "both"], default="both")
    args, beam_args = parser.parse_known_args()
    rng = random.Random(0)
    passages = base_passages(Path(args.data))
    root = Path(tempfile.mkdtemp(prefix="near-beam-"))
    with (root / "docs.jsonl").open("w", encoding="utf-8") as f:
        for i in range(args.docs):
            text = passages[rng.randrange(len(passages))]
            if rng.random() < 0.5:
                text = make_variant(text, rng.choice(LEVELS), rng)
            f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    size = (root / "docs.jsonl").stat().st_size / 1e6
    print(f"{args.docs} documents, {size:.1f} MB, in {root}")
    for dedup in ([True, False] if args.dedup == "both" else [args.dedup == "on"]):
        run_once(root, dedup, beam_args)


if __name__ == "__main__":
    main()
