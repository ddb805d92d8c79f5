"""The pipeline graph, top to bottom, one labelled step per SPEC stage (labels show in the Dataflow console).

Text moves through files and keys move through Beam (issue 13): every collection below holds one small record per
unit of input (or per shard), never one per document. Each step leaves its files in the work directory with a
fingerprint, so a rerun reuses what is finished.

  ReadAndFilter   stages 1-6 per unit: read, normalize, language ID, quality, repetition, content -> docs + keys
  Deduplicate     stages 7-9 on the key arrays: exact, near (MinHash LSH), decontamination -> decisions per unit
  TrainTokenizer  stage 11: a share-weighted sample of the survivors -> SentencePiece model
  Tokenize        stage 11 per unit: decisions applied (dedup rejects written), survivors tokenized -> units
  Mix             stage 10: the plan from per-unit token histograms
  WriteShards     stage 12: per unit, sorted runs per shard; per shard, the runs merged into one Parquet file
"""

from __future__ import annotations

import json

import apache_beam as beam

from corpus.config import Config
from corpus.intermediate import KeySettings
from corpus.stages import STAGE_MIX
from pipelines.transforms.dedup_units import Deduplicate, banding_for
from pipelines.transforms.mix_units import plan_output
from pipelines.transforms.prepare import PrepareUnit
from pipelines.transforms.shard_units import MergeShards, WriteRuns, rejects_shard_count
from pipelines.transforms.tokenize_units import TokenizeUnit, TrainTokenizer
from pipelines.transforms.units import planned_units

COUNTS_FILE = "counts.jsonl"
SHARDS_INDEX = "shards.jsonl"
REJECTS_INDEX = "rejects.jsonl"
TOKENIZER_INFO = "tokenizer.json"


def key_settings(config: Config) -> KeySettings:
    mh = config.dedup.minhash
    return KeySettings(ngram=mh.ngram, num_perm=mh.num_perm, banding=banding_for(mh), seed=config.seed)


def build_pipeline(p: beam.Pipeline, config: Config, staging: str, work: str, ftlang_cache: str | None = None
                   ) -> None:
    """Add every stage to `p`; intermediate files go to `work`, outputs to `staging`."""
    units = planned_units(config, key_settings(config), ftlang_cache)

    prepared = (p
                | "ListUnits" >> beam.Create(units)
                | "SpreadUnits" >> beam.Reshuffle()
                | "ReadAndFilter" >> beam.ParDo(PrepareUnit(config, work, key_settings(config), ftlang_cache)))
    all_prepared = prepared | "AllPrepared" >> beam.combiners.ToList()

    dedup = all_prepared | "Deduplicate" >> Deduplicate(config, work)

    shares = config.share_targets()
    if config.tokenizer.train:
        model = (all_prepared, dedup) | "TrainTokenizer" >> TrainTokenizer(config, work, shares)
    else:
        model = p | "GivenTokenizer" >> beam.Create([given_tokenizer(config.tokenizer.model)])

    tokenized = (prepared
                 | "OwnUnits" >> beam.Map(lambda u: u)
                 | "Tokenize" >> beam.ParDo(TokenizeUnit(config, work), beam.pvalue.AsSingleton(model),
                                            beam.pvalue.AsSingleton(dedup)))
    plan = (tokenized
            | "AllTokenized" >> beam.combiners.ToList()
            | "Mix" >> beam.Map(plan_output, config))

    runs = tokenized | "WriteRuns" >> beam.ParDo(WriteRuns(config, work), beam.pvalue.AsSingleton(plan))
    shards = runs | "WriteShards" >> MergeShards(staging, "shards", config)
    ...
