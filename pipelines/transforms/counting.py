"""Funnel counting in the graph: every stage's inputs, outputs and drops become small (key, (docs, bytes)) pairs."""

from __future__ import annotations

import apache_beam as beam


def _sum_pairs(pairs):
    docs = nbytes = 0
    for d, b in pairs:
        docs += d
        nbytes += b
    return docs, nbytes


def count_docs(pcoll, label: str, stage: str, kind: str):
    """Documents (or rejections, counted with their byte size) -> (("funnel", source, stage, kind), (1, bytes))."""
    return pcoll | label >> beam.Map(lambda d: (("funnel", d.source, stage, kind), (1, d.n_bytes)))


def count_rejections(pcoll, label: str, stage: str):
    return pcoll | label >> beam.Map(lambda r: (("funnel", r.source, stage, r.reason), (1, r.n_bytes)))


def sum_counts(pcolls):
    """Flatten count records and sum them per key (combiner-lifted: no key materialises its records)."""
    return (tuple(pcolls)
            | "FlattenCounts" >> beam.Flatten()
            | "SumCountsPerKey" >> beam.CombinePerKey(_sum_pairs))

