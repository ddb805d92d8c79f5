"""The whole pipeline on a real Dask cluster: a `dask scheduler` and a `dask worker` process with two worker
processes (each its own Python), on loopback, started and stopped here. Its output must equal the local runner's
byte for byte, also when a worker process is killed in the middle of the run."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_CONFIG = ROOT / "configs" / "shared_data.yaml"
DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """`dask scheduler` + `dask worker --nworkers 2` as separate process groups; `address` for the client."""

    def __init__(self, tmp: Path):
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        logs = {name: open(tmp / f"dask-{name}.log", "w") for name in ("scheduler", "worker")}
        common = dict(cwd=tmp, start_new_session=True, stderr=subprocess.STDOUT)
        self.scheduler = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                           "--no-dashboard"], stdout=logs["scheduler"], **common)
        self.worker = subprocess.Popen([DASK, "worker", self.address, "--nworkers", "2", "--nthreads", "1",
                                        "--no-dashboard", "--local-directory", str(tmp / "dask-space")],
                                       stdout=logs["worker"], **common)
        self._wait_for_workers(2)

    def _wait_for_workers(self, n: int, timeout: float = 120) -> None:
        from distributed import Client

        deadline = time.monotonic() + timeout
        with Client(self.address, timeout=timeout) as client:
            while len(client.scheduler_info()["workers"]) < n:
                assert time.monotonic() < deadline, "the Dask workers did not register"
                time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        """The worker processes, as the scheduler knows them (each nanny restarts its worker if it dies)."""
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            return sorted(client.run(os.getpid).values())

    def stop(self) -> None:
        for proc in (self.worker, self.scheduler):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One cluster for this file's tests (starting one takes seconds); the kill test, last, leaves it restarted."""
    pytest.importorskip("distributed", reason="the dask extra is not installed (pip install -e '.[dask]')")
    started = Cluster(tmp_path_factory.mktemp("dask"))
    yield started
    started.stop()


def dask_run(cluster: Cluster, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "corpus", "run", "--config", str(SHARED_CONFIG), "--out", str(out),
                             "--runner", "DaskRunner", "--dask_client_address", cluster.address, *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def outputs(out: Path) -> dict[str, bytes]:
    """Every file that must be byte-identical: shards, rejects, tokenizer and stats.json."""
    files = [out / "stats.json", *sorted((out / "shards").glob("*")), *sorted((out / "rejects").glob("*")),
             *sorted((out / "tokenizer").glob("*"))]
    return {str(f.relative_to(out)): f.read_bytes() for f in files}


def test_joins_keep_as_many_partitions_as_their_largest_input():
    """Beam's Flatten adds up its inputs' partitions and every CoGroupByKey is one: down a chain of joins of a
    collection with what derives from it (as dedup does) the count grew with each join, and so did the tasks."""
    pytest.importorskip("dask", reason="the dask extra is not installed (pip install -e '.[dask]')")
    import apache_beam as beam
    from apache_beam.runners.dask.overrides import dask_overrides

    from pipelines.dask_runner import _Translate

    pipeline = beam.Pipeline()
    keyed = pipeline | beam.Create([(i % 5, i) for i in range(40)]) | beam.Reshuffle()
    for step in range(6):
        derived = keyed | f"Derive{step}" >> beam.Map(lambda kv: (kv[0], kv[1] + 1))
        keyed = ({"a": keyed, "b": derived} | f"Join{step}" >> beam.CoGroupByKey()
                 | f"Flat{step}" >> beam.FlatMap(lambda kv: [(kv[0], v) for v in kv[1]["a"]]))
    pipeline.replace_all(dask_overrides())
    translate = _Translate({"npartitions": 3})
    pipeline.visit(translate)
    shutil.rmtree(pipeline.local_tempdir, ignore_errors=True)     # what Beam removes after a run (none here)
    partitions = {node.full_label: bag.npartitions for node, bag in translate.bags.items() if bag is not None}
    assert max(partitions.values()) == 3, sorted(partitions.items(), key=lambda kv: -kv[1])[:3]


class _Logged:
    """x -> x, noting each call in a file: how often a step ran."""

    def __init__(self, path: Path):
        self.path = path

    def __call__(self, x):
        with open(self.path, "a") as f:
            f.write(f"{x}\n")
        return x


def test_a_step_read_as_a_side_input_and_by_the_main_path_runs_once_in_the_fused_graph(tmp_path):
    """The runner computes a fused graph (unfused, the workers held copies of every list between tasks and could
    not spill them). Fusing must not run a step twice when its output is both a side input and a main input."""
    dask = pytest.importorskip("dask", reason="the dask extra is not installed (pip install -e '.[dask]')")
    import apache_beam as beam
    from apache_beam.runners.dask.overrides import dask_overrides

    from pipelines.dask_runner import _Translate

    log = tmp_path / "calls.txt"
    pipeline = beam.Pipeline()
    numbers = (pipeline | beam.Create(list(range(6))) | "Logged" >> beam.Map(_Logged(log))
               | "Double" >> beam.Map(lambda x: 2 * x))
    total = beam.pvalue.AsSingleton(numbers | "Sum" >> beam.CombineGlobally(sum))
    numbers | "Shift" >> beam.Map(lambda x, t: x + t, total) | "Out" >> beam.Map(_Logged(tmp_path / "out.txt"))
    # As Pipeline.run hands it to a runner that is not the Fn API's: through the runner API and back.
    pipeline = beam.Pipeline.from_runner_api(pipeline.to_runner_api(use_fake_coders=True), pipeline.runner,
                                             pipeline._options)
    pipeline.replace_all(dask_overrides())
    translate = _Translate({"npartitions": 3})
    pipeline.visit(translate)
    shutil.rmtree(pipeline.local_tempdir, ignore_errors=True)
    dask.compute(*translate.outputs(), optimize_graph=True, scheduler="sync")
    assert sorted(log.read_text().split()) == [str(i) for i in range(6)]
    assert sorted(int(x) for x in (tmp_path / "out.txt").read_text().split()) == [2 * i + 30 for i in range(6)]


def test_the_whole_pipeline_on_a_dask_cluster_equals_the_local_run(cluster, all_kinds_out, tmp_path):
    out = tmp_path / "out"
    proc = dask_run(cluster, out)
    log, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, log
    assert "conservation ok" in log
    mine, local = outputs(out), outputs(all_kinds_out)
    assert len(mine) > 4 and mine.keys() == local.keys()
    assert [name for name in mine if mine[name] != local[name]] == []


def test_a_worker_killed_mid_run_changes_nothing(cluster, all_kinds_out, tmp_path):
    out = tmp_path / "out"
    proc = dask_run(cluster, out)
    prepared = out / "_work" / "prepared"
    deadline = time.monotonic() + 300
    while not list(prepared.glob("*/done.json")):          # a unit is done: the run is under way
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
        time.sleep(0.1)
    victims = cluster.worker_pids()
    assert victims
    os.kill(victims[0], signal.SIGKILL)
    log, _ = proc.communicate(timeout=600)
    if proc.returncode != 0:                        # the run may fail with the worker; then a rerun resumes
        again = dask_run(cluster, out)
        log, _ = again.communicate(timeout=600)
        assert again.returncode == 0, log
    assert outputs(out) == outputs(all_kinds_out)
