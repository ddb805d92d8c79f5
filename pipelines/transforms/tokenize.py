"""Stages 10-11 in Beam: the tokenizer's mixture-weighted training sample and training, tokenization (with long
documents split into parts), and token-weighted mixing.

Global steps here carry only small summaries: per-source histograms (a few thousand integers), the training sample
(bounded by `tokenizer.sample_bytes`, trained on one worker as SentencePiece requires) and the model bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from corpus.config import MixConfig, TokenizerConfig
from corpus.mix import SourcePlan, copy_id, histogram_bucket, merge_histograms, mix_position, part_id, plan_mix
from corpus.stages import STAGE_MIX, STAGE_TOKENIZE
from corpus.text.words import words
from corpus.tokenizer import Tokenizer, encode_parts, train_tokenizer


class Histogram(beam.CombineFn):
    """(bucket, amount) pairs -> {bucket: total}: at most 2^16 entries whatever the input size."""

    def create_accumulator(self):
        return {}

    def add_input(self, acc, item):
        bucket, amount = item
        acc[bucket] = acc.get(bucket, 0) + amount
        return acc

    def merge_accumulators(self, accs):
        return merge_histograms(accs)

    def extract_output(self, acc):
        return acc


def _plans(histograms, weights, target, max_epochs, cap_at_one):
    histograms = dict(histograms)
    if weights is None:
        # No target shares (mix off): weights in proportion to the sources' sizes take the same fraction of each.
        weights = {s: float(sum(h.values())) for s, h in histograms.items()}
    return plan_mix(histograms, weights, target, max_epochs, cap_at_one)


def _natural_plans(histograms):
    """Mixing off: one copy of everything."""
    return {s: SourcePlan(1.0, 1, 0, sum(h.values()), sum(h.values())) for s, h in dict(histograms).items()}


class TrainTokenizer(beam.PTransform):
    """docs -> one element: {"model": bytes, "info": {...}}; the sample is a deterministic, share-weighted
    selection of whole documents (by bytes: tokens do not exist yet). `weights` None: natural shares."""

    def __init__(self, cfg: TokenizerConfig, weights: dict[str, float] | None, seed: int):
        super().__init__()
        self._cfg, self._weights, self._seed = cfg, weights, seed

    def expand(self, docs):
        cfg, weights, seed = self._cfg, self._weights, self._seed
        plans = (docs
                 | "SampleHistogram" >> beam.Map(lambda d: (d.source, (histogram_bucket(
                     mix_position(d.id, seed, "tokenizer-sample")), d.n_bytes)))
                 | "SampleBytesPerBucket" >> beam.CombinePerKey(Histogram())
                 | "SampleHistograms" >> beam.combiners.ToDict()
                 | "SamplePlan" >> beam.Map(_plans, weights, cfg.sample_bytes, 1.0, True))

        def pick(doc, plan):
            position = mix_position(doc.id, seed, "tokenizer-sample")
            source_plan = plan.get(doc.source)
            if source_plan is not None and source_plan.copies(position) > 0:
                yield 0, (position, doc.id, doc.text)

        return (docs
                | "PickSample" >> beam.FlatMap(pick, beam.pvalue.AsSingleton(plans))
                | "GatherSample" >> beam.GroupByKey()
                | "Train" >> beam.Map(_train, cfg))


def _train(element, cfg: TokenizerConfig):
    _, sample = element
    ordered = sorted(sample)   # by position: the sample's order never depends on the runner
    started = time.time()
    model = train_tokenizer((text for _, _, text in ordered), cfg.vocab_size, cfg.model_type)
    info = {"trained": True, "sample_docs": len(ordered),
            "sample_bytes": sum(len(t.encode("utf-8")) for _, _, t in ordered),
            "train_seconds": round(time.time() - started, 2)}
    return {"model": model, "info": info}


def _write_tokenizer(element, staging: str):
    model = element["model"]
    tokenizer = Tokenizer(model)
    with FileSystems.create(f"{staging}/tokenizer/spm.model") as f:
        f.write(model)
    vocab = "".join(f"{tokenizer.piece(i)}\t0\n" for i in range(tokenizer.vocab_size))
    with FileSystems.create(f"{staging}/tokenizer/spm.vocab") as f:
        f.write(vocab.encode("utf-8"))
    info = dict(element["info"], vocab_size=tokenizer.vocab_size, eos_id=tokenizer.eos_id,
                sha256=hashlib.sha256(model).hexdigest(), dtype=str(tokenizer.dtype))
    return json.dumps(info, sort_keys=True)


class WriteTokenizer(beam.PTransform):
    def __init__(self, staging: str):
        super().__init__()
        self._staging = staging

    def expand(self, model):
        return (model
                | "WriteModel" >> beam.Map(_write_tokenizer, self._staging)
                | "WriteInfo" >> beam.io.WriteToText(f"{self._staging}/tokenizer.json", shard_name_template=""))


class Tokenize(beam.DoFn):
    """doc -> units with `tokens` (a long document split at paragraphs into parts `ID#k`), plus count records."""

    COUNTS = "counts"

    def __init__(self, max_doc_tokens: int | None):
        self._max = max_doc_tokens
        self._tokenizer = None
        self._model = None

    def process(self, doc, model):
        if self._model is not model["model"] and self._model != model["model"]:
            self._tokenizer = Tokenizer(model["model"])
        self._model = model["model"]
        tok = self._tokenizer
        parts = encode_parts(doc.text, tok, self._max)
        n_words = len(words(doc.text))
        total_tokens = 0
        for k, (text, tokens) in enumerate(parts):
            unit = dataclasses.replace(doc, id=part_id(doc.id, k, len(parts)), text=text)
            unit.tokens = tokens
            total_tokens += len(tokens)
            yield unit
        lang = doc.lang or "und"
        for kind, name in (("lang", lang), ("source", doc.source)):
            yield beam.pvalue.TaggedOutput(self.COUNTS, (("fertility", kind, name, "tokens"),
                                                         (total_tokens, doc.n_bytes)))
            yield beam.pvalue.TaggedOutput(self.COUNTS, (("fertility", kind, name, "words"), (n_words, 1)))
        if len(parts) > 1:
            yield beam.pvalue.TaggedOutput(self.COUNTS, (("funnel", doc.source, STAGE_TOKENIZE, "added:parts"),
                                                         (len(parts) - 1, 0)))


class Mix(beam.PTransform):
    """units -> the copies to write (SPEC stage 10), plus count records for the funnel and epochs."""

    def __init__(self, cfg: MixConfig, weights: dict[str, float] | None, seed: int):
        super().__init__()
        self._cfg, self._weights, self._seed = cfg, weights, seed

    def expand(self, units):
        cfg, seed = self._cfg, self._seed
        plans = (units
                 | "TokenHistogram" >> beam.Map(lambda u: (u.source, (histogram_bucket(mix_position(u.id, seed)),
                                                                      len(u.tokens))))
                 | "TokensPerBucket" >> beam.CombinePerKey(Histogram())
                 | "TokenHistograms" >> beam.combiners.ToDict()
                 | "MixPlan" >> (beam.Map(_plans, self._weights, cfg.target_tokens, cfg.epoch_cap, False)
                                 if cfg.enabled else beam.Map(_natural_plans)))

        def sample(unit, plan):
            copies = plan[unit.source].copies(mix_position(unit.id, seed))
            n_bytes = unit.n_bytes
            if copies == 0:
                yield beam.pvalue.TaggedOutput("counts", (("funnel", unit.source, STAGE_MIX, "not_sampled"),
                                                          (1, n_bytes)))
            elif copies > 1:
                yield beam.pvalue.TaggedOutput("counts", (("funnel", unit.source, STAGE_MIX, "added:repeats"),
                                                          (copies - 1, (copies - 1) * n_bytes)))
            yield beam.pvalue.TaggedOutput("counts", (("mix", unit.source, "available", ""), (len(unit.tokens), 1)))
            for c in range(copies):
                yield unit if c == 0 else dataclasses.replace(unit, id=copy_id(unit.id, c))

        result = units | "Sample" >> beam.FlatMap(sample, beam.pvalue.AsSingleton(plans)).with_outputs(
            "counts", main="copies")
        return result.copies, result.counts
