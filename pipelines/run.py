"""Run the whole pipeline, then finalize the output directory atomically (SPEC §3, §5).

Beam writes into `OUT/_staging/`. Only after the pipeline succeeds are shards and rejects moved into place,
`stats.json` written, and `manifest.json` written last. The old manifest is removed before any work, so an
interrupted run never leaves a manifest pointing at partial shards.
"""

from __future__ import annotations

import difflib
import errno
import hashlib
import importlib.util
import json
import logging
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions, TestOptions, _BeamArgumentParser
from apache_beam.portability.api import beam_provision_api_pb2
from apache_beam.runners.portability.fn_api_runner.fn_runner import ExtendedProvisionInfo, FnApiRunner
from apache_beam.runners.portability.portable_runner import JobServiceHandle
from apache_beam.transforms.environments import SubprocessSDKEnvironment

from corpus.config import Config
from corpus.console import StatusLine
from corpus.datacard import dataset_readme, is_run_card, render_datacard
from corpus.manifest import build_manifest
from corpus.shards import REJECT_SCHEMA, doc_schema, shard_info, shard_name, write_parquet_bytes
from corpus.stages import FUNNEL_STAGES
from corpus.stats import build_stats, length_histogram, merge_counts, removal_rates, shard_statistics
from pipelines.build import COUNTS_FILE, REJECTS_INDEX, SHARDS_INDEX, TOKENIZER_INFO, UNITS_FILE, build_pipeline
from pipelines.progress import RunProgress
from pipelines.timings import TIMINGS, step_timings
from pipelines.workdir import delete_matching, delete_tree, join
from corpus.dedup.decide import banding_for
from pipelines.transforms.units import input_text_bytes, listed_files

log = logging.getLogger(__name__)
STAGING = "_staging"
WORK = "_work"


@dataclass
class RunResult:
    out_dir: str
    stats: dict[str, Any]
    manifest: dict[str, Any]
    seconds: float
    job: Any = None          # a dry run's job description (Dataflow `--dry_run`): nothing ran, nothing written


LOCAL_RUNNERS = ("directrunner", "prismrunner", "daskrunner")    # no code to stage (Dask workers have it installed)
DRY_RUN_RUNNERS = ("dataflowrunner", "testdataflowrunner")    # the runners that implement --dry_run


DASK_RUNNER = "pipelines.dask_runner.DaskRunner"     # Beam's, mended (see there); Beam lists no short name for it


def with_runner_path(beam_args: list[str]) -> list[str]:
    """`--runner DaskRunner` (or `dask`, or Beam's class path) as the path of ours, with Dask's pipeline options
    registered (they are known only once Beam's Dask runner module is imported). Other arguments as they are."""
    args = list(beam_args)
    for i, arg in enumerate(args):
        value = arg.split("=", 1)[1] if arg.startswith("--runner=") else (
            args[i + 1] if arg == "--runner" and i + 1 < len(args) else None)
        if value is None or value.rsplit(".", 1)[-1].lower().removesuffix("runner") != "dask":
            continue
        if arg == "--runner":
            args[i + 1] = DASK_RUNNER
        else:
            args[i] = f"--runner={DASK_RUNNER}"
    if any(DASK_RUNNER in a for a in args) or any(a.startswith("--dask_") for a in args):
        import apache_beam.runners.dask.dask_runner  # noqa: F401 - registers DaskOptions
    if any(DASK_RUNNER in a for a in args) and not any(a.startswith(("--dask_npartitions", "--dask_partition_size"))
                                                      for a in args):
        # One element a partition: our collections hold one small record per unit of work, and each is a task
        # (Beam's default of 128 a partition gave the whole run to one worker).
        args.append("--dask_partition_size=1")
    return args


def runner_name(options: PipelineOptions) -> str:
    """The runner the options choose, lower-case with the `runner` suffix as Beam's registry spells it
    (`--runner direct` and `--runner=apache_beam...DirectRunner` are both "directrunner"; none given is too)."""
    name = (options.view_as(StandardOptions).runner or "DirectRunner").rsplit(".", 1)[-1].lower()
    return name if name.endswith("runner") else name + "runner"


def with_staged_code(beam_args: list[str]) -> list[str]:
    """For a remote runner, stage this project (both `corpus/` and `pipelines/`) to the workers from its
    pyproject.toml unless the user chose how (`--setup_file`, `--extra_package(s)`, `--sdk_container_image`)."""
    args = list(beam_args)
    chosen = any(a.startswith(flag) for a in args for flag in ("--setup_file", "--extra_package",
                                                               "--sdk_container_image"))
    project_file = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if runner_name(PipelineOptions(args)) not in LOCAL_RUNNERS and not chosen and project_file.is_file():
        args.append(f"--setup_file={project_file}")
    return args


class BeamOptionError(ValueError):
    """A pass-through option that Beam does not know, or that this run cannot honour (raised before any work)."""


class _OptionParser(_BeamArgumentParser):
    def error(self, message):
        # argparse prints its usage and exits; the CLI prints this one line instead
        raise BeamOptionError(message)


def _beam_option_parser() -> _OptionParser:
    """A parser of every option Beam knows: what each PipelineOptions subclass registers, collected the way
    PipelineOptions.get_all_options collects them."""
    classes: dict[str, type] = {}
    for cls in PipelineOptions.__subclasses__():
        classes.setdefault(str(cls), cls)
    parser = _OptionParser(allow_abbrev=False, add_help=False)
    for cls in classes.values():
        cls._add_argparse_args(parser)
    return parser


def check_beam_args(beam_args: list[str], own_options: Iterable[str] = ()) -> None:
    """Refuse, before any work, what Beam would only log and discard (so a typo ran the defaults), with the
    closest option among `own_options` and Beam's; and `--dry_run` on a runner without one, which ran the whole
    pipeline instead."""
    beam_args = with_runner_path(beam_args)
    parser = _beam_option_parser()
    _, unknown = parser.parse_known_args(beam_args)
    if unknown:
        token = unknown[0]
        if not token.startswith("-"):
            raise BeamOptionError(f"unexpected argument {token!r}")
        name = token.split("=", 1)[0]
        known = [*own_options, *(flag for action in parser._actions for flag in action.option_strings)]
        close = difflib.get_close_matches(name, known, n=1)
        raise BeamOptionError(f"unknown option {name}" + (f" (did you mean {close[0]}?)" if close else "")
                              + ": neither a corpus option nor a Beam pipeline option")
    options = PipelineOptions(beam_args)
    if options.view_as(TestOptions).dry_run and runner_name(options) not in DRY_RUN_RUNNERS:
        raise BeamOptionError("--dry_run builds a Dataflow job without submitting it: it needs "
                              "--runner=DataflowRunner (a local run has no job to build)")
    if runner_name(options) == "daskrunner" and importlib.util.find_spec("distributed") is None:
        raise BeamOptionError("the DaskRunner needs Dask's distributed scheduler: pip install 'corpus[dask]' "
                              "(or -e '.[dask]' in a checkout)")


class ForeignOutputDir(ValueError):
    """The output directory holds someone's files and no run of ours: writing there needs --force."""


# Any of these in a folder marks an earlier run's output (finished, interrupted, or finished without a manifest).
RUN_MARKS = ("manifest.json", "stats.json", WORK, STAGING)


def check_output_dir(out_dir: str, force: bool = False) -> None:
    """Before any work: a local output directory that is a file, or lies below one, fails here rather than after
    the whole run; and a folder that is not empty and not a run's output is refused unless `force`."""
    if "://" not in out_dir:
        path = Path(out_dir).absolute()
        existing = next(p for p in (path, *path.parents) if p.exists())
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "a file, not a directory (the output directory must be one)",
                                     str(existing))
    if not force and _holds_foreign_files(out_dir):
        raise ForeignOutputDir(f"output directory {out_dir} is not empty and holds no corpus run (no manifest.json, "
                               f"no {WORK}/): choose another --out, or add --force to write into it (files of "
                               f"yours there are kept)")


def _holds_foreign_files(out_dir: str) -> bool:
    if "://" not in out_dir:
        if not os.path.isdir(out_dir):
            return False
        entries = set(os.listdir(out_dir))
        return bool(entries) and not entries & set(RUN_MARKS)
    # An object store lists a prefix: one match of each is enough to tell.
    def any_under(pattern: str) -> bool:
        try:
            return any(r.metadata_list for r in FileSystems.match([pattern], limits=[1]))
        except Exception:  # noqa: BLE001 - a filesystem that raises on no match: nothing there
            return False
    out = out_dir.rstrip("/")
    if any(FileSystems.exists(_join(out, mark)) for mark in ("manifest.json", "stats.json")):
        return False
    if any(any_under(_join(out, mark) + "/**") for mark in (WORK, STAGING)):
        return False
    return any_under(out + "/**")


def _worker_command(quiet: bool) -> str:
    """The SDK worker process of `--direct_running_mode=multi_processing`, as Beam starts it, but ignoring SIGINT:
    Ctrl-C reaches the whole process group, and only the driver handles it (it stops the workers). Quiet workers
    send stderr to /dev/null: their logs reach the driver through the Fn API, and a failed bundle's traceback
    comes back as the driver's exception."""
    command = shlex.join([sys.executable, "-m", "apache_beam.runners.worker.sdk_worker_main"])
    return f"trap '' INT; exec {command}" + (" 2>/dev/null" if quiet else "")


class _LocalRunner(FnApiRunner):
    """Beam's FnApiRunner, which Beam's DirectRunner runs a batch pipeline on, without the DirectRunner's attempt
    to download and start Prism first (on every run; online, the pipeline would run on Prism instead)."""

    def __init__(self, options: PipelineOptions, quiet_workers: bool):
        self._worker_command = _worker_command(quiet_workers)
        # As the DirectRunner does: worker processes read the pipeline options (filesystems, S3 endpoint) from here.
        encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
        super().__init__(provision_info=ExtendedProvisionInfo(
            beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)))

    # FnApiRunner.run_pipeline sets this from --direct_running_mode; the multi_processing one gets our command.
    @property
    def _default_environment(self):
        return self.__environment

    @_default_environment.setter
    def _default_environment(self, environment):
        if isinstance(environment, SubprocessSDKEnvironment):
            environment = SubprocessSDKEnvironment.from_command_string(self._worker_command)
        self.__environment = environment


def is_dry_run(beam_args: list[str]) -> bool:
    return bool(PipelineOptions(beam_args).view_as(TestOptions).dry_run)


def uses_local_runner(beam_args: list[str]) -> bool:
    return runner_name(PipelineOptions(beam_args)) == "directrunner"


def local_runner(options: PipelineOptions, quiet_workers: bool = True) -> FnApiRunner | None:
    """The runner object for a DirectRunner run (the default); None for any other runner, which Beam creates
    from the options (`--runner=PrismRunner --prism_location=...` runs on Prism)."""
    return _LocalRunner(options, quiet_workers) if runner_name(options) == "directrunner" else None


def _join(*parts: str) -> str:
    return FileSystems.join(*parts)


def _read_text(path: str) -> str:
    with FileSystems.open(path) as f:
        return f.read().decode("utf-8")


def _write_text(path: str, text: str) -> None:
    with FileSystems.create(path) as f:
        f.write(text.encode("utf-8"))


def _write_unless_users(path: str, text: str) -> None:
    """Write a card of ours, replacing an earlier run's; a file of the same name that a person wrote stays."""
    if FileSystems.exists(path) and not is_run_card(_read_text(path)):
        log.warning("kept %s: it is not a card a run wrote (the dataset card is in DATACARD.md and manifest.json)",
                    path)
        return
    _write_text(path, text)


def _read_index(path: str) -> list[dict[str, Any]]:
    if not FileSystems.exists(path):
        return []
    return [json.loads(line) for line in _read_text(path).splitlines() if line.strip()]


def _complete_shards(staging: str, kind: str, index: list[dict[str, Any]], schema, expected: int | None
                     ) -> list[dict[str, Any]]:
    """Write empty shards for indexes no record fell into, so `part-i-of-N` is always a full set."""
    count = index[0]["count"] if index else (expected or 1)
    have = {s["index"] for s in index}
    for i in range(count):
        if i not in have:
            name = shard_name(kind, i, count)
            data = write_parquet_bytes([], schema)
            with FileSystems.create(_join(staging, name)) as f:
                f.write(data)
            info = shard_info(name, 0, data)
            index.append({"path": info.path, "rows": 0, "bytes": info.bytes, "sha256": info.sha256, "index": i,
                          "count": count, "tokens": 0})
    return sorted(({k: s[k] for k in ("path", "rows", "bytes", "sha256", "tokens")} for s in index),
                  key=lambda s: s["path"])


HASH_BUDGET = 1 << 30   # the driver hashes input files for the data card until it has read this many bytes


def _input_files(config: Config) -> dict[str, list[dict[str, Any]]]:
    """Per source, the files read with their size and sha256, for the data card. Hashing happens in the driver,
    so it stops after HASH_BUDGET bytes: a crawl-sized input is listed with sizes only."""
    files: dict[str, list[dict[str, Any]]] = {s.name: [] for s in config.sources}
    budget = HASH_BUDGET
    for source in config.sources:
        for path, _, size, _ in listed_files(source):
            digest = None
            if size <= budget:
                budget -= size
                h = hashlib.sha256()
                with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
                    while chunk := f.read(1 << 20):
                        h.update(chunk)
                digest = h.hexdigest()
            files[source.name].append({"path": path, "bytes": size, "sha256": digest})
    return files


def _shard_columns(staging: str, shards: list[dict[str, Any]]):
    """The shards' (id, source, lang, n_bytes, n_tokens) rows, a row group at a time (never all at once)."""
    import pyarrow.parquet as pq

    columns = ["id", "source", "lang", "n_bytes", "n_tokens"]
    for entry in shards:
        with FileSystems.open(_join(staging, entry["path"])) as f:
            for batch in pq.ParquetFile(f).iter_batches(columns=columns):
                yield from batch.to_pylist()


def with_local_parallelism(beam_args: list[str], input_bytes: Callable[[], int] | None = None,
                           small_bytes: int = 64 << 20) -> list[str]:
    """A local run uses every core unless told otherwise (issue 13): one worker process per core. Each worker
    costs its own Python, Beam and fastText (~300 MB, ~2 s to start), and holds one unit's keys and a few row
    groups. Input smaller than one unit of work (`small_bytes` of text) runs in this process instead: starting
    workers would cost more than any step could gain from them (the same bytes come out either way).
    `input_bytes()` tells the input's size (asked only for a local run with neither option given)."""
    args = list(beam_args)
    if runner_name(PipelineOptions(args)) != "directrunner":
        return args
    given = [a for a in args if a.startswith(("--direct_num_workers", "--direct_running_mode"))]
    if not given and input_bytes is not None and input_bytes() < small_bytes:
        return [*args, "--direct_num_workers=1", "--direct_running_mode=in_memory"]
    if not any(a.startswith("--direct_num_workers") for a in args):
        args.append(f"--direct_num_workers={os.cpu_count() or 1}")
    if not any(a.startswith("--direct_running_mode") for a in args):
        args.append("--direct_running_mode=multi_processing")
    return args


def run_corpus(config: Config, out_dir: str, beam_args: list[str] | None = None,
               ftlang_cache: str | None = None, worker_stderr: bool = False, fresh: bool = False,
               status: StatusLine | None = None, force: bool = False) -> RunResult:
    """`worker_stderr`: let `multi_processing` worker processes write to stderr (the CLI's --debug). `fresh`:
    delete the work directory first, so nothing of an earlier run is reused. `status`: a terminal's status line,
    which shows the run's progress (a local work directory only). `force`: write into a folder that holds files
    and no earlier run (refused without it)."""
    started = time.time()
    out_dir = out_dir.rstrip("/")
    staging = _join(out_dir, STAGING)
    work = config.output.work_dir or _join(out_dir, WORK)
    check_beam_args(beam_args or [])
    args = with_staged_code(with_runner_path(beam_args or []))
    # Filesystem options (S3 endpoint and keys, GCS project) also serve the reads and writes made here, outside
    # the transforms: listing inputs, the staging directory, stats, manifest and data card.
    FileSystems.set_options(PipelineOptions(args))
    options = PipelineOptions(with_local_parallelism(args, lambda: input_text_bytes(config), config.read.unit_bytes))
    FileSystems.set_options(options)
    if options.view_as(TestOptions).dry_run:
        # Build and describe the job only (e.g. Dataflow offline): no output directory is touched.
        p = beam.Pipeline(options=options)
        build_pipeline(p, config, staging, work, ftlang_cache)
        result = p.run()
        return RunResult(out_dir=out_dir, stats={}, manifest={}, seconds=time.time() - started,
                         job=getattr(result, "job", None))
    check_output_dir(out_dir, force)
    if not FileSystems.exists(out_dir):
        FileSystems.mkdirs(out_dir)
    # A previous run's output stays whole (manifest included) until this run's is complete: see the swap below.
    if FileSystems.exists(staging):
        delete_tree(staging)
    if fresh and FileSystems.exists(work):
        delete_tree(work)
    delete_tree(join(work, TIMINGS))         # this run's timings only

    try:
        stats, manifest = _run_and_finalize(config, options, out_dir, staging, work, ftlang_cache, worker_stderr,
                                            status)
    except BaseException:
        # A failed run's staging files are of no use to the next run (the work directory is what it resumes
        # from), and after a full disk they would keep it full.
        try:
            delete_tree(staging)
        except Exception:  # noqa: BLE001 - the original failure is the one to report
            log.warning("could not remove %s", staging)
        raise
    return RunResult(out_dir=out_dir, stats=stats, manifest=manifest, seconds=time.time() - started)


def _run_and_finalize(config: Config, options: PipelineOptions, out_dir: str, staging: str, work: str,
                      ftlang_cache: str | None, worker_stderr: bool, status: StatusLine | None
                      ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the pipeline into `staging`, then move its outputs into `out_dir` (the manifest last)."""
    p = beam.Pipeline(runner=local_runner(options, quiet_workers=not worker_stderr), options=options)
    show_progress = status is not None and "://" not in work
    units = build_pipeline(p, config, staging, work, ftlang_cache, progress=show_progress)
    progress = RunProgress(work, units, status) if show_progress else None
    if progress is not None:
        progress.start()
    try:
        p.run().wait_until_finish()
    finally:
        if progress is not None:
            progress.stop()

    counts = merge_counts((tuple(k), tuple(v)) for k, v in
                          (json.loads(line) for line in _read_text(_join(staging, COUNTS_FILE)).splitlines()
                           if line.strip()))
    tokenizer = json.loads(_read_text(_join(staging, TOKENIZER_INFO)))
    shards = _complete_shards(staging, "shards", _read_index(_join(staging, SHARDS_INDEX)),
                              doc_schema(tokenizer["vocab_size"]) if tokenizer["vocab_size"] else doc_schema(),
                              config.output.num_shards)
    rejects = (_complete_shards(staging, "rejects", _read_index(_join(staging, REJECTS_INDEX)), REJECT_SCHEMA, 1)
               if config.output.keep_rejects else [])

    sources = [s.name for s in config.sources]
    reuse = json.loads(_read_text(_join(staging, UNITS_FILE)))
    tokenizer.update(model_type=config.tokenizer.model_type, requested_vocab_size=config.tokenizer.vocab_size)
    # Timings vary run to run: they go to the manifest, so stats.json stays byte-identical for the same input.
    train_seconds = tokenizer.pop("train_seconds", None)
    banding = banding_for(config.dedup.minhash)
    stats = build_stats(counts, sources, FUNNEL_STAGES, config.share_targets(), tokenizer=tokenizer,
                        near_params={"bands": banding.bands, "rows": banding.rows},
                        target_tokens=config.mix.target_tokens if config.mix.enabled else None,
                        pii=config.pii.enabled)
    # Length summaries and token histograms come from the shards themselves.
    shard_rows = _shard_columns(staging, shards)
    extra = shard_statistics(shard_rows)
    for table in ("sources", "languages"):
        for key, entry in stats[table].items():
            entry["length"] = extra[table].get(key) or {"bytes": {"mean": 0.0, "median": 0.0},
                                                         "tokens": {"mean": 0.0, "median": 0.0},
                                                         "token_histogram": length_histogram([])}
    stats["dedup"]["per_source"] = removal_rates(stats["funnel"])
    if not stats["conservation"]["ok"]:
        log.error("conservation check failed: %s", "; ".join(stats["conservation"]["problems"]))

    # Move into place: the old manifest first (from here until the new one is written the folder is not a finished
    # run, and `stats`, `show` and `report` say so), old shards/rejects out, new ones in, stats, the manifest last.
    if FileSystems.exists(_join(out_dir, "manifest.json")):
        FileSystems.delete([_join(out_dir, "manifest.json")])
    for kind in ("shards", "rejects"):
        delete_matching(_join(out_dir, kind, "part-*-of-*.parquet"))     # ours only: a user's files stay
        if not FileSystems.exists(_join(out_dir, kind)):
            FileSystems.mkdirs(_join(out_dir, kind))
    delete_matching(_join(out_dir, "tokenizer", "spm.*"))
    delete_matching(_join(out_dir, "tokenizer", "tokenizer.json"))
    if not FileSystems.exists(_join(out_dir, "tokenizer")):
        FileSystems.mkdirs(_join(out_dir, "tokenizer"))
    moves = [entry["path"] for entry in shards + rejects]
    moves += tokenizer.get("files") or []      # none when no document survived, or in a text-only run
    for path in moves:
        FileSystems.rename([_join(staging, path)], [_join(out_dir, path)])
    _write_text(_join(out_dir, "stats.json"), json.dumps(stats, indent=2, sort_keys=True, ensure_ascii=False))
    summary = {"docs_out": sum(s["docs"] for s in stats["sources"].values()),
               "conservation_ok": stats["conservation"]["ok"]}
    # What was reused varies with what an earlier run left: the manifest says it, stats.json stays identical.
    summary.update(units=reuse["units"], units_reused=reuse["reused"])
    manifest = build_manifest(shards, rejects, config.to_dict(), summary,
                              dict(tokenizer, train_seconds=train_seconds), steps=step_timings(work))
    datacard = render_datacard(config, stats, manifest, _input_files(config))
    for name, text in (("DATACARD.md", datacard), ("README.md", dataset_readme(datacard, manifest))):
        _write_unless_users(_join(out_dir, name), text)
    delete_tree(staging)
    delete_tree(_join(work, "runs"))     # merged into the shards; the earlier steps stay for the next run
    _write_text(_join(out_dir, "manifest.json"), json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False))
    return stats, manifest

