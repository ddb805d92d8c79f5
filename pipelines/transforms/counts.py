"""The bookkeeping files of a run: every stage's count records summed per key, and how many units were reused."""

from __future__ import annotations

import json

import apache_beam as beam

from pipelines.workdir import join


def _sum_pairs(pairs):
    docs = nbytes = 0
    for d, b in pairs:
        docs += d
        nbytes += b
    return docs, nbytes


class WriteCounts(beam.PTransform):
    """Count-record collections of the stages -> one JSON line per key, (docs, bytes) summed (stats.json's source)."""

    def __init__(self, staging: str, name: str):
        super().__init__()
        self._path = join(staging, name)

    def expand(self, counts):
        return (counts
                | "Flatten" >> beam.Flatten()
                | "SumPerKey" >> beam.CombinePerKey(_sum_pairs)
                | "ToJson" >> beam.Map(lambda kv: json.dumps([list(kv[0]), list(kv[1])]))
                | "Write" >> beam.io.WriteToText(self._path, shard_name_template=""))


class WriteUnitsReused(beam.PTransform):
    """Prepared units -> {"units": n, "reused": k}: how many units a resumed run did not read again."""

    def __init__(self, staging: str, name: str):
        super().__init__()
        self._path = join(staging, name)

    def expand(self, prepared):
        return (prepared
                | "Reused" >> beam.Map(lambda u: (int(u.reused), 1))
                | "Count" >> beam.CombineGlobally(_sum_pairs)
                | "ToJson" >> beam.Map(lambda c: json.dumps({"reused": c[0], "units": c[1]}))
                | "Write" >> beam.io.WriteToText(self._path, shard_name_template=""))
