"""Stages 7-9 on the key arrays of every prepared unit: exact dedup, MinHash near dedup, decontamination.

One worker reads the key columns it needs, a unit at a time, into flat numpy arrays indexed by a global document
number (units in key order, rows in order): digests and sizes for exact dedup (~40 bytes a document), then one LSH
band at a time (8 bytes a document). Only the documents in a duplicate group or a candidate pair are looked at
further: their signatures, ids and, for pairs near the threshold, their text. Decisions go back to the units as one
small file each (`<work>/dedup/<unit>.parquet`), with the funnel and dedup counts.
"""

from __future__ import annotations

import io
from typing import Any, NamedTuple

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from corpus.config import Config, MinHashConfig
from corpus.dedup import arrays
from corpus.dedup.arrays import Removed
from corpus.dedup.minhash import Banding, choose_banding, dedup_words, shingle_set
from corpus.intermediate import DECISIONS_SCHEMA, SHORT_KEY, SIGNATURE_KEY, keys_schema
from corpus.stages import STAGE_DECONTAMINATE, STAGE_EXACT_DEDUP, STAGE_NEAR_DEDUP
from corpus.stats import CountBook
from pipelines.transforms.prepare import UnitSummary
from pipelines.transforms.stage import StageOutput
from pipelines.transforms.tokenize import iter_batches, read_table
from pipelines.workdir import StepFolder, fingerprint, join, write_bytes

LARGEST_CLUSTERS = 10   # survivors listed by name in stats.json `dedup.largest_clusters`


def banding_for(mh: MinHashConfig) -> Banding:
    if mh.bands is not None and mh.rows is not None:
        return Banding(mh.bands, mh.rows)
    return choose_banding(mh.num_perm, mh.threshold)


class _Corpus:
    """The prepared units as one numbered list of documents: number <-> (unit, row), and column readers."""

    def __init__(self, units: list[UnitSummary], priorities: dict[str, int], key_types: pa.Schema):
        self.units = sorted((u for u in units if u.docs), key=lambda u: u.key)
        sizes = np.array([u.docs for u in self.units], dtype=np.int64)
        self.starts = np.concatenate(([0], np.cumsum(sizes)))
        self.n = int(self.starts[-1])
        self.unit_of = np.repeat(np.arange(len(self.units)), sizes)
        self.source_names = sorted({u.source for u in self.units})
        self.source_of = np.repeat([self.source_names.index(u.source) for u in self.units], sizes).astype(np.int16)
        self.priority = np.repeat([priorities.get(u.source, 0) for u in self.units], sizes).astype(np.int64)
        self.key_types = key_types

    def column(self, name: str) -> pa.ChunkedArray:
        """One key column over every document (a unit at a time; the caller keeps only what it converts)."""
        chunks = [chunk for u in self.units
                  for chunk in read_table(join(u.folder, "keys.parquet"), [name])[name].chunks]
        return pa.chunked_array(chunks, type=self.key_types.field(name).type)

    def rows_of(self, numbers: np.ndarray, file: str, columns: list[str]) -> dict[int, dict[str, Any]]:
        """Chosen documents' columns from a unit file (`keys.parquet` or `docs.parquet`): only those columns are
        read, a batch at a time, and only the chosen rows are converted."""
        wanted: dict[int, dict[str, Any]] = {}
        numbers = np.unique(np.asarray(numbers, dtype=np.int64))
        for u in np.unique(self.unit_of[numbers]).tolist():
            start = int(self.starts[u])
            rows = numbers[self.unit_of[numbers] == u] - start
            offset = 0
            for batch in iter_batches(join(self.units[u].folder, file), columns=columns):
                inside = rows[(rows >= offset) & (rows < offset + batch.num_rows)]
                if len(inside):
                    values = batch.take(pa.array(inside - offset)).to_pylist()
                    wanted.update(zip((inside + start).tolist(), values))
                offset += batch.num_rows
        return wanted


class Deduplicate(beam.PTransform):
    """Prepared units -> StageOutput: kept = one {"fingerprint", "folder", "counts"} (decisions in
    `<work>/dedup/`), counts = the funnel of stages 7-9 and the dedup figures. It rejects by decision only: the
    rejects are written with their text by Tokenize, which reads every survivor's text anyway."""

    def __init__(self, config: Config, work: str):
        super().__init__()
        self._config, self._work = config, work

    def expand(self, prepared):
        decided = (prepared
                   | "AllUnits" >> beam.combiners.ToList()
                   | "Decide" >> beam.Map(self._decide))
        counts = decided | "Counts" >> beam.FlatMap(lambda d: [(tuple(k), tuple(v)) for k, v in d["counts"]])
        return StageOutput(decided, None, counts)

    def _decide(self, units: list[UnitSummary]) -> dict[str, Any]:
        cfg = self._config
        priorities = {s.name: s.priority for s in cfg.sources}
        expected = fingerprint("dedup", sorted((u.key, u.fingerprint) for u in units), cfg.dedup, priorities)
        folder = StepFolder(join(self._work, "dedup"))
        done = folder.done(expected)
        if done is None:
            folder.start()
            mh = cfg.dedup.minhash
            corpus = _Corpus(units, priorities, keys_schema(mh.num_perm, banding_for(mh).bands))
            done = decide(corpus, cfg, folder)
            folder.finish(expected, done)
        return {"fingerprint": expected, "folder": folder.path, "counts": done["counts"]}


def decide(corpus: _Corpus, config: Config, folder: StepFolder) -> dict[str, Any]:
    """Stages 7-9 over all documents, in the order of corpus.dedup.arrays' flow; writes the decision files."""
    n = corpus.n
    mh = config.dedup.minhash
    priority = corpus.priority
    n_bytes = corpus.column("n_bytes").to_numpy()
    counts = CountBook()
    stage_of = np.full(n, -1, dtype=np.int8)            # index into STAGES of the stage that removed a document

    def ids_of(numbers) -> list[str]:
        found = corpus.rows_of(np.asarray(numbers), "docs.parquet", ["id"])
        return [found[int(i)]["id"] for i in numbers]

    def count_stage(stage: int, before: np.ndarray, removed: Removed) -> None:
        gone = np.zeros(n, dtype=bool)
        gone[removed.docs] = True
        stage_of[removed.docs] = stage
        name, reason = STAGES[stage]
        for s, source in enumerate(corpus.source_names):
            mine = corpus.source_of == s
            for kind, mask in (("in", before & mine), ("out", before & mine & ~gone), (reason, gone & mine)):
                if kind == reason and not mask.any():
                    continue
                counts.funnel(source, name, kind, int(n_bytes[mask].sum()), docs=int(mask.sum()))

    nothing = Removed(np.zeros(0, np.int64), np.zeros(0, np.int64))
    everyone = np.ones(n, dtype=bool)

    # Stage 7: identical normalized text across all sources.
    exact = nothing
    if config.dedup.exact and n:
        # Straight from Arrow's buffer of fixed-size 16-byte values: no Python object per document.
        digests = np.frombuffer(corpus.column("digest").combine_chunks().buffers()[1], dtype=np.uint8,
                                count=16 * n).reshape(n, 16)
        exact = arrays.exact_duplicates(digests, priority, ids_of)
        del digests
    count_stage(0, everyone, exact)
    dup7 = arrays.duplicate_of_array(n, exact)
    alive = dup7 == arrays.KEPT

    # Stage 8: MinHash LSH over what exact dedup kept; documents under one shingle on their whole key.
    short = near = nothing
    if mh.enabled and n:
        short, near = near_duplicates(corpus, mh, alive, ids_of, counts)
    both = Removed(*(np.concatenate(parts) for parts in zip(short, near)))
    count_stage(1, alive, both)
    dup8 = arrays.duplicate_of_array(n, exact, short, near)
    alive = dup8 == arrays.KEPT
    sizes = arrays.cluster_sizes(dup8, weights=arrays.cluster_sizes(dup7))

    # Stage 9: every document was checked against the evaluation set where its text was (the prepare step).
    contaminated = nothing
    if config.dedup.decontamination.paths and n:
        matched = corpus.column("contaminated_by")
        docs = np.flatnonzero(alive & ~matched.is_null().to_numpy(zero_copy_only=False))
        contaminated = Removed(docs, docs)          # `duplicate_of` names the evaluation document (below)
    count_stage(2, alive, contaminated)
    alive[contaminated.docs] = False

    # An exact duplicate names its group's survivor, or, where near dedup removed that one, the survivor it went for.
    final = dup8.copy()
    hop = (final != arrays.KEPT) & (stage_of == 0)
    hop &= dup8[np.where(hop, final, 0)] != arrays.KEPT
    final[hop] = dup8[final[hop]]
    named: dict[int, str] = {}
    survivors_named = final[~alive & (stage_of < 2)]
    names = dict(zip(np.unique(survivors_named).tolist(), ids_of(np.unique(survivors_named)))) \
        if len(survivors_named) else {}
    for doc in np.flatnonzero(~alive).tolist():
        named[doc] = names[int(final[doc])] if stage_of[doc] < 2 else None
    if len(contaminated.docs):
        matched_ids = corpus.column("contaminated_by").take(pa.array(contaminated.docs)).to_pylist()
        named.update(zip(contaminated.docs.tolist(), matched_ids))

    # Survivors of duplicate clusters, and the largest few by name.
    survivors = np.flatnonzero(alive & (sizes > 1))
    for size, many in zip(*np.unique(sizes[survivors], return_counts=True)):
        counts.set(("dedup", "output", "cluster_size", str(int(size))), int(many))
    if len(survivors):
        cut = np.sort(sizes[survivors])[::-1][min(len(survivors), LARGEST_CLUSTERS) - 1]
        contenders = survivors[sizes[survivors] >= cut]
        top = sorted((-int(sizes[d]), doc_id, corpus.source_names[corpus.source_of[d]])
                     for d, doc_id in zip(contenders.tolist(), ids_of(contenders)))
        for size, doc_id, source in top[:LARGEST_CLUSTERS]:
            counts.set(("dedup", "largest", doc_id, source), -size)

    _write_decisions(corpus, folder, alive, stage_of, named, sizes)
    return {"counts": counts.records()}


class Candidates(NamedTuple):
    pairs: np.ndarray          # (k, 2) document numbers sharing at least one LSH band
    hot_buckets: int           # buckets larger than `hot_bucket_size`, chained instead of paired
    hot_members: int


class Verified(NamedTuple):
    edges: np.ndarray          # (k, 2) pairs at or above the threshold
    exact_checked: int         # pairs whose estimate was too close to call, checked on their shingle sets


def near_duplicates(corpus: _Corpus, mh: MinHashConfig, alive: np.ndarray, ids_of, counts: CountBook
                    ) -> tuple[Removed, Removed]:
    """Stage 8 over the documents exact dedup kept: (short documents removed on their whole key, near duplicates
    removed), in SPEC §2's steps: candidates, verify, then components and their survivors (resolve)."""
    kind = corpus.column("key_kind").to_numpy()
    short = short_duplicates(corpus, np.flatnonzero(alive & (kind == SHORT_KEY)), ids_of)
    found = candidates(corpus, mh, np.flatnonzero(alive & (kind == SIGNATURE_KEY)), ids_of)
    verified = verify(corpus, mh, found.pairs)
    near = arrays.near_duplicates(verified.edges, corpus.priority, ids_of)      # components, then resolve
    for name, value in (("candidate_pairs", (len(found.pairs), 0)),
                        ("exact_checked_pairs", (verified.exact_checked, 0)),
                        ("verified_pairs", (len(verified.edges), 0)),
                        ("hot_buckets", (found.hot_buckets, found.hot_members))):
        counts.set(("dedup", "near", name, ""), *value)
    return short, near


def short_duplicates(corpus: _Corpus, short_docs: np.ndarray, ids_of) -> Removed:
    """Documents under one shingle: exact dedup on their whole dedup key (SPEC stage 8's fallback)."""
    if not len(short_docs):
        return Removed(np.zeros(0, np.int64), np.zeros(0, np.int64))
    keys = corpus.column("short_key").take(pa.array(short_docs)).to_pylist()
    return arrays.exact_duplicates(np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, 16),
                                   corpus.priority, ids_of, members=short_docs)


def candidates(corpus: _Corpus, mh: MinHashConfig, long_docs: np.ndarray, ids_of) -> Candidates:
    """LSH: pairs of documents that share a band, one band column at a time (8 bytes a document)."""
    pairs, hot, hot_members = np.empty((0, 2), np.int64), 0, 0
    for band in range(banding_for(mh).bands):
        hashes = corpus.column(f"band_{band}").take(pa.array(long_docs)).to_numpy()
        found = arrays.band_candidates(long_docs, hashes, corpus.priority, ids_of, mh.hot_bucket_size)
        pairs = arrays.unique_pairs(pairs, found.pairs)
        hot, hot_members = hot + found.hot_buckets, hot_members + found.hot_bucket_members
    return Candidates(pairs, hot, hot_members)


def verify(corpus: _Corpus, mh: MinHashConfig, pairs: np.ndarray) -> Verified:
    """Every candidate pair on the Jaccard estimated from the full signatures (of candidates only); the pairs
    within `exact_check_sigmas` of the threshold on their exact shingle sets (their text read back)."""
    members, rows = arrays.local_rows(pairs)
    signatures = corpus.rows_of(members, "keys.parquet", ["signature"])
    matrix = (np.stack([np.frombuffer(signatures[int(m)]["signature"], dtype="<u4") for m in members])
              if len(members) else np.zeros((0, mh.num_perm), dtype=np.uint32))
    sure, uncertain = arrays.verify(pairs, arrays.estimated_jaccards(rows, matrix), mh.threshold, mh.num_perm,
                                    mh.exact_check_sigmas)
    del matrix, signatures
    members, rows = arrays.local_rows(uncertain)
    texts = corpus.rows_of(members, "docs.parquet", ["text"])
    sets = [shingle_set(dedup_words(texts[int(m)]["text"]), mh.ngram) for m in members]
    edges = np.concatenate([sure, uncertain[arrays.exact_jaccards(rows, sets) >= mh.threshold]])
    return Verified(edges, len(uncertain))


STAGES = ((STAGE_EXACT_DEDUP, "duplicate"), (STAGE_NEAR_DEDUP, "near_duplicate"),
          (STAGE_DECONTAMINATE, "contaminated"))


def _write_decisions(corpus: _Corpus, folder: StepFolder, alive: np.ndarray, stage_of: np.ndarray,
                     duplicate_of: dict[int, str], cluster: np.ndarray) -> None:
    """One small file per unit with the rows that were removed or survive a cluster; none for a quiet unit."""
    marked = np.flatnonzero(~alive | (cluster > 1))
    bounds = np.searchsorted(marked, corpus.starts)
    for u, unit in enumerate(corpus.units):
        path = folder.file(f"{unit.key}.parquet")
        mine = marked[bounds[u]:bounds[u + 1]]
        if not len(mine):
            if FileSystems.exists(path):
                FileSystems.delete([path])
            continue
        rows = []
        for doc in mine.tolist():
            stage = stage_of[doc]
            rows.append({"row": doc - int(corpus.starts[u]),
                         "stage": STAGES[stage][0] if stage >= 0 else None,
                         "reason": STAGES[stage][1] if stage >= 0 else None,
                         "duplicate_of": duplicate_of.get(doc), "cluster_size": int(cluster[doc])})
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, schema=DECISIONS_SCHEMA), buffer, compression="zstd")
        write_bytes(path, buffer.getvalue())
