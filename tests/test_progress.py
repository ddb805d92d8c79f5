"""The status line's figures, read off a work directory a worker would leave (no pipeline, no terminal: the
drawing itself is tested under a pty in test_terminal.py)."""

from __future__ import annotations

import json

from corpus.console import StatusLine
from corpus.sources.units import Piece, Unit
from pipelines import progress
from pipelines.progress import RunProgress


def unit(name: str, n_bytes: int) -> Unit:
    return Unit("web", (Piece(name, name, 0, n_bytes),))


def test_the_rate_is_of_the_last_twenty_seconds_and_the_time_left_follows_it(tmp_path, monkeypatch):
    a, b = unit("a.warc", 100_000_000), unit("b.warc", 100_000_000)
    watch = RunProgress(str(tmp_path), [(a, "fa"), (b, "fb")], StatusLine())
    folder = tmp_path / "prepared" / a.key
    folder.mkdir(parents=True)
    clock = {"now": 0.0}
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock["now"])
    for second in range(91):                  # a minute of start-up, then 2 MB/s from second 60
        clock["now"] = float(second)
        read = max(second - 60, 0) * 2_000_000
        (folder / "progress.json").write_text(json.dumps({"docs": read // 1_000_000, "bytes": read}))
        line = watch.line()
    # 60 MB read in 90 s is 0.67 MB/s on average; the last 20 s ran at 2 MB/s, and 140 MB are left.
    assert line == ("corpus: read 60 docs, 60.0 MB of 200 MB (30%) | 2.0 MB/s, 1 min 10 s left | "
                    "tokenized 0/2 units | written 0/2 units")


def test_a_finished_unit_counts_from_its_done_file_and_only_with_this_runs_fingerprint(tmp_path):
    a, b = unit("a.warc", 3_000_000), unit("b.warc", 1_000_000)
    watch = RunProgress(str(tmp_path), [(a, "fa"), (b, "fb")], StatusLine())
    counts = [[["funnel", "web", "read", "in"], [40, 2_900_000]], [["funnel", "web", "read", "out"], [38, 1]]]
    for u, fingerprint in ((a, "fa"), (b, "an earlier run's")):
        folder = tmp_path / "prepared" / u.key
        folder.mkdir(parents=True)
        (folder / "done.json").write_text(json.dumps({"fingerprint": fingerprint, "summary": {"counts": counts}}))
    (tmp_path / "tokenized" / a.key).mkdir(parents=True)
    (tmp_path / "tokenized" / a.key / "done.json").write_text("{}")
    # One look: no rate yet (it needs a second); b's done file is of other settings, so b is not read yet.
    assert watch.line() == "corpus: read 40 docs, 3.0 MB of 4.0 MB (75%) | tokenized 1/2 units | written 0/2 units"
