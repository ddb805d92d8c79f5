"""Stages 7-9 cut into pieces that each see a bounded part of the corpus, so that they run on many workers.

The same decisions as `corpus.dedup.decide.decide` (tests compare the two), reached through these steps, each a
plain function over the records of one partition. Documents carry their global number (units in key order, rows in
order); a unit sends each partition the records of its own documents that fall there.

  group_duplicates  per digest range (stage 7) and per short-key range (stage 8's short documents): every group
                    of equal keys lies whole in one range, so its survivor is the corpus's
  band_pairs        per (band, hash range): the candidate pairs of one LSH band's buckets (a bucket lies whole in
                    one range); pairs go on to a partition by a hash of the pair
  estimate_pairs    per pair partition, with the signatures of its pairs' members read in their units: the pairs
                    sure to pass, and those too close to call
  exact_check       per pair partition, with the texts of the uncertain pairs' members read in their units
  resolve           one step over the verified pairs only: components and their survivors
  unit_decisions    per unit: its documents' decisions, the names they give and its counts

Memory of each is bounded by its partition (`dedup.partition_docs` documents), a unit, or for `resolve` the
verified pairs (bench/dedup_partitioned.py measures the bytes per pair).
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from corpus.dedup import arrays
from corpus.dedup.decide import LARGEST_CLUSTERS, STAGES
from corpus.dedup.minhash import dedup_words, shingle_set
from corpus.stats import CountBook

IdsOf = Callable[[np.ndarray], Sequence[str]]


class KeyBlock(NamedTuple):
    """Documents of one unit that fall in one partition, with the key that partition groups them on."""

    numbers: np.ndarray         # (k,) int64 global numbers, ascending
    keys: np.ndarray            # (k, 16) uint8 digests or short keys
    priority: np.ndarray        # (k,) int64: the source's priority
    weight: np.ndarray          # (k,) int64: documents each stands for (its exact group; 1 in stage 7)
    ids: list[str]


class BandBlock(NamedTuple):
    """Documents of one unit whose hash of one LSH band falls in one range (16 bytes a document: their priority
    follows from their number's unit)."""

    numbers: np.ndarray         # (k,) int64 global numbers, ascending
    hashes: np.ndarray          # (k,) uint64


def merge_band_blocks(blocks: Sequence[BandBlock]) -> BandBlock:
    numbers = np.concatenate([b.numbers for b in blocks])
    order = np.argsort(numbers, kind="stable")
    return BandBlock(numbers[order], np.concatenate([b.hashes for b in blocks])[order])


class Outcome(NamedTuple):
    """What one step decided, over global numbers: documents removed, each naming a survivor; and survivors that
    absorbed others, with their cluster size (their weight and the weights of those removed for them)."""

    removed: np.ndarray         # (r,) int64 ascending
    target: np.ndarray          # (r,) int64: the survivor each one names
    target_ids: list[str]       # (r,) that survivor's id
    survivors: np.ndarray       # (s,) int64 ascending
    sizes: np.ndarray           # (s,) int64


class Members(NamedTuple):
    """The documents of some pairs (read in their units), ascending, with what verification and resolve need."""

    numbers: np.ndarray         # (m,) int64 ascending
    priority: np.ndarray        # (m,) int64
    weight: np.ndarray          # (m,) int64 exact cluster sizes
    ids: list[str]
    signatures: np.ndarray      # (m, num_perm) uint32; (m, 0) once verification is done


class Edges(NamedTuple):
    """Verified pairs of one pair partition, and their members (signatures dropped)."""

    pairs: np.ndarray           # (k, 2) int64 global numbers, (smaller, larger)
    members: Members


class PairCounts(NamedTuple):
    """The stats of stage 8 a partition adds to (stats.json `dedup.near`)."""

    candidate_pairs: int = 0
    exact_checked_pairs: int = 0
    verified_pairs: int = 0
    hot_buckets: int = 0
    hot_bucket_members: int = 0


def hash_partition(hashes: np.ndarray, partitions: int) -> np.ndarray:
    """(k,) int64 partition in [0, partitions) of uint64 hashes: equal ranges of their top 32 bits."""
    top = np.asarray(hashes, dtype=np.uint64) >> np.uint64(32)
    return ((top * np.uint64(partitions)) >> np.uint64(32)).astype(np.int64)


def pair_partition(pairs: np.ndarray, partitions: int) -> np.ndarray:
    """(k,) int64 partition in [0, partitions) of (k, 2) pairs of document numbers, by a hash of the pair (the
    splitmix64 finalizer). By their first document's range instead, the low ranges drew most pairs (the smaller of
    two random numbers) and the members of a range's pairs were twice the average: the 20M bench's Estimate held
    the largest share of a worker's peak."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2).astype(np.uint64)
    with np.errstate(over="ignore"):
        z = pairs[:, 0] * np.uint64(0x9E3779B97F4A7C15) ^ pairs[:, 1]
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return hash_partition(z, partitions)


def number_partition(numbers: np.ndarray, n: int, partitions: int) -> np.ndarray:
    """(k,) int64 partition in [0, partitions) of global document numbers in [0, n): equal ranges."""
    return np.asarray(numbers, dtype=np.int64) * partitions // max(n, 1)


def rows_of(numbers: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Positions of `wanted` document numbers in ascending `numbers`. A number that is not there is an error, never
    a neighbour's row: a pair must be decided on its own members."""
    at = np.searchsorted(numbers, wanted)
    found = at < len(numbers)
    found[found] = numbers[at[found]] == np.asarray(wanted)[found]
    if not found.all():
        missing = np.asarray(wanted)[~found]
        raise ValueError(f"{missing.size} document(s) of these pairs were not read, e.g. {missing.ravel()[:5].tolist()}")
    return at


def merge_blocks(blocks: Sequence[KeyBlock]) -> KeyBlock:
    """The blocks of one partition as one, by global number (the order units sent them in does not matter)."""
    numbers = np.concatenate([b.numbers for b in blocks])
    order = np.argsort(numbers, kind="stable")
    ids = [i for b in blocks for i in b.ids]
    return KeyBlock(numbers[order], np.concatenate([b.keys for b in blocks])[order],
                    np.concatenate([b.priority for b in blocks])[order],
                    np.concatenate([b.weight for b in blocks])[order], [ids[i] for i in order.tolist()])


def _absorbed(removed_local: arrays.Removed, weight: np.ndarray, numbers: np.ndarray, ids: Sequence[str]
              ) -> Outcome:
    """An Outcome over global numbers from removals over local rows 0..k-1 of `numbers`."""
    target = removed_local.duplicate_of
    survivors, into = np.unique(target, return_inverse=True)
    gained = np.bincount(into, weights=weight[removed_local.docs], minlength=len(survivors)).astype(np.int64)
    return Outcome(numbers[removed_local.docs], numbers[target], [ids[i] for i in target.tolist()],
                   numbers[survivors], weight[survivors] + gained)


def group_duplicates(block: KeyBlock) -> Outcome:
    """Exact dedup of one partition of digests (or short keys): a group's first member in survivor order (higher
    priority, then smaller id) survives, every other names it (`arrays.exact_duplicates`)."""
    ids = block.ids
    removed = arrays.exact_duplicates(block.keys, block.priority, lambda at: [ids[i] for i in at.tolist()])
    return _absorbed(removed, block.weight, block.numbers, ids)


def band_pairs(block: BandBlock, priority: np.ndarray, ids_of: IdsOf, hot_bucket_size: int
               ) -> tuple[np.ndarray, PairCounts]:
    """Candidate pairs (global numbers, (smaller, larger)) of one band's buckets in one hash range, and its hot
    buckets. `priority` per document of the block; `ids_of(global numbers)` is asked only for hot-bucket members
    tied on priority for a head place."""
    found = arrays.band_candidates(np.arange(len(block.numbers)), block.hashes, priority,
                                   lambda at: ids_of(block.numbers[at]), hot_bucket_size)
    # Local rows ascend with global numbers, so each pair stays (smaller, larger).
    return block.numbers[found.pairs], PairCounts(hot_buckets=found.hot_buckets,
                                                  hot_bucket_members=found.hot_bucket_members)


def estimate_pairs(pairs: np.ndarray, members: Members, threshold: float, num_perm: int, sigmas: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(sure pairs, uncertain pairs) of distinct candidate pairs on the Jaccard their signatures estimate
    (`arrays.verify`)."""
    rows = rows_of(members.numbers, pairs)
    estimates = arrays.estimated_jaccards(rows, members.signatures)
    return arrays.verify(pairs, estimates, threshold, num_perm, sigmas)


def exact_check(pairs: np.ndarray, numbers: np.ndarray, texts: Sequence[str], ngram: int, threshold: float
                ) -> np.ndarray:
    """The uncertain pairs whose shingle sets (of the members' `texts`, ascending `numbers`) reach the threshold."""
    sets = [shingle_set(dedup_words(text), ngram) for text in texts]
    rows = rows_of(numbers, pairs)
    return pairs[arrays.exact_jaccards(rows, sets) >= threshold]


def merge_members(parts: Sequence[Members]) -> Members:
    """Members of several parts as one table, each document once, ascending."""
    numbers = np.concatenate([p.numbers for p in parts] or [np.zeros(0, np.int64)])
    numbers, first = np.unique(numbers, return_index=True)
    ids = [i for p in parts for i in p.ids]

    def take(name: str, dtype) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts] or [np.zeros(0, dtype)])[first]

    # Each part's chosen rows are copied once into the result: concatenating first would hold the signatures
    # three times at the peak (parts, their concatenation, the chosen rows).
    width = max((p.signatures.shape[1] for p in parts), default=0)
    signatures = np.zeros((len(numbers), width), np.uint32)
    if width:
        starts = np.cumsum([0] + [len(p.numbers) for p in parts])
        part_of = np.searchsorted(starts, first, side="right") - 1
        for i, part in enumerate(parts):
            at = np.flatnonzero(part_of == i)
            signatures[at] = part.signatures[first[at] - starts[i]]
    return Members(numbers, take("priority", np.int64), take("weight", np.int64),
                   [ids[i] for i in first.tolist()], signatures)


def resolve(edges: Sequence[Edges]) -> Outcome:
    """Stage 8's survivors over every verified pair (`arrays.near_duplicates`: exact components, best first in
    survivor order, a document goes when a verified neighbour survived). Holds the pairs and their members only:
    about 100 B per pair plus 100 B and an id per member."""
    pairs = np.concatenate([e.pairs for e in edges] or [np.zeros((0, 2), np.int64)])
    members = merge_members([e.members for e in edges])
    local = rows_of(members.numbers, pairs)
    removed = arrays.near_duplicates(local, members.priority, lambda at: [members.ids[i] for i in at.tolist()])
    return _absorbed(removed, members.weight, members.numbers, members.ids)


class UnitOutcome(NamedTuple):
    """An Outcome's part that concerns one unit, over its rows."""

    removed: np.ndarray         # rows
    target: np.ndarray          # global numbers
    target_ids: list[str]
    survivors: np.ndarray       # rows
    sizes: np.ndarray


NOTHING = UnitOutcome(np.zeros(0, np.int64), np.zeros(0, np.int64), [], np.zeros(0, np.int64),
                      np.zeros(0, np.int64))


def split_by_unit(outcome: Outcome, starts: np.ndarray) -> list[tuple[int, UnitOutcome]]:
    """(unit index, its part) for each unit an Outcome touches; `starts` (units + 1,) their first numbers."""
    removed_unit = np.searchsorted(starts, outcome.removed, side="right") - 1
    survivor_unit = np.searchsorted(starts, outcome.survivors, side="right") - 1
    parts = []
    for u in np.union1d(removed_unit, survivor_unit).tolist():
        r, s = np.flatnonzero(removed_unit == u), np.flatnonzero(survivor_unit == u)
        parts.append((u, UnitOutcome(outcome.removed[r] - starts[u], outcome.target[r],
                                     [outcome.target_ids[i] for i in r.tolist()],
                                     outcome.survivors[s] - starts[u], outcome.sizes[s])))
    return parts


def merge_unit_outcomes(parts: Sequence[UnitOutcome]) -> UnitOutcome:
    """The parts several partitions decided of one unit, as one (rows ascending; partitions never overlap)."""
    if not parts:
        return NOTHING
    removed = np.concatenate([p.removed for p in parts])
    survivors = np.concatenate([p.survivors for p in parts])
    r, s = np.argsort(removed, kind="stable"), np.argsort(survivors, kind="stable")
    target_ids = [i for p in parts for i in p.target_ids]
    return UnitOutcome(removed[r], np.concatenate([p.target for p in parts])[r],
                       [target_ids[i] for i in r.tolist()], survivors[s],
                       np.concatenate([p.sizes for p in parts])[s])


class HopBlock(NamedTuple):
    """For the hop join (per range of survivor numbers): exact removals naming a survivor there, or stage 8
    removals of documents there."""

    docs: np.ndarray            # (k,) int64 global numbers of the removed documents
    target: np.ndarray          # (k,) int64 the survivor each names
    target_ids: list[str]       # stage 8 blocks only: the name a removal of a document there passes on
    near: bool


def hops(blocks: Sequence[HopBlock]) -> tuple[np.ndarray, list[str]]:
    """(exact removals, new names): an exact duplicate names its group's survivor, or, where stage 8 removed that
    survivor, the survivor that one names."""
    near = [b for b in blocks if b.near]
    exact = [b for b in blocks if not b.near]
    if not near or not exact:
        return np.zeros(0, np.int64), []
    gone = np.concatenate([b.docs for b in near])
    names = [i for b in near for i in b.target_ids]
    order = np.argsort(gone)
    gone = gone[order]
    docs = np.concatenate([b.docs for b in exact])
    target = np.concatenate([b.target for b in exact])
    at = np.minimum(np.searchsorted(gone, target), max(len(gone) - 1, 0))
    hit = gone[at] == target
    docs, at = docs[hit], at[hit]
    sort = np.argsort(docs)
    return docs[sort], [names[order[i]] for i in at[sort].tolist()]


class UnitDecisions(NamedTuple):
    """One unit's decisions: the rows of its decision file, its counts, and its largest clusters."""

    rows: list[dict]            # intermediate.DECISIONS_SCHEMA: removed rows and cluster survivors, ascending
    counts: list                # CountBook records: the funnel of stages 7-9 and the cluster sizes
    largest: list[tuple[int, str, str]]    # (-size, id, source) of its biggest clusters, at most LARGEST


def decide_unit(source: str, n_bytes: np.ndarray, exact: UnitOutcome, near: UnitOutcome,
                hop: tuple[np.ndarray, list[str]], contaminated_by: Sequence[str | None] | None,
                ids_of_rows: Callable[[np.ndarray], Sequence[str]]) -> UnitDecisions:
    """Stages 7-9 for one unit's documents from what the partitions decided of them: `exact` (stage 7), `near`
    (stage 8: short keys and verified pairs), `hop` (exact removals, as rows, whose survivor stage 8 removed, and
    the name they pass on), `contaminated_by` per row (None: decontamination is off)."""
    n = len(n_bytes)
    stage_of = np.full(n, -1, dtype=np.int8)
    names: dict[int, str | None] = {}
    cluster = np.ones(n, dtype=np.int64)
    cluster[exact.survivors] = exact.sizes
    stage_of[exact.removed] = 0
    names.update(zip(exact.removed.tolist(), exact.target_ids))
    names.update(zip(hop[0].tolist(), hop[1]))
    stage_of[near.removed] = 1
    names.update(zip(near.removed.tolist(), near.target_ids))
    cluster[near.survivors] = near.sizes
    cluster[stage_of >= 0] = 0
    if contaminated_by is not None:
        matched = np.array([c is not None for c in contaminated_by], dtype=bool) & (stage_of < 0)
        stage_of[matched] = 2
        names.update((row, contaminated_by[row]) for row in np.flatnonzero(matched).tolist())

    counts = CountBook()
    before = np.ones(n, dtype=bool)
    for stage, (name, reason) in enumerate(STAGES):
        gone = stage_of == stage
        for kind, mask in (("in", before), ("out", before & ~gone), (reason, gone)):
            if kind != reason or mask.any():
                counts.funnel(source, name, kind, int(n_bytes[mask].sum()), docs=int(mask.sum()))
        before = before & ~gone

    survivors = np.flatnonzero((stage_of < 0) & (cluster > 1))
    for size, many in zip(*np.unique(cluster[survivors], return_counts=True)):
        counts.add(("dedup", "output", "cluster_size", str(int(size))), int(many))
    largest: list[tuple[int, str, str]] = []
    if len(survivors):
        cut = np.sort(cluster[survivors])[::-1][min(len(survivors), LARGEST_CLUSTERS) - 1]
        contenders = survivors[cluster[survivors] >= cut]
        largest = sorted((-int(cluster[r]), doc_id, source)
                         for r, doc_id in zip(contenders.tolist(), ids_of_rows(contenders)))[:LARGEST_CLUSTERS]

    rows = []
    for row in np.flatnonzero((stage_of >= 0) | (cluster > 1)).tolist():
        stage = int(stage_of[row])
        rows.append({"row": row, "stage": STAGES[stage][0] if stage >= 0 else None,
                     "reason": STAGES[stage][1] if stage >= 0 else None,
                     "duplicate_of": names.get(row), "cluster_size": int(cluster[row])})
    return UnitDecisions(rows, counts.records(), largest)
