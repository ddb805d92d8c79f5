"""Stage 10 over the work directory: the mix plan from the tokenized units' histograms, and the number of shards
the planned output needs. Both read one small histogram file per unit; nothing here sees a document."""

from __future__ import annotations

from typing import Any

import apache_beam as beam
import numpy as np

from corpus.config import Config
from corpus.mix import SourcePlan, plan_mix
from corpus.shards import shard_count
from pipelines.transforms.stage import StageOutput
from pipelines.transforms.tokenize import read_histograms


def _as_dict(histogram: np.ndarray) -> dict[int, int]:
    return {int(b): int(histogram[b]) for b in np.flatnonzero(histogram)}


def plan_output(tokenized: list[dict[str, Any]], config: Config) -> dict[str, Any]:
    """{"plans": {source: SourcePlan}, "num_shards": n}: token shares planned on token histograms, shards sized on
    the bytes the plan writes (whole epochs of each source plus its partial fraction)."""
    tokens: dict[str, np.ndarray] = {}
    nbytes: dict[str, np.ndarray] = {}
    for unit in tokenized:
        t, b = read_histograms(unit["folder"])
        tokens[unit["source"]] = tokens.get(unit["source"], 0) + t
        nbytes[unit["source"]] = nbytes.get(unit["source"], 0) + b
    # Text-only runs (`tokenizer.enabled: false`) have no tokens: shares, and mix.target_tokens, are of bytes.
    measured = tokens if config.tokenizer.enabled else nbytes
    histograms = {source: _as_dict(h) for source, h in sorted(measured.items())}
    mix = config.mix
    shares = config.share_targets()
    if not mix.enabled:
        plans = {s: SourcePlan(1.0, 1, 0, sum(h.values()), sum(h.values())) for s, h in histograms.items()}
    else:
        if shares is None:
            shares = {s: float(sum(h.values())) for s, h in histograms.items()}
        plans = plan_mix(histograms, shares, mix.target_tokens, mix.epoch_cap, False)
    planned_bytes = 0
    for source, plan in plans.items():
        b = nbytes[source]
        planned_bytes += plan.whole * int(b.sum()) + int(b[:plan.partial_bucket].sum())
    return {"plans": plans, "num_shards": shard_count(planned_bytes, config.output.shard_target_bytes,
                                                      config.output.num_shards)}


class Mix(beam.PTransform):
    """Tokenized units -> StageOutput whose kept is the one plan (`plan_output`). The mix rejects nothing (units it
    leaves out are `not_sampled`, not rejects), and its funnel is counted where the plan is applied (WriteShards)."""

    def __init__(self, config: Config):
        super().__init__()
        self._config = config

    def expand(self, tokenized):
        plan = (tokenized
                | "AllUnits" >> beam.combiners.ToList()
                | "Plan" >> beam.Map(plan_output, self._config))
        return StageOutput(plan, None, None)
