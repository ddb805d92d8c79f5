"""What every stage composite of pipelines/build.py returns, and the record of a file of rejected documents."""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam


class RejectFile(NamedTuple):
    """A Parquet file of rejected documents (text included) that a stage wrote for one unit."""
    key: str             # "<step>-<unit key>": unique per file, names its runs in the work directory
    path: str
    fingerprint: str     # of the step that wrote it: its runs are reused while it matches


class StageOutput(NamedTuple):
    """(kept, rejected, counts) of one stage. Text never travels in these collections (issue 13): `kept` is one
    small record per unit (or the stage's one result), `rejected` names the files the stage wrote its rejects to,
    `counts` are count records ((table, source, stage, reason), (docs, bytes)) summed into stats.json."""
    kept: beam.PCollection
    rejected: beam.PCollection | None    # None: the stage rejects nothing itself
    counts: beam.PCollection | None      # None: the stage's counts come from the stage that applies it
