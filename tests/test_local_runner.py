"""How a local run chooses its workers: every core for real input, this process for input smaller than a unit."""

from __future__ import annotations

import gzip
import os

from corpus.config import config_from_dict
from pipelines.run import with_local_parallelism
from pipelines.transforms.units import COMPRESSED_TEXT_RATIO, input_text_bytes

UNIT = 64 << 20


def never() -> int:
    raise AssertionError("the input was measured although the user chose")


def test_input_smaller_than_a_unit_runs_in_this_process():
    assert with_local_parallelism([], lambda: 100_000, UNIT) == ["--direct_num_workers=1",
                                                                 "--direct_running_mode=in_memory"]


def test_input_of_a_unit_or_more_runs_one_worker_process_per_core():
    assert with_local_parallelism([], lambda: UNIT, UNIT) == [f"--direct_num_workers={os.cpu_count() or 1}",
                                                              "--direct_running_mode=multi_processing"]


def test_the_users_choice_stands_and_no_input_is_measured():
    assert with_local_parallelism(["--direct_num_workers=2"], never, UNIT) == [
        "--direct_num_workers=2", "--direct_running_mode=multi_processing"]
    assert with_local_parallelism(["--direct_running_mode=in_memory"], never, UNIT)[0] == \
        "--direct_running_mode=in_memory"
    assert with_local_parallelism(["--runner=DataflowRunner"], never, UNIT) == ["--runner=DataflowRunner"]


def test_compressed_input_counts_as_the_text_it_holds(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b"x" * 1000)
    with gzip.open(tmp_path / "b.jsonl.gz", "wb") as f:
        f.write(b'{"text": "y"}\n' * 100)
    packed = (tmp_path / "b.jsonl.gz").stat().st_size
    config = config_from_dict({"sources": [{"name": "web", "kind": "jsonl", "paths": ["*.jsonl*"]}]},
                              base_dir=str(tmp_path))
    assert input_text_bytes(config) == 1000 + COMPRESSED_TEXT_RATIO * packed
