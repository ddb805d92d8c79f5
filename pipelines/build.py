"""The pipeline graph, top to bottom, one labelled step per SPEC stage (labels show in the Dataflow console).

Text moves through files and keys move through Beam (issue 13): every collection below holds one small record per
unit of input (or per shard), never one per document. Each step leaves its files in the work directory with a
fingerprint, so a rerun reuses what is finished.

  ReadAndFilter   stages 1-6 per unit: read, normalize, language ID, quality, repetition, content -> docs + keys
  Deduplicate     stages 7-9 on the key arrays: exact, near (MinHash LSH), decontamination -> decisions per unit
  TrainTokenizer  stage 11: a share-weighted sample of the survivors -> SentencePiece model
  Tokenize        stage 11 per unit: decisions applied (dedup rejects written), survivors tokenized (parts)
  Mix             stage 10: the plan from per-unit token histograms, and the number of shards it fills
  WriteShards     stage 12: per unit, sorted runs per shard; per shard, its runs merged into one Parquet file
"""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from corpus.config import Config
from corpus.intermediate import KeySettings
from corpus.stats import merge_counts
from pipelines.transforms.dedup import Deduplicate, banding_for
from pipelines.transforms.mix import plan_output
from pipelines.transforms.prepare import PrepareUnit
from pipelines.transforms.write import MergeShards, WriteRuns, rejects_shard_count
from pipelines.transforms.tokenize import TokenizeUnit, TrainTokenizer, WriteTokenizer
from pipelines.transforms.units import planned_units

COUNTS_FILE = "counts.jsonl"
SHARDS_INDEX = "shards.jsonl"
REJECTS_INDEX = "rejects.jsonl"
TOKENIZER_INFO = "tokenizer.json"
UNITS_FILE = "units.json"


def key_settings(config: Config) -> KeySettings:
    mh = config.dedup.minhash
    return KeySettings(ngram=mh.ngram, num_perm=mh.num_perm, banding=banding_for(mh), seed=config.seed)


def given_tokenizer(path: str) -> dict:
    """A model the config names, read once when the graph is built (any Beam filesystem)."""
    with FileSystems.open(path) as f:
        return {"model": f.read(), "info": {"trained": False, "path": path}}


def _records(counts) -> list:
    return [(tuple(k), tuple(v)) for k, v in counts]


def _sum_pairs(pairs):
    docs = nbytes = 0
    for d, b in pairs:
        docs += d
        nbytes += b
    return docs, nbytes


def build_pipeline(p: beam.Pipeline, config: Config, staging: str, work: str, ftlang_cache: str | None = None
                   ) -> dict[str, int]:
    """Add every stage to `p`; intermediate files go to `work`, outputs to `staging`. Returns the planned units
    (key -> input bytes)."""
    settings = key_settings(config)
    units = planned_units(config, settings, ftlang_cache)

    # Stages 1-6, per unit of input.
    prepared = (p
                | "ListUnits" >> beam.Create(list(enumerate(units)))
                # One key per unit: spread over workers (the local runner deals them in the planned order).
                | "SpreadUnits" >> beam.GroupByKey()
                | "Unkey" >> beam.FlatMap(lambda kv: kv[1])
                | "ReadAndFilter" >> beam.ParDo(PrepareUnit(config, work, settings, ftlang_cache)))
    all_prepared = prepared | "AllPrepared" >> beam.combiners.ToList()

    # Stages 7-9, on the keys of every unit.
    dedup = all_prepared | "Deduplicate" >> Deduplicate(config, work)

    # Stage 11: the tokenizer, trained on a share-weighted sample of the survivors (or a given model).
    if config.tokenizer.train:
        model = (all_prepared, dedup) | "TrainTokenizer" >> TrainTokenizer(config, work, config.share_targets())
    else:
        model = p | "GivenTokenizer" >> beam.Create([given_tokenizer(config.tokenizer.model)])
    model | "WriteTokenizer" >> WriteTokenizer(staging)
    tokenized = (prepared
                 | "OwnUnits" >> beam.Map(lambda u: u)   # its own input: not fused with the steps feeding its sides
                 | "Tokenize" >> beam.ParDo(TokenizeUnit(config, work), beam.pvalue.AsSingleton(model),
                                            beam.pvalue.AsSingleton(dedup)))

    # Stage 10: the mix plan, now that tokens exist.
    plan = tokenized | "AllTokenized" >> beam.combiners.ToList() | "Mix" >> beam.Map(plan_output, config)

    # Stage 12: sorted runs per unit, merged per shard; rejects of every stage alike.
    early_counts = ((all_prepared | "PreparedCounts" >> beam.FlatMap(lambda us: [r for u in us for r in u.counts]),
                     dedup | "DedupCounts" >> beam.FlatMap(lambda d: _records(d["counts"])))
                    | "EarlyCounts" >> beam.Flatten()
                    | "AllEarlyCounts" >> beam.combiners.ToList())
    reject_shards = early_counts | "RejectShards" >> beam.Map(
        lambda records: rejects_shard_count(merge_counts(records), config.output.shard_target_bytes))
    runs = (tokenized
            | "OwnTokenized" >> beam.Map(lambda t: t)
            | "WriteRuns" >> beam.ParDo(WriteRuns(config, work), beam.pvalue.AsSingleton(plan),
                                        beam.pvalue.AsSingleton(reject_shards)))
    shard_total = plan | "ShardCount" >> beam.Map(lambda pl: pl["num_shards"])
    ((runs, shard_total)
     | "WriteShards" >> MergeShards(staging, "shards", config.seed)
     | "ShardIndex" >> beam.io.WriteToText(f"{staging}/{SHARDS_INDEX}", shard_name_template=""))
    if config.output.keep_rejects:
        ((runs, reject_shards)
         | "WriteRejects" >> MergeShards(staging, "rejects", config.seed)
         | "RejectIndex" >> beam.io.WriteToText(f"{staging}/{REJECTS_INDEX}", shard_name_template=""))

    # The funnel and every other count, summed per key.
    counts = ((prepared | "UnitCounts" >> beam.FlatMap(lambda u: u.counts),
               dedup | "DedupStageCounts" >> beam.FlatMap(lambda d: _records(d["counts"])),
               tokenized | "TokenizeCounts" >> beam.FlatMap(lambda t: _records(t["counts"])),
               runs | "RunCounts" >> beam.FlatMap(lambda r: _records(r[1]) if r[0] == "counts" else []))
              | "FlattenCounts" >> beam.Flatten()
              | "SumCountsPerKey" >> beam.CombinePerKey(_sum_pairs))
    (counts
     | "CountsToJson" >> beam.Map(lambda kv: json.dumps([list(kv[0]), list(kv[1])]))
     | "WriteCounts" >> beam.io.WriteToText(f"{staging}/{COUNTS_FILE}", shard_name_template=""))
    (prepared
     | "Reused" >> beam.Map(lambda u: (int(u.reused), 1))
     | "CountUnits" >> beam.CombineGlobally(_sum_pairs)
     | "UnitsToJson" >> beam.Map(lambda c: json.dumps({"reused": c[0], "units": c[1]}))
     | "WriteUnits" >> beam.io.WriteToText(f"{staging}/{UNITS_FILE}", shard_name_template=""))
    return {unit.key: unit.n_bytes for unit, _ in units}
