"""`corpus` command line: run, stats, report, show, diff, train-tokenizer, tokenize. The one place that ties `corpus/` and `pipelines/` together."""

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
    return _execute(config, config_path, out_dir, beam_args)


def _execute(config, label: str, out_dir: str, beam_args: list[str]) -> int:
    ftlang_cache = os.environ.get("FTLANG_CACHE")
    from corpus.rules.langid import ModelNotFound, resolve_model_path

    try:
        resolve_model_path(config.langid.model, ftlang_cache)
    except ModelNotFound as exc:
        print(f"corpus: config error: {exc}", file=sys.stderr)
        return 2
    from pipelines.run import run_corpus

    print(f"corpus: running {label} -> {out_dir}", file=sys.stderr)
    result = run_corpus(config, out_dir, beam_args, ftlang_cache)
    if result.job is not None:
        transforms = len(result.job.proto_pipeline.components.transforms)
        print(f"corpus: dry run: the job was built ({transforms} transforms) and not submitted", file=sys.stderr)
        return 0
    cons = result.stats["conservation"]
    docs_in = sum(v["docs_in"] for v in cons["per_source"].values())
    docs_out = sum(v["docs_out"] for v in cons["per_source"].values())
    print(f"corpus: {docs_in:,} documents in, {docs_out:,} written to {len(result.manifest['shards'])} shard(s) "
          f"in {result.seconds:.1f} s; conservation {'ok' if cons['ok'] else 'FAILED'}; "
          f"see `corpus stats {out_dir}`", file=sys.stderr)
    return 0 if cons["ok"] else 1


def _input_source(args: argparse.Namespace) -> dict:
    return {"name": args.name, "kind": args.kind, "paths": [os.path.abspath(p) for p in args.inputs],
            "text_field": args.text_field, "languages": None}


def _train_tokenizer(args: argparse.Namespace) -> int:
    """Stage 11 alone on a user's corpus: a deterministic sample (hash order) up to --sample-bytes, then train."""
    import hashlib
    import time

    from corpus.config import config_from_dict
    from corpus.document import Document
    from corpus.mix import mix_position
    from corpus.sources import ReadContext, reader_for, relative_name
    from corpus.tokenizer import Tokenizer, train_tokenizer

    try:
        config = config_from_dict({"sources": [_input_source(args)],
                                   "tokenizer": {"vocab_size": args.vocab_size, "model_type": args.model_type,
                                                 "sample_bytes": args.sample_bytes}})
    except ConfigError as exc:
        print(f"corpus: config error: {exc}", file=sys.stderr)
        return 2
    import glob

    src = config.sources[0]
    docs = []
    for pattern in src.paths:
        for path in sorted(glob.glob(pattern, recursive=True)):
            ctx = ReadContext(source=src.name, path=path, rel=relative_name(pattern, path),
                              max_doc_bytes=config.read.max_doc_bytes, text_field=src.text_field)
            with open(path, "rb") as f:
                docs += [(mix_position(d.id, args.seed, "tokenizer-sample"), d.id, d.text)
                         for d in reader_for(src.kind)(f, ctx) if isinstance(d, Document)]
    sample, size = [], 0
    for _, _, text in sorted(docs):
        if size >= args.sample_bytes:
            break
        sample.append(text)
        size += len(text.encode("utf-8"))
    started = time.time()
    model = train_tokenizer(sample, args.vocab_size, args.model_type)
    seconds = time.time() - started
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "spm.model"), "wb") as f:
        f.write(model)
    tok = Tokenizer(model)
    with open(os.path.join(args.out, "spm.vocab"), "w", encoding="utf-8") as f:
        f.writelines(f"{tok.piece(i)}\t0\n" for i in range(tok.vocab_size))
    print(f"corpus: trained a {args.model_type} tokenizer of {tok.vocab_size:,} pieces on {len(sample):,} documents "
          f"({size / 1e6:.1f} MB) in {seconds:.1f} s -> {args.out}/spm.model "
          f"(sha256 {hashlib.sha256(model).hexdigest()[:16]})", file=sys.stderr)
    return 0


def _tokenize(args: argparse.Namespace, beam_args: list[str]) -> int:
    """Stages 11-12 alone: read, normalize, tokenize with a given model and write shards (no filters, no dedup,
    no mixing), so the loader can stream a corpus built elsewhere."""
    from corpus.config import config_from_dict

    try:
        config = config_from_dict({
            "sources": [dict(_input_source(args), quality_filter=False, repetition_filter=False)],
            "langid": {"min_lang_score": 0.0},
            "dedup": {"exact": False, "minhash": {"enabled": False}},
            "mix": {"enabled": False, "max_doc_tokens": args.max_doc_tokens},
            "tokenizer": {"train": False, "model": os.path.abspath(args.tokenizer)},
            "output": {"keep_rejects": True}})
    except ConfigError as exc:
        print(f"corpus: config error: {exc}", file=sys.stderr)
        return 2
    return _execute(config, "tokenize", args.out, beam_args)


def _report(args: argparse.Namespace) -> int:
    from corpus.report import render_report

    target = args.html
    with open(target, "w", encoding="utf-8") as f:
        f.write(render_report(args.out, samples=args.samples, seed=args.seed))
    print(f"corpus: wrote {target}", file=sys.stderr)
    return 0


def _diff(args: argparse.Namespace) -> int:
    from corpus.inspect import diff_runs, render_diff

    diff = diff_runs(args.a, args.b)
    print(json.dumps(diff, indent=2, ensure_ascii=False) if args.json else render_diff(diff, args.a, args.b))
    return 0


def _stats(args: argparse.Namespace) -> int:
    from corpus.inspect import load_stats, render_stats

    if args.html:
        args.samples, args.seed = 2, 0
        return _report(argparse.Namespace(out=args.out, html=args.html, samples=2, seed=0))
    stats = load_stats(args.out)
    print(json.dumps(stats, indent=2, ensure_ascii=False) if args.json else render_stats(stats))
    return 0


def _show(args: argparse.Namespace) -> int:
    from corpus.inspect import UnknownReason, render_row, select_rows

    try:
        rows = select_rows(args.out, source=args.source, lang=args.lang, reason=args.rejects, n=args.n,
                           seed=args.seed)
    except UnknownReason as exc:
        print(f"corpus: {exc}", file=sys.stderr)
        return 2
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
    for name, help_text in (("train-tokenizer", "train the SentencePiece tokenizer on your own corpus"),
                            ("tokenize", "tokenize your own corpus into shards (unknown options go to Beam)")):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("inputs", nargs="+", help="files or globs")
        cmd.add_argument("--out", required=True, help="output directory")
        cmd.add_argument("--kind", default="jsonl", help="input kind: jsonl, parquet, text, books, wet")
        cmd.add_argument("--text-field", default="text", help="jsonl/parquet field holding the text")
        cmd.add_argument("--name", default="input", help="the source name written to the `source` column")
        if name == "train-tokenizer":
            cmd.add_argument("--vocab-size", type=int, default=32000)
            cmd.add_argument("--model-type", choices=["bpe", "unigram"], default="bpe")
            cmd.add_argument("--sample-bytes", type=int, default=200_000_000)
            cmd.add_argument("--seed", type=int, default=0)
        else:
            cmd.add_argument("--tokenizer", required=True, help="path to spm.model")
            cmd.add_argument("--max-doc-tokens", type=int, default=None,
                             help="split longer documents at paragraphs into parts ID#k")
    stats = sub.add_parser("stats", help="print the funnel and output tables of a run")
    stats.add_argument("out")
    stats.add_argument("--json", action="store_true", help="print stats.json as is")
    stats.add_argument("--html", metavar="FILE", help="write the HTML report (as `corpus report`) instead")
    report = sub.add_parser("report", help="write a self-contained HTML report with plots and sampled documents")
    report.add_argument("out")
    report.add_argument("--html", default="report.html", metavar="FILE")
    report.add_argument("--samples", type=int, default=2, help="documents sampled per source and per drop reason")
    report.add_argument("--seed", type=int, default=0)
    diff = sub.add_parser("diff", help="what changed between two runs (funnel, outputs, dedup)")
    diff.add_argument("a")
    diff.add_argument("b")
    diff.add_argument("--json", action="store_true")
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
    if args.command == "tokenize":
        return _tokenize(args, extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "stats":
        return _stats(args)
    if args.command == "train-tokenizer":
        return _train_tokenizer(args)
    if args.command == "report":
        return _report(args)
    if args.command == "diff":
        return _diff(args)
    return _show(args)


if __name__ == "__main__":
    sys.exit(main())
