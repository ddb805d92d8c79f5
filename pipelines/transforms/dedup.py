"""Stage 7 in Beam: exact dedup. Only (digest, order key, count) summaries are combined, never text; documents
meet their group's summary through a side input that holds duplicated digests only (memory grows with the number
of duplicated texts, not with their bytes, and no shuffle carries a document)."""

from __future__ import annotations

import apache_beam as beam

from corpus.dedup.exact import EMPTY_SUMMARY, exact_decision, exact_key, merge_summaries, summarize
from corpus.document import Rejection
from corpus.stages import STAGE_EXACT_DEDUP


class _MergeSummaries(beam.CombineFn):
    def create_accumulator(self):
        return EMPTY_SUMMARY

    def add_input(self, acc, summary):
        return merge_summaries([acc, summary])

    def merge_accumulators(self, accs):
        return merge_summaries(accs)

    def extract_output(self, acc):
        return acc


def _apply_decision(doc, duplicated):
    duplicate_of, size = exact_decision(doc.id, duplicated.get(exact_key(doc.text)))
    if duplicate_of is None:
        doc.cluster_size = size
        yield doc
    else:
        yield beam.pvalue.TaggedOutput("rejected", Rejection.of(doc, STAGE_EXACT_DEDUP, "duplicate",
                                                                duplicate_of=duplicate_of))


class ExactDedup(beam.PTransform):
    """docs -> (kept docs carrying their cluster size, rejections naming the survivor)."""

    def __init__(self, priorities: dict[str, int]):
        super().__init__()
        self._priorities = priorities

    def expand(self, docs):
        priorities = self._priorities
        duplicated = (docs
                      | "KeyByText" >> beam.Map(
                          lambda d: (exact_key(d.text), summarize(priorities.get(d.source, 0), d.id)))
                      | "SummarizeGroups" >> beam.CombinePerKey(_MergeSummaries())
                      | "DuplicatedOnly" >> beam.Filter(lambda kv: kv[1][1] > 1))
        results = docs | "ApplyDecisions" >> beam.FlatMap(
            _apply_decision, beam.pvalue.AsDict(duplicated)).with_outputs("rejected", main="kept")
        return results.kept, results.rejected
