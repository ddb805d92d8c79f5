"""Stage 7 in Beam: exact dedup. Only (key, priority, id) tuples are grouped; text meets its decision in a join
by id, where every group holds one document and one decision."""

from __future__ import annotations

import apache_beam as beam

from corpus.dedup.exact import exact_key, resolve_exact_group
from corpus.document import Rejection
from corpus.stages import STAGE_EXACT_DEDUP


def _apply_decision(element):
    doc_id, grouped = element
    docs, decisions = list(grouped["doc"]), list(grouped["decision"])
    for doc in docs:
        duplicate_of, size = decisions[0] if decisions else (None, 1)
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
        members = docs | "KeyByText" >> beam.Map(
            lambda d: (exact_key(d.text), (priorities.get(d.source, 0), d.id)))
        decisions = (members
                     | "GroupIdenticalTexts" >> beam.GroupByKey()
                     | "ChooseSurvivors" >> beam.FlatMap(lambda kv: resolve_exact_group(kv[1])))
        by_id = decisions | "DecisionById" >> beam.Map(lambda d: (d[0], (d[1], d[2])))
        docs_by_id = docs | "DocById" >> beam.Map(lambda d: (d.id, d))
        results = ({"doc": docs_by_id, "decision": by_id}
                   | "JoinDecisions" >> beam.CoGroupByKey()
                   | "ApplyDecisions" >> beam.FlatMap(_apply_decision).with_outputs("rejected", main="kept"))
        return results.kept, results.rejected

