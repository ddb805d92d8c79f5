"""The two defects of Beam's DaskRunner (Beam 2.77) that pipelines/dask_runner.py mends, in a few lines each, on
Beam's runner and on ours, with a local Dask cluster (2 processes). Prints what each runner did:

1. Two writes, one after the other in the pipeline: Beam's runner computes only the last transform's graph, so the
   first write never happens.
2. A step read as a side input: Beam's runner computes it again inside each bundle that reads it, so it runs more
   than once (in our pipeline, at the same time as the main graph runs it: the same files written twice at once).
3. A ParDo with a tagged output: Beam's runner gives every output all the elements (tags dropped), so the reader of
   the tagged output of [1, 2, 3] (odd numbers main, even ones tagged) sees 3 elements, not 1.

    python bench/dask_defects.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import apache_beam as beam  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402


def mark(folder: str, name: str):
    """A step that leaves a file per element it sees (a side effect the driver can count)."""
    def touch(x):
        Path(folder, f"{name}-{x}-{len(list(Path(folder).glob(f'{name}-{x}-*')))}").touch()
        return x
    return touch


def odd_or_even(x):
    yield x if x % 2 else beam.pvalue.TaggedOutput("even", x)


def run(runner: str, folder: str, address: str) -> tuple[bool, int, int]:
    options = PipelineOptions([f"--runner={runner}", f"--dask_client_address={address}", "--dask_partition_size=1"])
    with beam.Pipeline(options=options) as p:
        numbers = p | "Numbers" >> beam.Create([1, 2, 3])
        numbers | "FirstWrite" >> beam.Map(mark(folder, "first"))
        sides = numbers | "Side" >> beam.Map(mark(folder, "side"))       # read as a side input and as a main one
        total = sides | "Sum" >> beam.CombineGlobally(sum)
        split = numbers | "Split" >> beam.FlatMap(odd_or_even).with_outputs("even", main="odd")
        split.even | "Evens" >> beam.Map(mark(folder, "even"))
        ((numbers | "ReadsSide" >> beam.Map(lambda x, s: x + s, beam.pvalue.AsSingleton(total)), sides)
         | "Both" >> beam.Flatten() | "LastWrite" >> beam.Map(mark(folder, "last")))
    files = [f.name for f in Path(folder).iterdir()]
    first_written = any(f.startswith("first-") for f in files)
    side_runs = max(int(f.rsplit("-", 1)[1]) + 1 for f in files if f.startswith("side-"))
    return first_written, side_runs, sum(f.startswith("even-") for f in files)


def main() -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        for runner in ("apache_beam.runners.dask.dask_runner.DaskRunner", "pipelines.dask_runner.DaskRunner"):
            with tempfile.TemporaryDirectory() as folder:
                first, side, evens = run(runner, folder, cluster.scheduler_address)
            print(f"{runner}: first write done: {first}; side-input step ran {side} time(s) per element; "
                  f"the tagged output had {evens} element(s) (1 is right)")


if __name__ == "__main__":
    main()
