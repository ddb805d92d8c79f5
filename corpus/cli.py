"""`corpus` command line: run, stats, report, show, diff, train-tokenizer, tokenize. The one place that ties `corpus/` and `pipelines/` together."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import re
import sys
from importlib.metadata import PackageNotFoundError, version

from corpus.config import ConfigError, load_config, sample_config_path
from corpus.console import ConsoleHandler, StatusLine, say, status_line_if_terminal
from corpus.interrupt import EXIT_CODE as INTERRUPTED, CtrlC


class UserError(Exception):
    """A mistake in the command line, reported as one line (exit 2) before any work."""


class _OneLineFailures(logging.Filter):
    """Without --debug a failure is the one line `main` prints. A local run's Beam logs each failure at ERROR, with
    its traceback, before raising it to `main`: those records are dropped (a remote runner's error logs are the
    account of its workers' failures: they stay). After that line nothing more is logged (threads stopping)."""

    def __init__(self):
        super().__init__()
        self.local_run = False
        self.done = False

    def filter(self, record: logging.LogRecord) -> bool:
        if self.done:
            return False
        return not (self.local_run and record.levelno >= logging.ERROR and record.name.startswith("apache_beam"))


_FAILURES = _OneLineFailures()
_CONSOLE = ConsoleHandler()      # every log line goes through it: above the status line on a terminal

_WORKER_LOG = re.compile(r'^Worker: severity: (\w+) .*? message: "((?:[^"\\]|\\.)*)"'
                         r'(?: .*? log_location: "([^"]*)")?', re.S)


def _unescape(text: str) -> str:
    """A protobuf text-format string (escaped quotes, UTF-8 as octal escapes) back to text."""
    try:
        return text.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1").decode("utf-8")
    except (UnicodeError, ValueError):
        return text


def _worker_logs(record: logging.LogRecord) -> bool:
    """Multi-process workers' log lines reach the driver wrapped in Beam's log entry text. Ours (read errors with
    their file and offset) are shown as the plain lines a single process prints; Beam's own worker chatter
    ("Discarding unparseable args", ...) is dropped."""
    if record.name.startswith(("corpus.", "pipelines.")):
        # Logged in this process (a small run has no worker processes): named as a worker's line is.
        record.name = record.name.rsplit(".", 1)[-1]
        return True
    if record.name != "apache_beam.runners.portability.local_job_service":
        return True
    match = _WORKER_LOG.match(record.getMessage())
    if match is None:
        return True
    location = match.group(3) or ""
    if "/corpus/" not in location and "/pipelines/" not in location:
        return False
    record.msg, record.args = _unescape(match.group(2)), ()
    record.name = location.rsplit("/", 1)[-1].split(":", 1)[0].removesuffix(".py")
    return True


def _not_apitools_notice(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("apitools not found")


def _pipelines_run():
    """`pipelines.run`, imported (and Beam with it) without Beam's import-time "apitools not found" warning: it
    only says that the optional GCP extra is absent, which a local run does not need (a gs:// path says so)."""
    root = logging.getLogger()
    root.addFilter(_not_apitools_notice)
    try:
        from pipelines import run
    finally:
        root.removeFilter(_not_apitools_notice)
    return run


def _check_beam_args(args: argparse.Namespace, beam_args: list[str]) -> None:
    run = _pipelines_run()
    try:
        run.check_beam_args(beam_args, args.own_options)
    except run.BeamOptionError as exc:
        raise UserError(str(exc)) from exc


SAMPLE_NOTICE = "corpus: the bundled sample has damaged records on purpose: the WARNING lines about them are expected"


def _run(args: argparse.Namespace, beam_args: list[str], status: StatusLine | None) -> int:
    _check_beam_args(args, beam_args)
    config_path = args.config or str(sample_config_path())
    config = load_config(config_path)
    if args.out:
        out_dir = args.out
    elif args.config is None:
        out_dir = "out"        # the bundled sample writes to ./out
    else:
        out_dir = config.output.dir if "://" in config.output.dir else os.path.join(config.base_dir,
                                                                                     config.output.dir)
    return _execute(config, config_path, out_dir, beam_args, args, status,
                    notice=SAMPLE_NOTICE if args.config is None else None)


def _execute(config, label: str, out_dir: str, beam_args: list[str], args: argparse.Namespace,
             status: StatusLine | None, notice: str | None = None) -> int:
    """Run `config` into `out_dir` after the checks that need no work (model, output folder); print the summary."""
    ftlang_cache = os.environ.get("FTLANG_CACHE")
    from corpus.rules.langid import ModelNotFound, resolve_model_path

    try:
        resolve_model_path(config.langid.model, ftlang_cache)
    except ModelNotFound as exc:
        print(f"corpus: config error: {exc}", file=sys.stderr)
        return 2
    run = _pipelines_run()
    try:
        # A dry run builds a job and touches no output (offline: a gs:// folder is not even listed).
        run.check_output_dir(out_dir, force=args.force or run.is_dry_run(beam_args))
    except NotADirectoryError as exc:
        raise UserError(f"output directory {out_dir}: {exc.filename} is a file, not a directory") from exc
    except run.ForeignOutputDir as exc:
        raise UserError(str(exc)) from exc
    _FAILURES.local_run = run.uses_local_runner(beam_args)

    if notice:
        say(notice, status)
    say(f"corpus: running {label} -> {out_dir}", status)
    result = run.run_corpus(config, out_dir, beam_args, ftlang_cache, worker_stderr=args.debug,
                            fresh=getattr(args, "fresh", False), status=status, force=args.force)
    if result.job is not None:
        transforms = len(result.job.proto_pipeline.components.transforms)
        say(f"corpus: dry run: the job was built ({transforms} transforms) and not submitted", status)
        return 0
    cons = result.stats["conservation"]
    docs_in = sum(v["docs_in"] for v in cons["per_source"].values())
    docs_out = sum(v["docs_out"] for v in cons["per_source"].values())
    summary = result.manifest["summary"]
    reused = f", {summary['units_reused']:,} of them reused" if summary.get("units_reused") else ""
    units = summary.get("units", 0)
    say(f"corpus: {docs_in:,} documents in ({units:,} unit{'' if units == 1 else 's'}{reused}), {docs_out:,} "
        f"written to {len(result.manifest['shards'])} shard(s) in {result.seconds:.1f} s{_per_core(result)}; "
        f"conservation {'ok' if cons['ok'] else 'FAILED'}; see `corpus stats {out_dir}`", status)
    for warning in result.stats.get("warnings") or []:
        say(f"corpus: warning: {warning}", status)
    return 0 if cons["ok"] else 1


def _per_core(result) -> str:
    """The run's throughput: MB of input read per CPU-second of all its steps (MB/s per busy core)."""
    steps = result.manifest.get("steps") or {}
    cpu = sum(t.get("cpu_s", 0.0) for t in steps.values())
    mb = (steps.get("ReadAndFilter") or {}).get("mb", 0.0)
    return f" ({mb / cpu:.2f} MB/s per core)" if cpu > 0 and mb > 0 else ""


def _input_source(args: argparse.Namespace) -> dict:
    return {"name": args.name, "kind": args.kind, "paths": [os.path.abspath(p) for p in args.inputs],
            "text_field": args.text_field, "languages": None}


def _train_tokenizer(args: argparse.Namespace) -> int:
    """Stage 11 alone on a user's corpus: a deterministic sample (hash order) up to --sample-bytes, then train."""
    import hashlib
    import time

    from corpus.config import config_from_dict
    from corpus.document import Document
    from corpus.ids import TOKENIZER_SAMPLE, position
    from corpus.sources import ReadContext, reader_for, relative_name
    from corpus.tokenizer import Tokenizer, train_tokenizer

    config = config_from_dict({"sources": [_input_source(args)],
                               "tokenizer": {"vocab_size": args.vocab_size, "model_type": args.model_type,
                                             "sample_bytes": args.sample_bytes}})
    import glob

    src = config.sources[0]
    docs = []
    for pattern in src.paths:
        for path in sorted(glob.glob(pattern, recursive=True)):
            ctx = ReadContext(source=src.name, path=path, rel=relative_name(pattern, path),
                              max_doc_bytes=config.read.max_doc_bytes, text_field=src.text_field)
            with open(path, "rb") as f:
                docs += [(position(d.id, args.seed, TOKENIZER_SAMPLE), d.id, d.text)
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
    from corpus.hf_tokenizer import has_tokenizer_json, tokenizer_json

    if has_tokenizer_json(tok):
        with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
            f.write(tokenizer_json(model))
    print(f"corpus: trained a {args.model_type} tokenizer of {tok.vocab_size:,} pieces on {len(sample):,} documents "
          f"({size / 1e6:.1f} MB) in {seconds:.1f} s -> {args.out}/spm.model "
          f"(sha256 {hashlib.sha256(model).hexdigest()[:16]})", file=sys.stderr)
    return 0


def _tokenize(args: argparse.Namespace, beam_args: list[str], status: StatusLine | None) -> int:
    """Stages 11-12 alone: read, normalize, tokenize with a given model and write shards (no filters, no dedup,
    no mixing), so the loader can stream a corpus built elsewhere."""
    from corpus.config import config_from_dict

    _check_beam_args(args, beam_args)
    config = config_from_dict({
        "sources": [dict(_input_source(args), quality_filter=False, repetition_filter=False)],
        "langid": {"min_lang_score": 0.0},
        "dedup": {"exact": False, "minhash": {"enabled": False}},
        "mix": {"enabled": False, "max_doc_tokens": args.max_doc_tokens},
        "tokenizer": {"train": False, "model": os.path.abspath(args.tokenizer)},
        "output": {"keep_rejects": True}})
    return _execute(config, "tokenize", args.out, beam_args, args, status)


def _report(args: argparse.Namespace) -> int:
    from corpus.report import render_report

    html = render_report(args.out, samples=args.samples, seed=args.seed)   # before opening: no empty file on error
    with open(args.html, "w", encoding="utf-8") as f:
        f.write(html)
    print(f"corpus: wrote {args.html}", file=sys.stderr)
    return 0


def _diff(args: argparse.Namespace) -> int:
    from corpus.inspect import diff_runs, render_diff

    diff = diff_runs(args.a, args.b)
    print(json.dumps(diff, indent=2, ensure_ascii=False) if args.json else render_diff(diff, args.a, args.b))
    return 0


def _stats(args: argparse.Namespace) -> int:
    from corpus.inspect import STEPS_LABEL, load_stats, load_steps, render_stats, render_table, steps_table

    if args.html:
        args.samples, args.seed = 2, 0
        return _report(argparse.Namespace(out=args.out, html=args.html, samples=2, seed=0))
    stats = load_stats(args.out)
    if args.json:
        print(json.dumps(stats, indent=2, ensure_ascii=False))
        return 0
    print(render_stats(stats))
    steps = load_steps(args.out)
    if steps:
        print(f"\n== {STEPS_LABEL}\n{render_table(*steps_table(steps))}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from corpus.export import ExportError, export

    try:
        done = export(args.out, args.format, args.dest, by_source=args.by_source, name=args.name)
    except ExportError as exc:
        raise UserError(str(exc)) from exc
    print(f"corpus: {done.n_docs:,} documents, {done.n_tokens:,} tokens (EOS included) -> "
          + ", ".join(os.path.basename(f) for f in done.files))
    return 0


def _show(args: argparse.Namespace) -> int:
    from corpus.inspect import UnknownValue, render_row, select_rows

    try:
        rows = select_rows(args.out, source=args.source, lang=args.lang, reason=args.rejects, n=args.n,
                           seed=args.seed)
    except UnknownValue as exc:      # a reason, source or language the run does not have
        print(f"corpus: {exc}", file=sys.stderr)
        return 2
    if not rows:
        print("corpus: no matching documents", file=sys.stderr)
        return 1
    for row in rows:
        print(render_row(row))
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # argparse prints the whole usage first; a user error is one line (--help shows the usage)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _finished_run(path: str) -> str:
    """stats, show, report and diff read a finished run: a wrong path is said up front (not "no matching
    documents", nor an empty report)."""
    if not os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"no such output directory: {path}")
    if not os.path.isfile(os.path.join(path, "stats.json")):
        raise argparse.ArgumentTypeError(f"{path} has no stats.json: not the output of a finished `corpus run`")
    if not os.path.isfile(os.path.join(path, "manifest.json")):
        # A run writes its manifest last: without one, the stats and shards there may be half replaced.
        raise argparse.ArgumentTypeError(f"{path} has no manifest.json: its `corpus run` did not finish")
    return path


def _version() -> str:
    try:
        return version("corpus")
    except PackageNotFoundError:   # a source tree on sys.path, not installed
        return "(not installed)"


RUN_DESCRIPTION = """\
Run the whole pipeline: read, normalize, identify languages, filter, deduplicate, train the tokenizer,
tokenize, mix, and write Parquet shards, stats.json, DATACARD.md and, last, manifest.json to the output
directory.

Every other option goes to Apache Beam and must be one of Beam's pipeline options (an unknown option is an
error). Without --runner the pipeline runs here, offline, on Beam's local FnApiRunner (what the DirectRunner
runs a batch pipeline on; Prism is never tried or downloaded)."""

EXPORT_DESCRIPTION = """\
Write every document's tokens, each followed by EOS, in the order of the shards (already shuffled by the run):

  --format megatron   DIR/<name>_text_document.bin and .idx: Megatron-LM's indexed dataset (MMIDIDX), one
                      sequence per document; --data-path DIR/<name>_text_document (with --by-source, one prefix
                      per source: --data-path 0.7 DIR/web_text_document 0.3 DIR/books_text_document)
  --format memmap     DIR/tokens.bin (flat little-endian tokens) and DIR/meta.json (dtype, eos_id, n_tokens,
                      n_docs, vocab_size, tokenizer_sha256): np.memmap("DIR/tokens.bin", dtype=meta["dtype"])"""

RUN_EXAMPLES = """\
examples:
  corpus run                                        the bundled sample, into ./out
  corpus run --config my.yaml --out out
  corpus run --config my.yaml --direct_num_workers=1
                                                    one worker process (the default is one per core)
  corpus run --config my.yaml --runner=PrismRunner --prism_location=/opt/prism/prism
                                                    Beam's Prism runner, from a binary you downloaded
  corpus run --config my.yaml --out gs://bucket/corpus --runner=DataflowRunner --project=P \\
      --region=europe-west4 --temp_location=gs://bucket/tmp [--dry_run=True --no_auth]
                                                    Dataflow (--dry_run builds the job and does not submit it)"""


FORCE_HELP = ("write into an output directory that is not empty and holds no earlier run (refused without it); "
              "files of yours there are kept, a README.md included")


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    return [flag for action in parser._actions for flag in action.option_strings]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="corpus", description="Build a clean, deduplicated training corpus.")
    parser.add_argument("--version", action="version", version=f"corpus {_version()}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and every log line of a failure")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks and every log line of a failure")
    sub = parser.add_subparsers(dest="command", required=True)
    parser.set_defaults(own_options=None)      # run and tokenize set theirs: they pass every other option to Beam
    run = sub.add_parser("run", parents=[common], help="run the whole pipeline (other options go to Beam)",
                         usage="corpus run [--config FILE] [--out DIR] [--fresh] [--force] [--debug] "
                               "[BEAM OPTION ...]",
                         description=RUN_DESCRIPTION, epilog=RUN_EXAMPLES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--config", metavar="FILE",
                     help="YAML config, validated before any work (default: the bundled sample)")
    run.add_argument("--out", metavar="DIR", help="output directory, local or gs://, s3:// (default: output.dir "
                                                  "of the config, relative to it; ./out for the bundled sample)")
    run.add_argument("--force", action="store_true", help=FORCE_HELP)
    run.add_argument("--fresh", action="store_true",
                     help="start over: delete the work directory (output.work_dir, default OUT/_work) instead of "
                          "reusing the units an earlier run of the same config finished")
    run.set_defaults(own_options=_option_strings(run))
    for name, help_text in (("train-tokenizer", "train the SentencePiece tokenizer on your own corpus"),
                            ("tokenize", "tokenize your own corpus into shards (other options go to Beam)")):
        cmd = sub.add_parser(name, parents=[common], help=help_text)
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
            cmd.add_argument("--tokenizer", required=True,
                             help="path to spm.model or a Hugging Face tokenizer.json")
            cmd.add_argument("--max-doc-tokens", type=int, default=None,
                             help="split longer documents at paragraphs into parts ID#k")
            cmd.add_argument("--force", action="store_true", help=FORCE_HELP)
            cmd.set_defaults(own_options=_option_strings(cmd))
    stats = sub.add_parser("stats", parents=[common], help="print the funnel and output tables of a run")
    stats.add_argument("out", metavar="OUT", type=_finished_run)
    stats.add_argument("--json", action="store_true", help="print stats.json as is")
    stats.add_argument("--html", metavar="FILE", help="write the HTML report (as `corpus report`) instead")
    report = sub.add_parser("report", parents=[common],
                            help="write a self-contained HTML report with plots and sampled documents")
    report.add_argument("out", metavar="OUT", type=_finished_run)
    report.add_argument("--html", default="report.html", metavar="FILE")
    report.add_argument("--samples", type=int, default=2, help="documents sampled per source and per drop reason")
    report.add_argument("--seed", type=int, default=0)
    diff = sub.add_parser("diff", parents=[common], help="what changed between two runs (funnel, outputs, dedup)")
    diff.add_argument("a", metavar="OUT_A", type=_finished_run)
    diff.add_argument("b", metavar="OUT_B", type=_finished_run)
    diff.add_argument("--json", action="store_true")
    export = sub.add_parser("export", parents=[common], help="write the token stream for a trainer: Megatron "
                                                             "indexed dataset or a flat memmap",
                            description=EXPORT_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    export.add_argument("out", metavar="OUT", help="a finished `corpus run` output (local, gs:// or s3://)")
    export.add_argument("--format", required=True, choices=["megatron", "memmap"])
    export.add_argument("--out", dest="dest", required=True, metavar="DIR", help="folder to write into")
    export.add_argument("--by-source", action="store_true",
                        help="megatron: one prefix per source (<source>_text_document), for a blend string")
    export.add_argument("--name", help="megatron: the prefix is <name>_text_document (default: OUT's folder name)")
    show = sub.add_parser("show", parents=[common], help="print documents (or rejects) of a run")
    show.add_argument("out", metavar="OUT", type=_finished_run)
    show.add_argument("--source")
    show.add_argument("--lang")
    show.add_argument("--rejects", metavar="REASON", help="show rejected documents with this reason ('all': any)")
    show.add_argument("--n", type=int, default=5)
    show.add_argument("--seed", type=int, default=0)
    return parser


def _configure_logging(debug: bool, status: StatusLine | None) -> None:
    _CONSOLE.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    _CONSOLE.filters = [] if debug else [_FAILURES, _worker_logs]
    _CONSOLE.status = status
    _FAILURES.local_run = _FAILURES.done = False
    logging.basicConfig(level=logging.WARNING, handlers=[_CONSOLE])   # a no-op where logging is already set up


def _chain(exc: BaseException):
    """The exception and those it was raised from or while handling (Beam re-raises a DoFn's as a RuntimeError)."""
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def _summary(exc: BaseException) -> str:
    """One line for a failure: the OSError under Beam's wrapping (its path and what went wrong: a full disk, a
    permission), or one in a worker process's traceback text; else the exception's own line."""
    error = next((e for e in _chain(exc) if isinstance(e, OSError) and e.filename), None)
    if error is not None:
        return f"{error.filename}: {error.strerror}"
    text = str(exc).strip()
    remote = re.search(r"\[Errno \d+\] ([^:\n]+): '([^'\n]+)'", text)
    if remote:
        return f"{remote[2]}: {remote[1]}"
    lines = [line for line in text.splitlines() if line.strip()]
    if "Traceback (most recent call last)" in text:      # a worker's traceback: its last unindented line says it
        return next(line for line in reversed(lines) if not line[0].isspace())
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _failure(exc: BaseException) -> tuple[str, int]:
    if any(isinstance(e, KeyboardInterrupt) for e in _chain(exc)):
        return "interrupted", INTERRUPTED
    if isinstance(exc, ConfigError):
        return f"config error: {exc}", 2
    if isinstance(exc, UserError):
        return str(exc), 2
    summary = _summary(exc)
    if os.strerror(errno.ENOSPC) in summary:
        # run_corpus has removed the run's staging files, so the disk is not left full
        return f"{summary}; the unfinished output was removed (--debug shows the traceback)", 1
    return f"{summary} (--debug shows the traceback)", 1


def _fail(message: str, code: int, status: StatusLine | None) -> int:
    _FAILURES.done = True
    if status is not None:
        status.close(f"corpus: {message}")       # over the progress line, which is never drawn again
    else:
        print(f"corpus: {message}", file=sys.stderr, flush=True)
    return code


def _dispatch(args: argparse.Namespace, beam_args: list[str], status: StatusLine | None) -> int:
    if args.command == "run":
        return _run(args, beam_args, status)
    if args.command == "tokenize":
        return _tokenize(args, beam_args, status)
    if args.command == "stats":
        return _stats(args)
    if args.command == "train-tokenizer":
        return _train_tokenizer(args)
    if args.command == "report":
        return _report(args)
    if args.command == "diff":
        return _diff(args)
    if args.command == "export":
        return _export(args)
    return _show(args)


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, 1 failed, 2 a user error before any work, 130 interrupted (Ctrl-C), 141 the reader of
    stdout left."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    try:
        args, beam_args = parser.parse_known_args(argv)
        if beam_args and args.own_options is None:
            parser.error(f"unrecognized arguments: {' '.join(beam_args)}")
    except SystemExit as exc:      # --help, --version, or a usage error already printed
        return int(exc.code or 0)
    status = status_line_if_terminal()
    _configure_logging(args.debug, status)
    ctrl_c = CtrlC(lambda: _fail("interrupted", INTERRUPTED, status))
    with ctrl_c:
        try:
            code = _dispatch(args, beam_args, status)
            sys.stdout.flush()      # a reader that left shows here, not in Python's own flush at exit
            return code
        except BrokenPipeError:
            # The reader left (`corpus stats OUT | head`): stop quietly, stdout on /dev/null so that Python's
            # flush at exit does not report it again. 141 is what a process killed by SIGPIPE exits with.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
        except (Exception, KeyboardInterrupt) as exc:
            if args.debug:
                raise
            message, code = _failure(exc)
            if code == INTERRUPTED and ctrl_c.pressed:
                ctrl_c.exit_now()       # one line, no process left, no wait on Beam's threads at exit
            return _fail(message, code, status)


if __name__ == "__main__":
    sys.exit(main())
