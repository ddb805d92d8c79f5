"""The pipeline graph, top to bottom, one composite per SPEC stage (labels show in the Dataflow console).

Text moves through files and keys move through Beam (issue 13): every collection below holds one small record per
unit of input (or per shard), never one per document. Each step leaves its files in the work directory with a
fingerprint, so a rerun reuses what is finished. Every stage returns a StageOutput (kept, rejected, counts):

  ReadAndFilter   stages 1-6 per unit: read, normalize, language ID, quality, repetition, content -> docs + keys
  Deduplicate     stages 7-9 in partitions of keys: exact, near (MinHash LSH), decontamination -> decisions per unit
  TrainTokenizer  stage 11: a share-weighted sample of the survivors -> SentencePiece model (or the given one)
  Tokenize        stage 11 per unit: decisions applied (dedup rejects written), survivors tokenized (parts)
  Mix             stage 10: the plan from per-unit token histograms, and the number of shards it fills
  WriteShards     stage 12: per unit, sorted runs per shard; per shard, its runs merged into one Parquet file
  WriteRejects    the rejects of every stage, the same way into their own shards
  WriteCounts     every stage's counts summed per key: the funnel and the rest of stats.json
"""

from __future__ import annotations

import apache_beam as beam

from corpus.config import Config
from corpus.intermediate import KeySettings
from corpus.sources.units import Unit
from pipelines.transforms.counts import WriteCounts, WriteUnitsReused
from corpus.dedup.decide import banding_for
from pipelines.transforms.dedup import Deduplicate
from pipelines.transforms.mix import Mix
from pipelines.transforms.prepare import ReadAndFilter
from pipelines.transforms.tokenize import TEXT_ONLY, Tokenize, TrainTokenizer, WriteTokenizer, given_tokenizer
from pipelines.transforms.units import planned_units
from pipelines.transforms.write import WriteRejects, WriteShards

COUNTS_FILE = "counts.jsonl"
SHARDS_INDEX = "shards.jsonl"
REJECTS_INDEX = "rejects.jsonl"
TOKENIZER_INFO = "tokenizer.json"
UNITS_FILE = "units.json"


def key_settings(config: Config) -> KeySettings:
    mh = config.dedup.minhash
    return KeySettings(ngram=mh.ngram, num_perm=mh.num_perm, banding=banding_for(mh), seed=config.seed)


def build_pipeline(p: beam.Pipeline, config: Config, staging: str, work: str, ftlang_cache: str | None = None,
                   progress: bool = False) -> list[tuple[Unit, str]]:
    """Add every stage to `p`; intermediate files go to `work`, outputs to `staging`. Returns the planned units
    with their fingerprints. `progress`: units being read report how far they are (a local terminal's line)."""
    settings = key_settings(config)
    units = planned_units(config, settings, ftlang_cache)

    read = p | "ReadAndFilter" >> ReadAndFilter(config, work, settings, units, ftlang_cache, progress)
    dedup = read.kept | "Deduplicate" >> Deduplicate(config, work)
    if not config.tokenizer.enabled:
        model = p | "NoTokenizer" >> beam.Create([TEXT_ONLY])
    elif config.tokenizer.train:
        model = (read.kept, dedup.kept) | "TrainTokenizer" >> TrainTokenizer(config, work, config.share_targets())
    else:
        model = p | "GivenTokenizer" >> beam.Create([given_tokenizer(config.tokenizer.model)])
    model | "WriteTokenizer" >> WriteTokenizer(staging)
    tokenized = (read.kept, dedup.kept, model) | "Tokenize" >> Tokenize(config, work)
    plan = tokenized.kept | "Mix" >> Mix(config)
    shards = (tokenized.kept, plan.kept) | "WriteShards" >> WriteShards(config, work, staging, SHARDS_INDEX)

    stages = (read, dedup, tokenized, plan, shards)
    if config.output.keep_rejects:
        ((tuple(s.rejected for s in stages if s.rejected is not None) | "RejectFiles" >> beam.Flatten(),
          (read.counts, dedup.counts) | "CountsOfStages1To9" >> beam.Flatten())
         | "WriteRejects" >> WriteRejects(config, work, staging, REJECTS_INDEX))
    tuple(s.counts for s in stages if s.counts is not None) | "WriteCounts" >> WriteCounts(staging, COUNTS_FILE)
    read.kept | "WriteUnitsReused" >> WriteUnitsReused(staging, UNITS_FILE)
    return units
