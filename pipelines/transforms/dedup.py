"""Stages 7-9 as Beam steps, partitioned so that no step but the one over verified pairs grows with the corpus
(the decisions are `corpus.dedup.partitioned`'s; this module only routes records between them).

Documents are numbered globally (units in key order, rows in order). Each unit sends each partition the keys of
its own documents that fall there (GroupByKey on the partition); what a partition decides goes back to the units
(GroupByKey on the unit). Text never travels: a step that needs a few documents' signatures, ids or texts sends
their numbers to their units, which read those rows and send them back. What grows with the corpus (key blocks,
band hashes, members' signatures, texts, every outcome) goes through files in `<work>/dedup/_blocks/`
(`pipelines.blocks`): the shuffles carry references, so no runner holds what waits between steps in memory (the
20M bench on Dask). Finish deletes the files.

  Number         every unit's first document number, the partition count, the step's fingerprint (one record)
  ExactKeys      per unit: digests, priorities, ids -> digest ranges
  DecideExact    per digest range: its duplicate groups (stage 7) -> units; exact removals -> hop ranges
  NearKeys       per unit, with its stage 7 outcome: short keys -> short-key ranges, band hashes -> (band, range)
  DecideShort    per short-key range: its groups (stage 8's short documents) -> units and hop ranges
  BandPairs      per (band, hash range): candidate pairs -> pair partitions (by a hash of the pair)
  UniquePairs    per pair partition: its distinct pairs; the members' numbers -> their units
  ReadMembers    per unit: those members' signatures, ids, priorities, exact cluster sizes -> pair partitions
  Estimate       per pair partition: sure pairs -> Resolve; uncertain pairs -> text requests to their units
  ReadTexts      per unit: those texts -> pair partitions; ExactCheck there keeps the uncertain pairs that hold
  Resolve        one worker, verified pairs only: components and survivors -> units and hop ranges
  Hop            per range of survivors: an exact duplicate of a document stage 8 removed names that one's survivor
  DecideUnit     per unit: its decisions file (`<work>/dedup/<unit>.parquet`), counts and largest clusters
  Finish         one record: the counts summed, the step's done file
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any, Iterable, NamedTuple

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from corpus.config import Config
from corpus.dedup import partitioned as parts
from corpus.dedup.decide import LARGEST_CLUSTERS, banding_for, digest_partition
from corpus.dedup.partitioned import BandBlock, Edges, HopBlock, KeyBlock, Members, PairCounts
from corpus.intermediate import DECISIONS_SCHEMA, SHORT_KEY, SIGNATURE_KEY
from corpus.stats import merge_counts
from pipelines.blocks import read_blocks, write_blocks
from pipelines.memory import release_memory
from pipelines.parquet_files import iter_batches, read_table
from pipelines.transforms.prepare import UnitSummary
from pipelines.transforms.stage import StageOutput
from pipelines.timings import TimedDoFn
from pipelines.workdir import StepFolder, delete_tree, fingerprint, join, write_bytes

STEP = "dedup"
TIMED = "Deduplicate"
BLOCKS = "_blocks"      # `<work>/dedup/_blocks/<kind>/<unit>.bin`: what the shuffles carry references to
# Pair partitions per range of documents. A pair partition holds the signatures of its pairs' members (1 KB each
# with 256 slots, up to two a pair), more than the 16-100 B a document other steps hold: at 20M documents (bench)
# one partition a range made Estimate the step that set every worker's peak.
PAIR_SPLIT = 4


class Numbering(NamedTuple):
    """Every prepared unit's place in the global numbering of documents, and how the corpus is partitioned."""

    keys: list[str]             # units with documents, in key order
    index: dict[str, int]       # unit key -> its place in `keys`
    starts: np.ndarray          # (units + 1,) each one's first document number, then the number of documents
    folders: list[str]
    priorities: list[int]       # each unit's source's priority
    partitions: int             # ranges of digests, of band hashes, of survivor numbers; pairs: PAIR_SPLIT times
    fingerprint: str            # the dedup step's: nothing is done when its decisions are already there
    done: bool

    @property
    def n(self) -> int:
        return int(self.starts[-1])

    def unit_of(self, numbers: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts, numbers, side="right") - 1

    def by_unit(self, numbers: np.ndarray) -> Iterable[tuple[int, np.ndarray]]:
        """(unit index, the rows there) for ascending global numbers."""
        units = self.unit_of(numbers)
        for u in np.unique(units).tolist():
            yield u, numbers[units == u] - self.starts[u]


class Request(NamedTuple):
    """Rows of a unit that a partition wants read."""

    owner: Any                  # the asking partition's key
    rows: np.ndarray            # ascending


class Texts(NamedTuple):
    numbers: np.ndarray
    texts: list[str]


class Renamed(NamedTuple):
    """Exact duplicates of one unit whose survivor stage 8 removed, and the name each passes on instead."""

    rows: np.ndarray
    names: list[str]


class UnitResult(NamedTuple):
    counts: list
    largest: list[tuple[int, str, str]]


class DedupResult(NamedTuple):
    """What the dedup step tells the later steps: its fingerprint (theirs chain on it), where the decision files
    are, and its counts."""

    fingerprint: str
    folder: str
    counts: list


def read_rows(folder: str, file: str, column: str, rows: np.ndarray) -> list[Any]:
    """Values of one column of a unit file at chosen rows (ascending): only that column is read, a batch at a time,
    and only the chosen rows are converted."""
    values: list[Any] = []
    offset = 0
    for batch in iter_batches(join(folder, file), columns=[column]):
        inside = rows[(rows >= offset) & (rows < offset + batch.num_rows)]
        if len(inside):
            values += batch.column(0).take(pa.array(inside - offset)).to_pylist()
        offset += batch.num_rows
    return values


def _ids_reader(numbering: Numbering):
    """ids_of(global numbers) -> their ids, read in their units' files (hot buckets' ties only)."""
    def ids_of(numbers: np.ndarray) -> list[str]:
        numbers = np.asarray(numbers, dtype=np.int64)
        order = np.argsort(numbers, kind="stable")
        found: list[str] = []
        for u, rows in numbering.by_unit(numbers[order]):
            found += read_rows(numbering.folders[u], "docs.parquet", "id", rows)
        out = [""] * len(numbers)
        for at, value in zip(order.tolist(), found):
            out[at] = value
        return out
    return ids_of


def _blocks_file(work: str, kind: str, unit_key: str) -> str:
    return join(work, STEP, BLOCKS, kind, f"{unit_key}.bin")


def _digests(column: pa.ChunkedArray | pa.Array, count: int) -> np.ndarray:
    """(count, 16) uint8 straight from Arrow's buffer of fixed-size 16-byte values (no object per document)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return np.frombuffer(column.buffers()[1], dtype=np.uint8, count=16 * count).reshape(count, 16)


class Deduplicate(beam.PTransform):
    """Prepared units -> StageOutput: kept = one DedupResult (decisions in `<work>/dedup/`), counts = the funnel
    of stages 7-9 and the dedup figures. It rejects by decision only: the rejects are written with their text by
    Tokenize, which reads every survivor's text anyway."""

    def __init__(self, config: Config, work: str):
        super().__init__()
        self._config, self._work = config, work

    def expand(self, prepared):
        cfg, work = self._config, self._work
        units = prepared | "AllUnits" >> beam.combiners.ToList()
        numbering = beam.pvalue.AsSingleton(units | "Number" >> beam.Map(self._numbering))
        by_unit = prepared | "ByUnit" >> beam.Map(lambda u: (u.key, u))

        exact = (prepared
                 | "ExactKeys" >> beam.ParDo(ExactKeys(cfg, work), numbering)
                 | "ByDigest" >> beam.GroupByKey()
                 | "DecideExact" >> beam.ParDo(DecideGroups(work, "exact"), numbering).with_outputs("hop",
                                                                                                      main="units"))
        near_keys = ({"unit": by_unit, "exact": exact.units}
                     | "WithExact" >> beam.CoGroupByKey()
                     | "NearKeys" >> beam.ParDo(NearKeys(cfg, work), numbering).with_outputs("short", "band",
                                                                                             main="exact"))
        short = (near_keys.short
                 | "ByShortKey" >> beam.GroupByKey()
                 | "DecideShort" >> beam.ParDo(DecideGroups(work, "short"), numbering).with_outputs("hop",
                                                                                                      main="units"))
        pairs = (near_keys.band
                 | "ByBand" >> beam.GroupByKey()
                 | "BandPairs" >> beam.ParDo(BandPairs(cfg, work), numbering).with_outputs("stats", main="pairs")
                 )
        unique = (pairs.pairs
                  | "ByPair" >> beam.GroupByKey()
                  | "UniquePairs" >> beam.ParDo(UniquePairs(work), numbering).with_outputs("requests",
                                                                                          main="pairs"))
        members = ({"unit": by_unit, "exact": near_keys.exact, "requests": unique.requests}
                   | "MembersOfUnit" >> beam.CoGroupByKey()
                   | "ReadMembers" >> beam.ParDo(ReadMembers(work), numbering))
        estimated = ({"pairs": unique.pairs, "members": members}
                     | "PairsWithMembers" >> beam.CoGroupByKey()
                     | "Estimate" >> beam.ParDo(Estimate(cfg, work), numbering).with_outputs(
                         "uncertain", "requests", "stats", main="edges"))
        texts = ({"unit": by_unit, "requests": estimated.requests}
                 | "TextsOfUnit" >> beam.CoGroupByKey()
                 | "ReadTexts" >> beam.ParDo(ReadTexts(work), numbering))
        checked = ({"pairs": estimated.uncertain, "texts": texts}
                   | "UncertainWithTexts" >> beam.CoGroupByKey()
                   | "ExactCheck" >> beam.ParDo(ExactCheck(cfg, work)).with_outputs("stats", main="edges"))
        resolved = ((estimated.edges, checked.edges)
                    | "VerifiedPairs" >> beam.Flatten()
                    | "AllPairs" >> beam.combiners.ToList()
                    | "Resolve" >> beam.ParDo(Resolve(work), numbering).with_outputs("hop", main="units"))
        hopped = ((exact.hop, short.hop, resolved.hop)
                  | "HopBlocks" >> beam.Flatten()
                  | "BySurvivor" >> beam.GroupByKey()
                  | "Hop" >> beam.ParDo(Hop(), numbering))
        decided = ({"unit": by_unit, "exact": near_keys.exact, "near": (short.units, resolved.units)
                    | "NearOutcomes" >> beam.Flatten(), "hop": hopped}
                   | "AllOfUnit" >> beam.CoGroupByKey()
                   | "DecideUnit" >> beam.ParDo(DecideUnit(cfg, work), numbering))
        stats = ((pairs.stats, estimated.stats, checked.stats) | "PairStats" >> beam.Flatten())
        result = (decided
                  | "UnitResults" >> beam.combiners.ToList()
                  | "Finish" >> beam.Map(self._finish, numbering, beam.pvalue.AsList(stats)))
        counts = result | "Counts" >> beam.FlatMap(lambda d: [(tuple(k), tuple(v)) for k, v in d.counts])
        return StageOutput(result, None, counts)

    def _expected(self, units: list[UnitSummary]) -> str:
        cfg = self._config
        priorities = {s.name: s.priority for s in cfg.sources}
        # How the corpus is partitioned never changes a decision: a new partition size reuses them.
        settings = dataclasses.replace(cfg.dedup, partition_docs=0)
        return fingerprint("dedup", sorted((u.key, u.fingerprint) for u in units), settings, priorities)

    def _numbering(self, units: list[UnitSummary]) -> Numbering:
        priorities = {s.name: s.priority for s in self._config.sources}
        ordered = sorted((u for u in units if u.docs), key=lambda u: u.key)
        starts = np.concatenate(([0], np.cumsum([u.docs for u in ordered], dtype=np.int64))).astype(np.int64)
        expected = self._expected(units)
        partitions = max(1, -(-int(starts[-1]) // self._config.dedup.partition_docs))
        folder = StepFolder(join(self._work, STEP))
        done = folder.done(expected) is not None
        if not done:
            folder.start()
        return Numbering([u.key for u in ordered], {u.key: i for i, u in enumerate(ordered)}, starts, [u.folder for u in ordered],
                         [priorities.get(u.source, 0) for u in ordered], partitions, expected, done)

    def _finish(self, results: list[UnitResult], numbering: Numbering, stats: list[PairCounts]) -> DedupResult:
        folder = StepFolder(join(self._work, STEP))
        if numbering.done:
            return DedupResult(numbering.fingerprint, folder.path, folder.done(numbering.fingerprint)["counts"])
        merged = merge_counts((tuple(k), tuple(v)) for r in results for k, v in r.counts)
        mh = self._config.dedup.minhash
        if mh.enabled and numbering.n:
            total = PairCounts(*(sum(column) for column in zip(PairCounts(), *stats)))
            for name, value in (("candidate_pairs", (total.candidate_pairs, 0)),
                                ("exact_checked_pairs", (total.exact_checked_pairs, 0)),
                                ("verified_pairs", (total.verified_pairs, 0)),
                                ("hot_buckets", (total.hot_buckets, total.hot_bucket_members))):
                merged[("dedup", "near", name, "")] = value
        for size, doc_id, source in sorted(c for r in results for c in r.largest)[:LARGEST_CLUSTERS]:
            merged[("dedup", "largest", doc_id, source)] = (-size, 0)
        counts = [[list(k), list(v)] for k, v in sorted(merged.items())]
        folder.finish(numbering.fingerprint, {"counts": counts})
        delete_tree(join(self._work, STEP, BLOCKS))       # every step that reads them is upstream of this one
        return DedupResult(numbering.fingerprint, folder.path, counts)


class _DedupStep(TimedDoFn):
    """A dedup step's DoFn: timed per bundle, and what its bundle freed handed back to the system at the end. A worker
    runs step after step, then trains the tokenizer; without this the memory of the steps stayed with it (1 GB run:
    a worker at 1.52 GB while training, against 0.89 GB before the steps were split)."""

    def finish_bundle(self):
        super().finish_bundle()
        release_memory()


class ExactKeys(_DedupStep):
    """UnitSummary -> (digest range, KeyBlock as a BlockRef) for each range its documents fall in (stage 7)."""

    def __init__(self, config: Config, work: str):
        super().__init__(work, TIMED)
        self._config, self._work = config, work

    def process(self, unit: UnitSummary, numbering: Numbering):
        if numbering.done or not self._config.dedup.exact or not unit.docs:
            return
        with self.timed():
            digests = _digests(read_table(join(unit.folder, "keys.parquet"), ["digest"])["digest"], unit.docs)
            ids = read_table(join(unit.folder, "docs.parquet"), ["id"])["id"].to_pylist()
            u = numbering.index[unit.key]
            numbers = numbering.starts[u] + np.arange(unit.docs, dtype=np.int64)
            priority = np.full(unit.docs, numbering.priorities[u], dtype=np.int64)
            partition = digest_partition(digests, numbering.partitions)
            blocks = []
            for p in np.unique(partition).tolist():
                mine = np.flatnonzero(partition == p)
                blocks.append((p, KeyBlock(numbers[mine], digests[mine], priority[mine],
                                           np.ones(len(mine), np.int64), [ids[i] for i in mine.tolist()])))
            yield from write_blocks(_blocks_file(self._work, "exact", unit.key), blocks)


class DecideGroups(_DedupStep):
    """(range, its KeyBlocks' refs) -> (unit key, UnitOutcome) per unit it decided about, and tagged "hop": the
    removals keyed by the hop range of the survivor (stage 7) or of the removed document (stage 8); as BlockRefs."""

    def __init__(self, work: str, kind: str):
        super().__init__(work, TIMED)
        self._work, self._kind = work, kind

    def process(self, element, numbering: Numbering):
        # element: (range, its KeyBlocks' refs). Not annotated: Beam would check it against what GroupByKey gives.
        p, refs = element
        with self.timed():
            outcome = parts.group_duplicates(parts.merge_blocks(read_blocks(refs)))
            yield from _outcome_refs(_blocks_file(self._work, f"{self._kind}-decided", str(p)), outcome, numbering,
                                     near=self._kind != "exact")


def _unit_to_decide(joined, numbering: Numbering) -> UnitSummary | None:
    """The unit of a join by unit key, if it has documents and the step's decisions are not already there."""
    if numbering.done or not joined["unit"] or not joined["unit"][0].docs:
        return None
    return joined["unit"][0]


def _outcome_refs(path: str, outcome: parts.Outcome, numbering: Numbering, near: bool):
    """An outcome, written to `path`: (unit key, BlockRef of its UnitOutcome) per unit, and tagged "hop" (hop range,
    BlockRef of a HopBlock): stage 7's removals by their survivor's range, stage 8's by their own."""
    pieces = [(numbering.keys[u], piece) for u, piece in parts.split_by_unit(outcome, numbering.starts)]
    on = outcome.removed if near else outcome.target
    ranges = parts.number_partition(on, numbering.n, numbering.partitions)
    hops = []
    for h in np.unique(ranges).tolist():
        at = np.flatnonzero(ranges == h)
        hops.append((h, HopBlock(outcome.removed[at], outcome.target[at],
                                 [outcome.target_ids[i] for i in at.tolist()] if near else [], near)))
    refs = write_blocks(path, pieces + hops)
    yield from refs[:len(pieces)]
    for ref in refs[len(pieces):]:
        yield beam.pvalue.TaggedOutput("hop", ref)


def _exact_of(joined) -> parts.UnitOutcome:
    """A unit's stage 7 outcome in a join by unit key (read from its block), or nothing removed."""
    return read_blocks(joined["exact"])[0] if joined["exact"] else parts.NOTHING


class NearKeys(_DedupStep):
    """(unit key, {unit, its stage 7 pieces}) -> the unit's stage 7 outcome (main, for later joins), its short
    documents' keys (tagged "short", by short-key range) and its band hashes (tagged "band", by (band, range)),
    of the documents stage 7 kept (as BlockRefs)."""

    def __init__(self, config: Config, work: str):
        super().__init__(work, TIMED)
        self._config, self._work = config, work

    def process(self, element, numbering: Numbering):
        key, joined = element
        unit = _unit_to_decide(joined, numbering)
        if unit is None:
            return
        exact = parts.merge_unit_outcomes(read_blocks(joined["exact"]))
        yield from write_blocks(_blocks_file(self._work, "unit-exact", key), [(key, exact)])
        mh = self._config.dedup.minhash
        if not mh.enabled:
            return
        with self.timed():
            u = numbering.index[key]
            alive = np.ones(unit.docs, dtype=bool)
            alive[exact.removed] = False
            weight = np.ones(unit.docs, dtype=np.int64)
            weight[exact.survivors] = exact.sizes
            numbers = numbering.starts[u] + np.arange(unit.docs, dtype=np.int64)
            priority = np.full(unit.docs, numbering.priorities[u], dtype=np.int64)
            bands = banding_for(mh).bands
            table = read_table(join(unit.folder, "keys.parquet"),
                               ["key_kind", "short_key", *(f"band_{b}" for b in range(bands))])
            kind = table["key_kind"].to_numpy()
            short = np.flatnonzero(alive & (kind == SHORT_KEY))
            short_blocks = []
            if len(short):
                keys = _digests(table["short_key"].take(pa.array(short)), len(short))
                ids = read_rows(unit.folder, "docs.parquet", "id", short)
                ranges = digest_partition(keys, numbering.partitions)
                for p in np.unique(ranges).tolist():
                    at = np.flatnonzero(ranges == p)
                    rows = short[at]
                    short_blocks.append((p, KeyBlock(numbers[rows], keys[at], priority[rows], weight[rows],
                                                     [ids[i] for i in at.tolist()])))
            for ref in write_blocks(_blocks_file(self._work, "short", key), short_blocks):
                yield beam.pvalue.TaggedOutput("short", ref)
            long = np.flatnonzero(alive & (kind == SIGNATURE_KEY))
            band_blocks = []
            for b in range(bands if len(long) else 0):
                hashes = table[f"band_{b}"].take(pa.array(long)).to_numpy()
                ranges = parts.hash_partition(hashes, numbering.partitions)
                for r in np.unique(ranges).tolist():
                    at = np.flatnonzero(ranges == r)
                    rows = long[at]
                    band_blocks.append(((b, r), BandBlock(numbers[rows], hashes[at])))
            for ref in write_blocks(_blocks_file(self._work, "bands", key), band_blocks):
                yield beam.pvalue.TaggedOutput("band", ref)


class BandPairs(_DedupStep):
    """((band, range), its BandBlocks' refs) -> (pair partition, pairs) by a hash of each pair; tagged "stats":
    the hot buckets."""

    def __init__(self, config: Config, work: str):
        super().__init__(work, TIMED)
        self._config = config

    def process(self, element, numbering: Numbering):
        (b, r), refs = element
        with self.timed():
            block = parts.merge_band_blocks(read_blocks(refs))
            priority = np.asarray(numbering.priorities, dtype=np.int64)[numbering.unit_of(block.numbers)]
            pairs, stats = parts.band_pairs(block, priority, _ids_reader(numbering),
                                            self._config.dedup.minhash.hot_bucket_size)
            yield beam.pvalue.TaggedOutput("stats", stats)
            owners = parts.pair_partition(pairs, numbering.partitions * PAIR_SPLIT)
            for p in np.unique(owners).tolist():
                yield p, pairs[owners == p]


class UniquePairs(_DedupStep):
    """(pair partition, pair arrays) -> (pair partition, its distinct pairs); tagged "requests": (unit key,
    Request) for the signatures of their members."""

    def __init__(self, work: str):
        super().__init__(work, TIMED)

    def process(self, element, numbering: Numbering):
        p, chunks = element
        with self.timed():
            pairs = parts.arrays.unique_pairs(*chunks)
            yield p, pairs
            for u, rows in numbering.by_unit(np.unique(pairs)):
                yield beam.pvalue.TaggedOutput("requests", (numbering.keys[u], Request(p, rows)))


def _requested(joined) -> tuple[UnitSummary, list[Request], np.ndarray]:
    """A unit, the requests made of it, and every row they ask for (ascending: each is read once)."""
    requests = list(joined["requests"])
    return joined["unit"][0], requests, np.unique(np.concatenate([r.rows for r in requests]))


class ReadMembers(_DedupStep):
    """(unit key, {unit, exact outcome, requests}) -> (pair partition, Members as a BlockRef) for each request: the rows'
    signatures and ids read once for all of them, their priority and exact cluster size."""

    def __init__(self, work: str):
        super().__init__(work, TIMED)
        self._work = work

    def process(self, element, numbering: Numbering):
        key, joined = element
        if not joined["requests"]:
            return
        unit, requests, rows = _requested(joined)
        exact = _exact_of(joined)
        with self.timed():
            u = numbering.index[key]
            signatures = read_rows(unit.folder, "keys.parquet", "signature", rows)
            matrix = np.frombuffer(b"".join(signatures), dtype="<u4").reshape(len(rows), -1).astype(np.uint32)
            ids = read_rows(unit.folder, "docs.parquet", "id", rows)
            weight = np.ones(unit.docs, dtype=np.int64)
            weight[exact.survivors] = exact.sizes
            blocks = []
            for request in requests:
                at = parts.rows_of(rows, request.rows)
                blocks.append((request.owner, Members(numbering.starts[u] + request.rows,
                                                      np.full(len(at), numbering.priorities[u], dtype=np.int64),
                                                      weight[request.rows], [ids[i] for i in at.tolist()],
                                                      matrix[at])))
            yield from write_blocks(_blocks_file(self._work, "members", key), blocks)


class Estimate(_DedupStep):
    """(pair partition, {pairs, members}) -> Edges of the sure pairs; tagged "uncertain": (pair partition, Edges)
    of those too close to call, "requests": their members' texts asked of their units, "stats"."""

    def __init__(self, config: Config, work: str):
        super().__init__(work, TIMED)
        self._config = config

    def process(self, element, numbering: Numbering):
        p, joined = element
        if not joined["pairs"]:
            return
        mh = self._config.dedup.minhash
        with self.timed():
            pairs = joined["pairs"][0]
            members = parts.merge_members(read_blocks(joined["members"]))
            sure, uncertain = parts.estimate_pairs(pairs, members, mh.threshold, mh.num_perm, mh.exact_check_sigmas)
            members = members._replace(signatures=np.zeros((len(members.numbers), 0), np.uint32))
            yield Edges(sure, _members_of(sure, members))
            yield beam.pvalue.TaggedOutput("stats", PairCounts(candidate_pairs=len(pairs),
                                                               exact_checked_pairs=len(uncertain),
                                                               verified_pairs=len(sure)))
            if len(uncertain):
                yield beam.pvalue.TaggedOutput("uncertain", (p, Edges(uncertain, _members_of(uncertain, members))))
                for u, rows in numbering.by_unit(np.unique(uncertain)):
                    yield beam.pvalue.TaggedOutput("requests", (numbering.keys[u], Request(p, rows)))


def _members_of(pairs: np.ndarray, members: Members) -> Members:
    at = parts.rows_of(members.numbers, np.unique(pairs))
    return Members(members.numbers[at], members.priority[at], members.weight[at],
                   [members.ids[i] for i in at.tolist()], members.signatures[at])


class ReadTexts(_DedupStep):
    """(unit key, {unit, requests}) -> (pair partition, Texts as a BlockRef) of the rows each asked for."""

    def __init__(self, work: str):
        super().__init__(work, TIMED)
        self._work = work

    def process(self, element, numbering: Numbering):
        key, joined = element
        if not joined["requests"]:
            return
        unit, requests, rows = _requested(joined)
        with self.timed():
            u = numbering.index[key]
            texts = read_rows(unit.folder, "docs.parquet", "text", rows)
            blocks = [(request.owner, Texts(numbering.starts[u] + request.rows,
                                            [texts[i] for i in parts.rows_of(rows, request.rows).tolist()]))
                      for request in requests]
            yield from write_blocks(_blocks_file(self._work, "texts", key), blocks)


class ExactCheck(_DedupStep):
    """(pair partition, {uncertain Edges, Texts}) -> Edges of the pairs whose shingle sets reach the threshold."""

    def __init__(self, config: Config, work: str):
        super().__init__(work, TIMED)
        self._config = config

    def process(self, element):
        p, joined = element
        mh = self._config.dedup.minhash
        with self.timed():
            uncertain = joined["pairs"][0]
            found = read_blocks(joined["texts"])
            numbers = np.concatenate([t.numbers for t in found])
            texts = [t for part in found for t in part.texts]
            order = np.argsort(numbers, kind="stable")
            held = parts.exact_check(uncertain.pairs, numbers[order], [texts[i] for i in order.tolist()],
                                     mh.ngram, mh.threshold)
            yield Edges(held, _members_of(held, uncertain.members))
            yield beam.pvalue.TaggedOutput("stats", PairCounts(verified_pairs=len(held)))


class Resolve(_DedupStep):
    """[Edges of every pair partition] -> (unit key, UnitOutcome) of stage 8's removals and survivors; tagged
    "hop": the removals by their hop range."""

    def __init__(self, work: str):
        super().__init__(work, TIMED)
        self._work = work

    def process(self, edges, numbering: Numbering):
        # edges: every pair partition's Edges, in any order (resolve's decisions do not depend on it).
        if numbering.done:
            return
        with self.timed():
            outcome = parts.resolve(list(edges))
            yield from _outcome_refs(_blocks_file(self._work, "resolved", "all"), outcome, numbering, near=True)


class Hop(beam.DoFn):
    """(survivor range, HopBlocks) -> (unit key, Renamed) of the exact duplicates whose survivor stage 8
    removed: they name the survivor it was removed for."""

    def process(self, element, numbering: Numbering):
        _, blocks = element
        docs, names = parts.hops(read_blocks(blocks))
        if not len(docs):
            return
        units = numbering.unit_of(docs)
        for u in np.unique(units).tolist():
            at = np.flatnonzero(units == u)
            yield numbering.keys[u], Renamed(docs[at] - numbering.starts[u], [names[i] for i in at.tolist()])


class DecideUnit(_DedupStep):
    """(unit key, {unit, exact outcome, stage 8 pieces, hops}) -> UnitResult; writes the unit's decision file: the
    rows removed and the survivors of clusters (none for a quiet unit)."""

    def __init__(self, config: Config, work: str):
        super().__init__(work, TIMED)
        self._config = config

    def process(self, element, numbering: Numbering):
        key, joined = element
        unit = _unit_to_decide(joined, numbering)
        if unit is None:
            return
        with self.timed() as took:
            exact = _exact_of(joined)
            near = parts.merge_unit_outcomes(read_blocks(joined["near"]))
            hops = list(joined["hop"])
            hop = (np.concatenate([h.rows for h in hops] or [np.zeros(0, np.int64)]),
                   [name for h in hops for name in h.names])
            keys = read_table(join(unit.folder, "keys.parquet"), ["n_bytes", "contaminated_by"])
            n_bytes = keys["n_bytes"].to_numpy()
            contaminated = (keys["contaminated_by"].to_pylist() if self._config.dedup.decontamination.paths
                            else None)
            decided = parts.decide_unit(unit.source, n_bytes, exact, near, hop, contaminated,
                                        lambda rows: read_rows(unit.folder, "docs.parquet", "id", rows))
            _write_decisions(join(self._work, STEP, f"{key}.parquet"), decided.rows)
            took.docs, took.bytes = unit.docs, int(n_bytes.sum())
        yield UnitResult(decided.counts, decided.largest)


def _write_decisions(path: str, rows: list[dict]) -> None:
    if not rows:
        if FileSystems.exists(path):
            FileSystems.delete([path])
        return
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=DECISIONS_SCHEMA), buffer, compression="zstd")
    write_bytes(path, buffer.getvalue())


def unit_decisions(dedup: DedupResult, unit: UnitSummary) -> dict[int, dict[str, Any]]:
    """Row -> decision for the rows stages 7-9 removed or marked as cluster survivors (a small file per unit)."""
    path = join(dedup.folder, f"{unit.key}.parquet")
    if not FileSystems.exists(path):
        return {}
    return {r["row"]: r for r in read_table(path).to_pylist()}
