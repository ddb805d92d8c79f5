"""The command line's promises to a user: an error is one line on stderr with exit != 0 and no traceback, before
any work where it can be; Ctrl-C and a full disk too; the default runner is offline; --version, --help, -m."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from importlib.metadata import version
from pathlib import Path

import pytest

from corpus.cli import SAMPLE_NOTICE, main
from corpus.config import sample_config_path

ROOT = Path(__file__).resolve().parents[1]
SHARED_CONFIG = ROOT / "configs" / "shared_data.yaml"
MULTI_PROCESSING = ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]


def corpus(*args: str, pythonpath: Path | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m corpus ARGS` in a fresh process, as a user types it."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "corpus", *args], capture_output=True, text=True, env=env,
                          cwd=cwd or ROOT, timeout=600)


def not_warnings(stderr: str) -> list[str]:
    """stderr without the logged WARNING lines (counted read errors of the sample are logged on every run)."""
    return [line for line in stderr.splitlines() if not line.startswith("WARNING ")]


def test_version_from_the_installed_package_and_python_dash_m():
    done = corpus("--version")
    assert done.returncode == 0
    assert done.stdout == f"corpus {version('corpus')}\n"


def test_run_help_explains_config_out_and_the_beam_pass_through(capsys):
    assert main(["run", "--help"]) == 0
    printed = capsys.readouterr().out
    assert "usage: corpus run [--config FILE] [--out DIR] [--fresh] [--force] [--debug] [BEAM OPTION ...]" in printed
    assert "--config FILE" in printed and "YAML config" in printed
    assert "--out DIR" in printed and "output directory" in printed
    assert "Every other option goes to Apache Beam" in printed
    # The default already uses every core: the example shows how to use fewer, not the default again.
    assert "corpus run --config my.yaml --direct_num_workers=1" in printed
    assert "--direct_running_mode=multi_processing" not in printed
    assert "--runner=PrismRunner --prism_location=" in printed


@pytest.mark.parametrize("argv, message", [
    (["run", "--cofnig", "my.yaml", "--outt", "x"],
     "corpus: unknown option --cofnig (did you mean --config?): neither a corpus option nor a Beam pipeline option"),
    (["run", "--direct_num_worker=2"],
     "corpus: unknown option --direct_num_worker (did you mean --direct_num_workers?): neither a corpus option "
     "nor a Beam pipeline option"),
    (["run", "my.yaml"], "corpus: unexpected argument 'my.yaml'"),
    (["run", "--direct_num_workers=two"], "corpus: argument --direct_num_workers: invalid int value: 'two'"),
    (["tokenize", "in.jsonl", "--tokenizer", "spm.model", "--out", "tok", "--runer=DataflowRunner"],
     "corpus: unknown option --runer (did you mean --runner?): neither a corpus option nor a Beam pipeline option"),
    (["stats", "--jsn"], "corpus stats: error: the following arguments are required: OUT"),
])
def test_an_option_nobody_knows_is_one_line_exit_2_and_nothing_written(argv, message, tmp_path, monkeypatch,
                                                                      capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert capsys.readouterr().err == message + "\n"
    assert list(tmp_path.iterdir()) == []          # the bundled sample did not run into ./out


def test_dry_run_on_the_local_runner_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--dry_run=True"]) == 2
    assert capsys.readouterr().err == ("corpus: --dry_run builds a Dataflow job without submitting it: it needs "
                                       "--runner=DataflowRunner (a local run has no job to build)\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["stats"], ["show"], ["report", "--html", "REPORT"], ["diff", "MISSING"]])
def test_reading_commands_name_a_missing_output_folder(command, tmp_path, capsys):
    missing = str(tmp_path / "no-such-run")
    report = tmp_path / "report.html"
    argv = [command[0], missing] + [{"REPORT": str(report), "MISSING": missing}.get(a, a) for a in command[1:]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.endswith(f": no such output directory: {missing}\n") and err.count("\n") == 1
    assert not report.exists()


def test_a_folder_that_is_not_a_run_is_named(tmp_path, capsys):
    assert main(["show", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"corpus show: error: argument OUT: {tmp_path} has no stats.json: not the "
                                       f"output of a finished `corpus run`\n")


def test_out_pointing_at_a_file_fails_before_any_work(tmp_path, capsys):
    target = tmp_path / "corpus.parquet"
    target.write_text("mine")
    assert main(["run", "--out", str(target)]) == 2
    assert main(["run", "--out", str(target / "sub")]) == 2
    err = capsys.readouterr().err
    assert err == (f"corpus: output directory {target}: {target} is a file, not a directory\n"
                   f"corpus: output directory {target}/sub: {target} is a file, not a directory\n")
    assert target.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["corpus.parquet"]


def test_debug_shows_the_traceback_that_is_otherwise_one_line(tmp_path):
    target = tmp_path / "file"
    target.write_text("")
    quiet, debug = corpus("run", "--out", str(target)), corpus("run", "--out", str(target), "--debug")
    assert quiet.returncode == 2 and quiet.stderr.count("\n") == 1 and "Traceback" not in quiet.stderr
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.rstrip().endswith("is a file, not a directory")


def test_no_apitools_warning_without_the_gcp_extra(tmp_path):
    # A plain install has no google-apitools: this stand-in fails to import, as it does there.
    (tmp_path / "apitools").mkdir()
    (tmp_path / "apitools" / "__init__.py").write_text("raise ImportError('google-apitools is not installed')\n")
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    bare = subprocess.run([sys.executable, "-c", "import apache_beam"], capture_output=True, text=True, env=env)
    assert "apitools not found" in bare.stderr          # what Beam itself logs on import
    done = corpus("run", "--dry_run=True", pythonpath=tmp_path, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("corpus: --dry_run builds a Dataflow job") and done.stderr.count("\n") == 1


def test_the_default_run_tries_no_prism_and_downloads_nothing(tmp_path, caplog):
    # Beam's DirectRunner logs its Prism attempt ("Running pipeline with PrismRunner", "Downloading prism from
    # https://github.com/...") at INFO before it falls back; the default run must not make one.
    caplog.set_level(logging.INFO)
    assert main(["run", "--out", str(tmp_path / "out")]) == 0
    messages = [r.getMessage().lower() for r in caplog.records]
    assert not [m for m in messages if "prism" in m or "download" in m]
    assert (tmp_path / "out" / "manifest.json").is_file()


@pytest.mark.parametrize("beam_args", [[], MULTI_PROCESSING], ids=["in_memory", "multi_processing"])
def test_a_full_disk_is_one_line_naming_the_path(beam_args, tmp_path):
    # Every process of the run (the driver, and the workers of multi_processing) finds the disk full when it
    # creates a shard.
    patch = tmp_path / "patch"
    patch.mkdir()
    (patch / "sitecustomize.py").write_text(textwrap.dedent("""
        import errno, os
        from apache_beam.io.localfilesystem import LocalFileSystem
        create = LocalFileSystem.create
        def full_disk(self, path, *args, **kwargs):
            if "/shards/part-" in path:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
            return create(self, path, *args, **kwargs)
        LocalFileSystem.create = full_disk
    """))
    out = tmp_path / "out"
    done = corpus("run", "--out", str(out), *beam_args, pythonpath=patch)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "ERROR" not in done.stderr
    notice, running, failure = not_warnings(done.stderr)
    assert notice == SAMPLE_NOTICE
    assert running == f"corpus: running {sample_config_path()} -> {out}"
    assert failure.startswith(f"corpus: {out}/_staging/shards/part-0000")
    assert failure.endswith(".parquet: No space left on device; the unfinished output was removed "
                            "(--debug shows the traceback)")
    assert not (out / "manifest.json").exists()
    assert not (out / "_staging").exists()     # a full disk is not left full by the failed run


def interrupt(argv: list[str], after_running_s: float) -> tuple[subprocess.Popen, str]:
    """Start `corpus ARGV` in its own process group and press Ctrl-C (SIGINT to the whole group, as a terminal
    does) a while after it says it is running; returns the process (exited) and its stderr."""
    proc = subprocess.Popen([sys.executable, "-m", "corpus", *argv], stderr=subprocess.PIPE, text=True,
                            stdout=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
    first = proc.stderr.readline()
    assert first.startswith("corpus: running"), first
    time.sleep(after_running_s)
    assert proc.poll() is None, "the run finished before Ctrl-C"
    os.killpg(proc.pid, signal.SIGINT)
    rest = proc.stderr.read()
    proc.wait(timeout=60)
    return proc, first + rest


@pytest.mark.parametrize("beam_args", [[], MULTI_PROCESSING], ids=["in_memory", "multi_processing"])
def test_ctrl_c_is_one_line_exit_130_and_leaves_no_process(beam_args, shared, tmp_path):
    out = tmp_path / "out"
    proc, stderr = interrupt(["run", "--config", str(SHARED_CONFIG), "--out", str(out), *beam_args], 4.0)
    assert proc.returncode == 130
    assert "Traceback" not in stderr and "Exception in thread" not in stderr
    assert not_warnings(stderr) == [f"corpus: running {SHARED_CONFIG} -> {out}", "corpus: interrupted"]
    assert not (out / "manifest.json").exists()
    deadline = time.time() + 15
    with pytest.raises(ProcessLookupError):     # no worker process of the group is left behind
        while time.time() < deadline:
            os.killpg(proc.pid, 0)
            time.sleep(0.2)


def test_piping_into_head_prints_no_broken_pipe(sample_out):
    for argv in (["stats", str(sample_out)], ["show", str(sample_out), "--n", "20"]):
        proc = subprocess.Popen([sys.executable, "-m", "corpus", *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        proc.stdout.close()       # the reader is gone before the first line, as `| head -0` would be
        stderr = proc.stderr.read()
        assert proc.wait(timeout=60) == 141
        assert stderr == ""


def test_run_prints_the_warnings_of_stats_json(tmp_path, monkeypatch, capsys):
    from pipelines import run

    stats = {"conservation": {"ok": True, "per_source": {"web": {"docs_in": 5, "docs_out": 3}}},
             "warnings": ["source wiki ended with 0 documents", "books: share achieved 0.10, target 0.27"]}

    def finished(config, out_dir, *args, **kwargs):
        return run.RunResult(out_dir=out_dir, stats=stats, seconds=1.0,
                             manifest={"shards": [{}], "summary": {"units": 4, "units_reused": 3}})

    monkeypatch.setattr(run, "run_corpus", finished)
    out = tmp_path / "out"
    assert main(["run", "--out", str(out)]) == 0
    assert capsys.readouterr().err.splitlines()[2:] == [     # after the sample notice and the running line
        f"corpus: 5 documents in (4 units, 3 of them reused), 3 written to 1 shard(s) in 1.0 s; conservation ok; "
        f"see `corpus stats {out}`",
        "corpus: warning: source wiki ended with 0 documents",
        "corpus: warning: books: share achieved 0.10, target 0.27"]


def test_out_into_a_users_non_empty_folder_is_refused_before_any_work(tmp_path, capsys):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "README.md").write_text("# My thesis\n")
    assert main(["run", "--out", str(folder)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"corpus: output directory {folder} is not empty and holds no corpus run (no manifest.json, no "
                   f"_work/): choose another --out, or add --force to write into it (files of yours there are kept)"]
    assert sorted(p.name for p in folder.iterdir()) == ["README.md"]


def test_out_into_an_empty_folder_or_an_earlier_runs_output_needs_no_force(tmp_path):
    from pipelines.run import check_output_dir

    (tmp_path / "empty").mkdir()
    check_output_dir(str(tmp_path / "empty"))
    check_output_dir(str(tmp_path / "not-yet"))
    for mark in ("manifest.json", "stats.json", "_work", "_staging"):    # finished, or stopped part-way
        earlier = tmp_path / mark.strip("_").replace(".", "-")
        earlier.mkdir()
        (earlier / mark).mkdir() if mark.startswith("_") else (earlier / mark).write_text("{}")
        (earlier / "notes.txt").write_text("mine")
        check_output_dir(str(earlier))


def test_force_writes_into_a_users_folder_and_keeps_their_files(tmp_path):
    folder = tmp_path / "thesis"
    (folder / "shards").mkdir(parents=True)
    (folder / "README.md").write_text("# My thesis\n")
    (folder / "shards" / "mine.parquet").write_bytes(b"not a shard of ours")
    assert main(["run", "--out", str(folder), "--force"]) == 0
    assert (folder / "README.md").read_text() == "# My thesis\n"
    assert (folder / "shards" / "mine.parquet").read_bytes() == b"not a shard of ours"
    assert (folder / "manifest.json").is_file() and (folder / "DATACARD.md").is_file()
    # The next run into the same folder needs no --force; a card of ours is rewritten, the user's still stays.
    card = (folder / "DATACARD.md").read_text()
    assert card.startswith("# Data card\n\nBuilt by corpus ")
    (folder / "DATACARD.md").write_text(card + "\nan earlier run's line\n")
    assert main(["run", "--out", str(folder)]) == 0
    assert (folder / "README.md").read_text() == "# My thesis\n"
    assert (folder / "DATACARD.md").read_text() == card
