"""The pipeline graph, top to bottom, one labelled step per SPEC stage (labels show in the Dataflow console)."""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from corpus.config import Config
from corpus.document import Document
from corpus.shards import REJECT_SCHEMA, doc_schema, document_row, rejection_row
from corpus.stages import (STAGE_CONTENT, STAGE_DECONTAMINATE, STAGE_EXACT_DEDUP, STAGE_LANGID,
                           STAGE_MIX, STAGE_NEAR_DEDUP, STAGE_NORMALIZE, STAGE_QUALITY, STAGE_READ, STAGE_REPETITION,
                           STAGE_TOKENIZE)
from pipelines.transforms.counting import count_docs, sum_counts, count_rejections
from pipelines.transforms.dedup import ExactDedup
from pipelines.transforms.near_dedup import ApplyDecisions, FindContamination, FindNearDuplicates
from pipelines.transforms.progress import Progress
from pipelines.transforms.read import ReadFiles, list_source_files
from pipelines.transforms.stages import ApplyStage
from pipelines.transforms.tokenize import Mix, Tokenize, TrainTokenizer, WriteTokenizer
from pipelines.transforms.write import WriteShards

COUNTS_FILE = "counts.jsonl"
SHARDS_INDEX = "shards.jsonl"
REJECTS_INDEX = "rejects.jsonl"
TOKENIZER_INFO = "tokenizer.json"
LARGEST_CLUSTERS = 10   # survivors listed by name in stats.json `dedup.largest_clusters`


def _output_count(doc: Document):
    yield ("output", doc.source, doc.lang or "und", ""), (1, doc.n_bytes)
    yield ("output_tokens", doc.source, doc.lang or "und", ""), (doc.n_tokens or 0, 0)


def given_tokenizer(path: str) -> dict:
    """A model the config names, read once when the graph is built (any Beam filesystem)."""
    with FileSystems.open(path) as f:
        return {"model": f.read(), "info": {"trained": False, "path": path}}


def _stage_counts(docs, kept, dropped, label: str, stage: str) -> list:
    """A stage's funnel records: documents in, documents out, drops by reason."""
    return [count_docs(docs, f"Count{label}In", stage, "in"),
            count_docs(kept, f"Count{label}Out", stage, "out"),
            count_rejections(dropped, f"Count{label}Drops", stage)]


def build_pipeline(p: beam.Pipeline, config: Config, staging: str, ftlang_cache: str | None = None) -> None:
    """Add every stage to `p`; outputs land under `staging` (shards, rejects, counts and shard indexes)."""
    counts = []
    rejected = []
    files = list_source_files(config)

    read = (p
            | "ListFiles" >> beam.Create(files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "Read" >> beam.ParDo(ReadFiles(config)).with_outputs(ReadFiles.REJECTED, ReadFiles.SKIPPED,
                                                                   main="docs"))
    docs = read.docs | "ProgressRead" >> beam.ParDo(Progress("read"))
    counts += [count_docs(docs, "CountReadDocs", STAGE_READ, "in"),
               count_rejections(read.rejected, "CountReadErrorsIn", STAGE_READ) | "AsReadInput" >> beam.Map(
                   lambda kv: ((kv[0][0], kv[0][1], kv[0][2], "in"), kv[1])),
               count_docs(docs, "CountReadOut", STAGE_READ, "out"),
               count_rejections(read.rejected, "CountReadErrors", STAGE_READ)]
    rejected.append(read.rejected)
    counts.append(read[ReadFiles.SKIPPED])

    for stage, label in ((STAGE_NORMALIZE, "Normalize"), (STAGE_LANGID, "LanguageID"),
                         (STAGE_QUALITY, "QualityFilter"), (STAGE_REPETITION, "RepetitionFilter"),
                         (STAGE_CONTENT, "ContentFilter")):
        result = (docs | label >> beam.ParDo(ApplyStage(config, stage, ftlang_cache))
                  .with_outputs(ApplyStage.REJECTED, main="kept"))
        counts += _stage_counts(docs, result.kept, result.rejected, label, stage)
        rejected.append(result.rejected)
        docs = result.kept

    priorities = {s.name: s.priority for s in config.sources}
    # Stages 7-9. A stage that is off passes everything on and still gets its (empty) funnel row.
    if config.dedup.exact:
        kept, dups = docs | "ExactDedup" >> ExactDedup(priorities)
    else:
        kept, dups = docs, p | "NoExactDedup" >> beam.Create([])
    counts += _stage_counts(docs, kept, dups, "ExactDedup", STAGE_EXACT_DEDUP)
    rejected.append(dups)
    docs = kept

    if config.dedup.minhash.enabled:
        decisions, near_counts = docs | "NearDuplicates" >> FindNearDuplicates(config.dedup.minhash, priorities)
        kept, dups = (docs, decisions) | "NearDedup" >> ApplyDecisions(STAGE_NEAR_DEDUP, "near_duplicate")
        counts += near_counts
    else:
        kept, dups = docs, p | "NoNearDedup" >> beam.Create([])
    counts += _stage_counts(docs, kept, dups, "NearDedup", STAGE_NEAR_DEDUP)
    rejected.append(dups)
    docs = kept

    if config.dedup.decontamination.paths:
        decisions = docs | "FindContamination" >> FindContamination(config)
        kept, dups = (docs, decisions) | "Decontaminate" >> ApplyDecisions(STAGE_DECONTAMINATE, "contaminated")
    else:
        kept, dups = docs, p | "NoDecontamination" >> beam.Create([])
    counts += _stage_counts(docs, kept, dups, "Decontaminate", STAGE_DECONTAMINATE)
    rejected.append(dups)
    docs = kept

    # Survivors of duplicate clusters, counted once each (before parts and repeated epochs exist), and the largest
    # few by name from the same survivors, so `largest_clusters` agrees with `largest_cluster`.
    survivors = docs | "Clusters" >> beam.Filter(lambda d: d.cluster_size > 1)
    counts += [survivors
               | "CountClusters" >> beam.Map(lambda d: (("dedup", "output", "cluster_size", str(d.cluster_size)),
                                                        (1, 0))),
               survivors
               | "ClusterOrder" >> beam.Map(lambda d: (-d.cluster_size, d.id, d.source))
               | "LargestClusters" >> beam.combiners.Top.Smallest(LARGEST_CLUSTERS)
               | "CountLargestClusters" >> beam.FlatMap(
                   lambda top: [(("dedup", "largest", doc_id, source), (-size, 0)) for size, doc_id, source in top])]

    # Stage 11: the tokenizer, trained on a share-weighted sample of the clean documents (or a given model).
    weights = config.share_targets()
    if config.tokenizer.train:
        model = docs | "TrainTokenizer" >> TrainTokenizer(config.tokenizer, weights, config.seed)
    else:
        model = p | "GivenTokenizer" >> beam.Create([given_tokenizer(config.tokenizer.model)])
    model | "WriteTokenizer" >> WriteTokenizer(staging)
    tokenized = docs | "Tokenize" >> beam.ParDo(Tokenize(config.mix.max_doc_tokens), beam.pvalue.AsSingleton(model)
                                                 ).with_outputs(Tokenize.COUNTS, main="units")
    counts += [count_docs(docs, "CountTokenizeIn", STAGE_TOKENIZE, "in"),
               count_docs(tokenized.units, "CountTokenizeOut", STAGE_TOKENIZE, "out"),
               tokenized[Tokenize.COUNTS]]
    units = tokenized.units

    # Stage 10: mix by shares of tokens, now that tokens exist.
    docs, mix_counts = units | "Mix" >> Mix(config.mix, weights, config.seed)
    counts += [count_docs(units, "CountMixIn", STAGE_MIX, "in"),
               count_docs(docs, "CountMixOut", STAGE_MIX, "out"),
               mix_counts]

    docs = docs | "ProgressWritten" >> beam.ParDo(Progress("to write"))
    counts.append(docs | "CountOutput" >> beam.FlatMap(_output_count))

    (docs
     | "WriteShards" >> WriteShards(staging, "shards", doc_schema(config.tokenizer.vocab_size), document_row,
                                     config.seed,
                                     config.output.shard_target_bytes, config.output.num_shards)
     | "ShardIndex" >> beam.io.WriteToText(f"{staging}/{SHARDS_INDEX}", shard_name_template=""))

    if config.output.keep_rejects:
        (tuple(rejected)
         | "AllRejects" >> beam.Flatten()
         | "WriteRejects" >> WriteShards(staging, "rejects", REJECT_SCHEMA, rejection_row, config.seed,
                                          config.output.shard_target_bytes, None)
         | "RejectIndex" >> beam.io.WriteToText(f"{staging}/{REJECTS_INDEX}", shard_name_template=""))

    (sum_counts(counts)
     | "CountsToJson" >> beam.Map(lambda kv: json.dumps([list(kv[0]), list(kv[1])]))
     | "WriteCounts" >> beam.io.WriteToText(f"{staging}/{COUNTS_FILE}", shard_name_template=""))
