"""`corpus` command line: run, stats, show. The one place that ties `corpus/` and `pipelines/` together."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from corpus.config import ConfigError, load_config, sample_config_path


def _run(args: argparse.Namespace, beam_args: list[str]) -> int:
    config_path = args.config or str(sample_config_path())
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"corpus: config error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        out_dir = args.out
    elif args.config is None:
        out_dir = "out"        # the bundled sample writes to ./out
    else:
        out_dir = config.output.dir if "://" in config.output.dir else os.path.join(config.base_dir,
                                                                                     config.output.dir)
    ftlang_cache = os.environ.get("FTLANG_CACHE")
    from corpus.rules.langid import ModelNotFound, resolve_model_path

    try:
        resolve_model_path(config.langid.model, ftlang_cache)
    except ModelNotFound as exc:
        print(f"corpus: config error: {exc}", file=sys.stderr)
        return 2
    from pipelines.run import run_corpus

    print(f"corpus: running {config_path} -> {out_dir}", file=sys.stderr)
    result = run_corpus(config, out_dir, beam_args, ftlang_cache)
    cons = result.stats["conservation"]
    docs_in = sum(v["docs_in"] for v in cons["per_source"].values())
    docs_out = sum(v["docs_out"] for v in cons["per_source"].values())
    print(f"corpus: {docs_in:,} documents in, {docs_out:,} written to {len(result.manifest['shards'])} shard(s) "
          f"in {result.seconds:.1f} s; conservation {'ok' if cons['ok'] else 'FAILED'}; "
          f"see `corpus stats {out_dir}`", file=sys.stderr)
    return 0 if cons["ok"] else 1


def _stats(args: argparse.Namespace) -> int:
    from corpus.inspect import load_stats, render_stats

    stats = load_stats(args.out)
    print(json.dumps(stats, indent=2, ensure_ascii=False) if args.json else render_stats(stats))
    return 0


def _show(args: argparse.Namespace) -> int:
    from corpus.inspect import render_row, select_rows

    rows = select_rows(args.out, source=args.source, lang=args.lang, reason=args.rejects, n=args.n, seed=args.seed)
    if not rows:
        print("no matching documents", file=sys.stderr)
        return 1
    for row in rows:
        print(render_row(row))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="corpus", description="Build a clean, deduplicated training corpus.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole pipeline (unknown options go to Beam, e.g. --runner)")
    run.add_argument("--config", help="YAML config (default: the bundled sample)")
    run.add_argument("--out", help="output directory (default: output.dir of the config; ./out for the sample)")
    stats = sub.add_parser("stats", help="print the funnel and output tables of a run")
    stats.add_argument("out")
    stats.add_argument("--json", action="store_true", help="print stats.json as is")
    show = sub.add_parser("show", help="print documents (or rejects) of a run")
    show.add_argument("out")
    show.add_argument("--source")
    show.add_argument("--lang")
    show.add_argument("--rejects", metavar="REASON", help="show rejected documents with this reason ('all': any)")
    show.add_argument("--n", type=int, default=5)
    show.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "run":
        return _run(args, extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "stats":
        return _stats(args)
    return _show(args)


if __name__ == "__main__":
    sys.exit(main())
