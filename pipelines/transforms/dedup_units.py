"""Stages 7-9 on the key arrays of every prepared unit: exact dedup, MinHash near dedup, decontamination.

One worker reads the key columns it needs, a unit at a time, into flat numpy arrays indexed by a global document
number (units in key order, rows in order): digests and sizes for exact dedup (~40 bytes a document), then one LSH
band at a time (8 bytes a document). Only the documents in a duplicate group or a candidate pair are looked at
further: their signatures, ids and, for pairs near the threshold, their text. Decisions go back to the units as one
small file each (`<work>/dedup/<unit>.parquet`), with the funnel and dedup counts.
"""

from __future__ import annotations

import io
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from corpus.config import Config, MinHashConfig
from corpus.dedup.minhash import Banding, choose_banding, dedup_words, shingle_set
from corpus.intermediate import DECISIONS_SCHEMA, SHORT_KEY, SIGNATURE_KEY
from corpus.stages import STAGE_DECONTAMINATE, STAGE_EXACT_DEDUP, STAGE_NEAR_DEDUP
from pipelines.transforms.prepare import UnitSummary
from pipelines.transforms.tokenize_units import iter_batches, read_table
from pipelines.workdir import StepFolder, fingerprint, join, write_bytes

LARGEST_CLUSTERS = 10   # survivors listed by name in stats.json `dedup.largest_clusters`


def banding_for(mh: MinHashConfig) -> Banding:
    if mh.bands is not None and mh.rows is not None:
        return Banding(mh.bands, mh.rows)
    return choose_banding(mh.num_perm, mh.threshold)


class _Corpus:
    """The prepared units as one numbered list of documents: number <-> (unit, row), and column readers."""

    def __init__(self, units: list[UnitSummary], priorities: dict[str, int]):
        self.units = sorted((u for u in units if u.docs), key=lambda u: u.key)
        sizes = np.array([u.docs for u in self.units], dtype=np.int64)
        self.starts = np.concatenate(([0], np.cumsum(sizes)))
        self.n = int(self.starts[-1])
        self.unit_of = np.repeat(np.arange(len(self.units)), sizes)
        self.source_names = sorted({u.source for u in self.units})
        self.source_of = np.repeat([self.source_names.index(u.source) for u in self.units], sizes).astype(np.int16)
        self.priority = np.repeat([priorities.get(u.source, 0) for u in self.units], sizes).astype(np.int64)

    def column(self, name: str) -> pa.ChunkedArray:
        """One key column over every document (a unit at a time; the caller keeps only what it converts)."""
        return pa.chunked_array([read_table(join(u.folder, "keys.parquet"), [name])[name] for u in self.units])

    def rows_of(self, numbers: np.ndarray, file: str, columns: list[str]) -> dict[int, dict[str, Any]]:
        """Chosen documents' columns from a unit file (`keys.parquet` or `docs.parquet`), read a batch at a time."""
        wanted: dict[int, dict[str, Any]] = {}
        numbers = np.unique(numbers)
        for u in np.unique(self.unit_of[numbers]):
            rows = set((numbers[self.unit_of[numbers] == u] - self.starts[u]).tolist())
            row = 0
            for batch in iter_batches(join(self.units[u].folder, file)):
                for r, values in enumerate(batch.select(columns).to_pylist()):
                    if row + r in rows:
                        wanted[int(self.starts[u]) + row + r] = values
                row += batch.num_rows
        return wanted


class Deduplicate(beam.PTransform):
    """All prepared units (one list) -> {"fingerprint", "folder", "counts"}; decisions in `<work>/dedup/`."""

    def __init__(self, config: Config, work: str):
        super().__init__()
        self._config, self._work = config, work

    def expand(self, all_prepared):
        return all_prepared | "Decide" >> beam.Map(self._decide)

    def _decide(self, units: list[UnitSummary]) -> dict[str, Any]:
        cfg = self._config
        priorities = {s.name: s.priority for s in cfg.sources}
        expected = fingerprint("dedup", sorted((u.key, u.counts) for u in units), cfg.dedup, priorities)
        folder = StepFolder(join(self._work, "dedup"))
        done = folder.done(expected)
        if done is None:
            done = decide(_Corpus(units, priorities), cfg, folder)
            folder.finish(expected, done)
        return {"fingerprint": expected, "folder": folder.path, "counts": done["counts"]}


def decide(corpus: _Corpus, config: Config, folder: StepFolder) -> dict[str, Any]:
    from corpus.dedup import arrays   # the array algorithms (issue 13)

    n = corpus.n
    mh = config.dedup.minhash
    alive = np.ones(n, dtype=bool)
    stage_of = np.full(n, -1, dtype=np.int8)               # index into STAGES for removed documents
    duplicate_of: dict[int, str] = {}
    cluster = np.ones(n, dtype=np.int64)
    counts: dict[tuple[str, str, str, str], list[int]] = {}
    n_bytes = corpus.column("n_bytes").to_numpy()

    def ids_of(numbers) -> dict[int, str]:
        return {k: v["id"] for k, v in corpus.rows_of(np.asarray(numbers), "docs.parquet", ["id"]).items()}

    def count_stage(stage: str, before: np.ndarray, removed: np.ndarray, reason: str) -> None:
        for s, name in enumerate(corpus.source_names):
            mine = corpus.source_of == s
            for kind, mask in (("in", before & mine), ("out", before & mine & ~removed), (reason, removed & mine)):
                if kind == reason and not mask.any():
                    continue
                entry = counts.setdefault(("funnel", name, stage, kind), [0, 0])
                entry[0] += int(mask.sum())
                entry[1] += int(n_bytes[mask].sum())

    # Stage 7: identical normalized text across all sources.
    before = alive.copy()
    if config.dedup.exact and n:
        digests = np.frombuffer(b"".join(corpus.column("digest").to_pylist()), dtype="<u8").reshape(n, 2)
        removed_by, sizes = arrays.exact_duplicates(digests, corpus.priority, ids_of)
        for doc, survivor in removed_by.items():
            duplicate_of[doc] = survivor
        for doc, size in sizes.items():
            cluster[doc] = size
        removed = np.zeros(n, dtype=bool)
        removed[list(removed_by)] = True
        alive &= ~removed
        stage_of[removed] = 0
    count_stage(STAGE_EXACT_DEDUP, before, before & ~alive, "duplicate")

    # Stage 8: MinHash LSH over the survivors, one band at a time.
    before = alive.copy()
    if mh.enabled and n:
        kind = corpus.column("key_kind").to_numpy()
        banding = banding_for(mh)
        candidates = []
        signed = alive & (kind == SIGNATURE_KEY)
        for band in range(banding.bands):
            hashes = corpus.column(f"band_{band}").fill_null(0).to_numpy().astype(np.uint64)
            candidates.append(arrays.band_candidates(hashes, signed, corpus.priority, mh.hot_bucket_size))
        short = alive & (kind == SHORT_KEY)
        short_hashes = np.zeros(n, dtype=np.uint64)
        if short.any():
            keys = corpus.column("short_key").to_pylist()
            short_hashes[short] = [int.from_bytes(keys[i][:8], "little") for i in np.flatnonzero(short)]
        short_pairs = arrays.band_candidates(short_hashes, short, corpus.priority, mh.hot_bucket_size)
        pairs = arrays.distinct_pairs(candidates)
        signatures = {k: np.frombuffer(v["signature"], dtype="<u4") for k, v in
                      corpus.rows_of(pairs.ravel(), "keys.parquet", ["signature"]).items()}
        verified, borderline = arrays.verify(pairs, signatures, mh.threshold, mh.num_perm, mh.exact_check_sigmas)
        if len(borderline):
            texts = corpus.rows_of(borderline.ravel(), "docs.parquet", ["text"])
            sets = {k: shingle_set(dedup_words(v["text"]), mh.ngram) for k, v in texts.items()}
            verified = np.concatenate([verified, arrays.exact_check(borderline, sets, mh.threshold)])
        edges = arrays.distinct_pairs([verified, short_pairs])
        removed_by = arrays.resolve(edges, corpus.priority, ids_of, cluster)
        removed = np.zeros(n, dtype=bool)
        for doc, survivor in removed_by.items():
            duplicate_of[doc] = survivor
            removed[doc] = True
        alive &= ~removed
        stage_of[removed] = 1
        for name, value in (("candidate_pairs", len(pairs)), ("exact_checked_pairs", len(borderline)),
                            ("verified_pairs", len(edges)), ("unconverged_edges", 0)):
            counts[("dedup", "near", name, "")] = [value, 0]
    count_stage(STAGE_NEAR_DEDUP, before, before & ~alive, "near_duplicate")

    # Stage 9: each document was checked against the evaluation set where its text was (prepare step).
    before = alive.copy()
    if config.dedup.decontamination.paths and n:
        matched = corpus.column("contaminated_by").to_pylist()
        for doc in np.flatnonzero(alive):
            if matched[doc] is not None:
                alive[doc] = False
                stage_of[doc] = 2
                duplicate_of[int(doc)] = matched[doc]
    count_stage(STAGE_DECONTAMINATE, before, before & ~alive, "contaminated")

    # Survivors of duplicate clusters, and the largest few by name.
    survivors = np.flatnonzero(alive & (cluster > 1))
    for size, many in zip(*np.unique(cluster[survivors], return_counts=True)):
        counts[("dedup", "output", "cluster_size", str(int(size)))] = [int(many), 0]
    order = survivors[np.argsort(-cluster[survivors], kind="stable")]
    if len(order):
        cut = cluster[order[min(len(order), LARGEST_CLUSTERS) - 1]]
        contenders = order[cluster[order] >= cut]
        names = ids_of(contenders)
        top = sorted((-int(cluster[d]), names[int(d)], corpus.source_names[corpus.source_of[d]]) for d in contenders)
        for size, doc_id, source in top[:LARGEST_CLUSTERS]:
            counts[("dedup", "largest", doc_id, source)] = [-size, 0]

    _write_decisions(corpus, folder, alive, stage_of, duplicate_of, cluster)
    return {"counts": [[list(k), v] for k, v in sorted(counts.items())]}


STAGES = ((STAGE_EXACT_DEDUP, "duplicate"), (STAGE_NEAR_DEDUP, "near_duplicate"),
          (STAGE_DECONTAMINATE, "contaminated"))


def _write_decisions(corpus: _Corpus, folder: StepFolder, alive: np.ndarray, stage_of: np.ndarray,
                     duplicate_of: dict[int, str], cluster: np.ndarray) -> None:
    """One small file per unit with the rows that were removed or survive a cluster; none for a quiet unit."""
    marked = np.flatnonzero(~alive | (cluster > 1))
    for u, unit in enumerate(corpus.units):
        path = folder.file(f"{unit.key}.parquet")
        mine = marked[corpus.unit_of[marked] == u]
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
