"""SPEC stages 7-9 as global steps over key arrays: exact dedup, LSH candidates one band at a time, verification,
components and survivors, decontamination (issue 13: text moves through files, keys move through Beam).

The per-unit step writes, for every document that reaches stage 7, compact keys: the exact digest
(`exact.exact_key`), and for near dedup either the band hashes (`minhash.band_hashes`) and signature, or, for a
document with fewer than `ngram` words, its `minhash.short_key`. The caller concatenates the units' arrays under a
global index i (0..N-1; it maps i <-> (unit, row)) and calls these functions, which see numpy arrays only: Python
loops run over bucket sizes, hot buckets, their heads and uncertain pairs, never over documents.

Survivor order is `exact.survivor_order`: higher source priority first, then the smaller id. Ids are strings the
caller looks up for a subset of documents, through `ids_of(indices) -> ids` (any keys that sort as the ids do
will do, e.g. a precomputed rank). It is called at most once per function, only for documents whose priority ties
with another member of the same exact group, hot bucket or component, and only where the tie matters.

The flow, one call per step (N documents, `priority` an (N,) int array; decisions as global indices):

    exact = exact_duplicates(digests, priority, ids_of)                       # stage 7
    dup7 = duplicate_of_array(N, exact)
    size7 = cluster_sizes(dup7)
    # stage 8, on the documents exact dedup kept (an empty dedup key takes no part: it duplicates nothing)
    short = exact_duplicates(short_keys, priority, ids_of, members=short_docs)
    pairs, hot = np.empty((0, 2), np.int64), 0
    for band in range(banding.bands):                                           # one band of every unit
        found = band_candidates(long_docs, hashes_of_band, priority, ids_of, mh.hot_bucket_size)
        pairs, hot = unique_pairs(pairs, found.pairs), hot + found.hot_buckets
    members, rows = local_rows(pairs)          # the caller reads these documents' signatures, in this order
    sure, uncertain = verify(pairs, estimated_jaccards(rows, signatures), mh.threshold, mh.num_perm,
                             mh.exact_check_sigmas)
    members, rows = local_rows(uncertain)      # the caller reads these texts: minhash.shingle_set of each
    edges = np.concatenate([sure, uncertain[exact_jaccards(rows, shingle_sets) >= mh.threshold]])
    near = near_duplicates(edges, priority, ids_of)
    dup8 = duplicate_of_array(N, short, near)
    size8 = cluster_sizes(dup8, weights=size7)      # the cluster_size column: exact and near duplicates
    # stats: candidate_pairs len(pairs), exact_checked_pairs len(uncertain), verified_pairs len(edges), hot

    # stage 9 is checked per document where its text is: corpus.dedup.contamination.ContaminationIndex

Memory, besides the caller's inputs (each function's docstring says what it holds), measured by
bench/dedup_arrays.py on 1M documents: exact dedup 41 B/doc beside the 16 B/doc digests; one band 34 B/doc beside
its 16 B/doc of hashes and member indices, pairs included; merging a band's pairs into the others' about 40 B per
pair; components and survivors about 35 B per edge. The decisions are 8 B/doc (duplicate_of) and 8 B/doc (cluster
sizes). A boilerplate bucket of m pages adds ~8m pairs (16 B each) to every step that sees pairs.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from corpus.dedup.minhash import exact_jaccard, verification_bounds

IdsOf = Callable[[np.ndarray], Sequence[str]]

KEPT = -1          # duplicate_of_array's value for a document no step removed
HEADS = 8          # a member of a hot bucket is paired with this many of the bucket's best members
_CHUNK = 16384     # pairs per block in estimated_jaccards: two (block, num_perm) uint32 temporaries, 32 MB at 256

# Greedy survivor states (near_duplicates).
_UNSETTLED, _SURVIVES, _GOES = 0, 1, 2


class Removed(NamedTuple):
    """What one step removes: documents (global indices, ascending) and the index each one names."""

    docs: np.ndarray           # (R,) int64
    duplicate_of: np.ndarray   # (R,) int64: the survivor it duplicates


class Candidates(NamedTuple):
    """One band's candidate pairs, and its hot buckets (the `hot_buckets` stats of SPEC stage 8)."""

    pairs: np.ndarray          # (M, 2) int64, distinct rows (smaller index, larger index), bucket by bucket
    hot_buckets: int
    hot_bucket_members: int


def _keys(keys) -> np.ndarray:
    """One comparable element per document: a 1-D array as it is (uint64 hashes), each row of a 2-D one (a (N, 16)
    uint8 or (N, 2) uint64 digest) as one fixed-size byte string (numpy void: sorts and compares as bytes)."""
    keys = np.asarray(keys)
    if keys.ndim == 1:
        return keys
    if keys.ndim != 2:
        raise ValueError(f"keys must be 1-D or one row per document, got shape {keys.shape}")
    rows = np.ascontiguousarray(keys)
    return rows.view(np.dtype((np.void, rows.shape[1] * rows.itemsize))).ravel()


def _pairs(pairs, name: str) -> np.ndarray:
    """`pairs` as an (M, 2) integer array, without a copy when it is one (int32 row numbers stay int32)."""
    pairs = np.asarray(pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise ValueError(f"{name} must be an (M, 2) array of indices, got shape {pairs.shape}")
    if not np.issubdtype(pairs.dtype, np.integer):
        if pairs.size:
            raise ValueError(f"{name} must hold integer indices, got {pairs.dtype}")
        pairs = pairs.astype(np.int64)
    return pairs


def _same_length(**arrays) -> None:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"arrays of different lengths: {lengths}")


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of arange(s, s + n) for every (s, n), without a Python loop."""
    offsets = np.cumsum(lengths) - lengths
    return np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - offsets, lengths)


def _removed(docs: np.ndarray, named: np.ndarray) -> Removed:
    order = np.argsort(docs, kind="stable")
    return Removed(docs[order].astype(np.int64, copy=False), named[order].astype(np.int64, copy=False))


def survivor_sort(members, groups, priority, ids_of: IdsOf, top: int | None = None) -> np.ndarray:
    """Positions into `members` (global indices), ordered by `groups` (a label per member), then within a group in
    survivor order: higher priority, then smaller id. With `top`, only each group's first `top` positions are
    exact (the rest keep priority order), so ids are asked only where they decide those positions.

    Ids are fetched in one `ids_of` call, for members that share group and priority with another (whose run of
    equal priority starts within the first `top`). Holds about 40 B per member."""
    members = np.asarray(members, dtype=np.int64)
    groups = np.asarray(groups)
    _same_length(members=members, groups=groups)
    if not len(members):
        return np.zeros(0, dtype=np.int64)
    negated = -np.asarray(priority)[members].astype(np.int64)
    order = np.lexsort((negated, groups))
    group, neg = groups[order], negated[order]
    new_group = np.r_[True, group[1:] != group[:-1]]
    run_starts = np.flatnonzero(new_group | np.r_[True, neg[1:] != neg[:-1]])
    run_lengths = np.diff(np.r_[run_starts, len(order)])
    tied = run_lengths > 1
    if top is not None:
        group_begin = np.maximum.accumulate(np.where(new_group, np.arange(len(order)), 0))
        tied &= run_starts - group_begin[run_starts] < top
    if not tied.any():
        return order
    at = _ranges(run_starts[tied], run_lengths[tied])
    ids = ids_of(members[order[at]])
    if len(ids) != len(at):
        raise ValueError(f"ids_of returned {len(ids)} ids for {len(at)} indices")
    id_rank = np.zeros(len(order), dtype=np.int64)
    id_rank[at[sorted(range(len(ids)), key=ids.__getitem__)]] = np.arange(len(ids))
    return order[np.lexsort((id_rank, neg, group))]


def exact_duplicates(keys, priority, ids_of: IdsOf, members=None) -> Removed:
    """Documents with equal keys form a group; its first member in survivor order survives and every other member
    is removed naming it (SPEC stage 7). Also the short-document fallback of stage 8: the
    `short_key` of each document with fewer than `ngram` words, with `members` its global indices.

    keys: an (n, 16) uint8 or (n, 2) uint64 digest (or 1-D uint64) per member; members: (n,) global indices
    (default 0..n-1); priority: (N,) per global index. Ids are asked only for tied candidates to survive a group.
    Holds about 50 B per member (order, sorted keys, group labels), then 40 B per member of a duplicated group."""
    keys = _keys(keys)
    if members is not None:
        members = np.asarray(members, dtype=np.int64)
        _same_length(keys=keys, members=members)
    if not len(keys):
        return Removed(np.zeros(0, np.int64), np.zeros(0, np.int64))
    order = np.argsort(keys)
    sorted_keys = keys[order]
    group = np.cumsum(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]) - 1
    del sorted_keys
    duplicated = np.bincount(group)[group] > 1
    docs = order[duplicated] if members is None else members[order[duplicated]]
    group = group[duplicated]
    ranked = survivor_sort(docs, group, priority, ids_of, top=1)
    docs, group = docs[ranked], group[ranked]
    first = np.r_[True, group[1:] != group[:-1]][:len(group)]
    survivor = docs[first][np.cumsum(first) - 1]
    return _removed(docs[~first], survivor[~first])


def duplicate_of_array(n: int, *removed: Removed) -> np.ndarray:
    """(n,) int64: for each document the index it was removed for, KEPT (-1) if no step removed it. Steps must
    remove disjoint documents (exact dedup's short-key groups and near pairs never share one)."""
    out = np.full(n, KEPT, dtype=np.int64)
    for step in removed:
        if np.any(out[step.docs] != KEPT):
            raise ValueError("a document is removed by two steps")
        out[step.docs] = step.duplicate_of
    return out


def cluster_sizes(duplicate_of, weights=None) -> np.ndarray:
    """(n,) int64: a kept document's weight plus the weights of every document removed in its favour; 0 for a
    removed one. Weights default to 1 (exact dedup: the group size); for near dedup pass the exact cluster sizes,
    so a survivor counts itself and every exact and near duplicate it stands for (the `cluster_size` column)."""
    duplicate_of = np.asarray(duplicate_of, dtype=np.int64)
    weights = (np.ones(len(duplicate_of), dtype=np.int64) if weights is None
               else np.asarray(weights, dtype=np.int64))
    _same_length(duplicate_of=duplicate_of, weights=weights)
    removed = duplicate_of != KEPT
    sizes = np.where(removed, 0, weights)
    # bincount sums in float64: exact for any count below 2^53.
    absorbed = np.bincount(duplicate_of[removed], weights=weights[removed], minlength=len(duplicate_of))
    return sizes + absorbed.astype(np.int64)


def band_candidates(members, hashes, priority, ids_of: IdsOf, hot_bucket_size: int = 64,
                    heads: int = HEADS) -> Candidates:
    """Candidate pairs of one LSH band: members with equal band hashes form a bucket. A bucket of at most
    `hot_bucket_size` gives all its pairs; a larger (hot) one pairs every member with each of the bucket's `heads`
    best members in survivor order (`minhash.bucket_pairs`), so a bucket of a million boilerplate pages gives
    ~8M pairs, not 5e11.

    members: (n,) global indices; hashes: (n,) uint64 band hashes (`minhash.band_hashes`, this band's column).
    Ids are asked only for hot-bucket members tied for a head position. Holds the order and sorted hashes
    (16 B/member) and the buckets of two or more, then 16 B per pair (a hot bucket of m members: ~heads*m)."""
    members = np.asarray(members, dtype=np.int64)
    hashes = np.asarray(hashes)
    _same_length(members=members, hashes=hashes)
    order = np.argsort(hashes)
    sorted_hashes = hashes[order]
    starts = np.flatnonzero(np.r_[True, sorted_hashes[1:] != sorted_hashes[:-1]])
    del sorted_hashes
    sizes = np.diff(np.r_[starts, len(order)])
    shared = sizes > 1
    starts, sizes = starts[shared], sizes[shared]
    small = sizes <= hot_bucket_size
    pieces = [np.empty((0, 2), dtype=np.int64)]
    for size in np.unique(sizes[small]).tolist():
        # All buckets of one size at once: a (buckets, size) matrix of members and the size's upper triangle.
        docs = members[order[starts[small & (sizes == size)][:, None] + np.arange(size)]]
        first, second = np.triu_indices(size, k=1)
        pieces.append(np.stack([docs[:, first].ravel(), docs[:, second].ravel()], axis=1))
    hot_starts, hot_sizes = starts[~small], sizes[~small]
    if len(hot_sizes):
        docs = members[order[_ranges(hot_starts, hot_sizes)]]
        ranked = docs[survivor_sort(docs, np.repeat(np.arange(len(hot_sizes)), hot_sizes), priority, ids_of,
                                    top=heads)]
        ends = np.cumsum(hot_sizes)
        for begin, end in zip((ends - hot_sizes).tolist(), ends.tolist()):
            for head in range(begin, min(begin + heads, end)):
                pieces.append(np.stack([np.full(end - head - 1, ranked[head]), ranked[head + 1:end]], axis=1))
    pairs = np.concatenate(pieces)
    pairs.sort(axis=1)
    # Buckets are disjoint within a band, so these pairs are distinct; unique_pairs merges them across bands.
    return Candidates(pairs, len(hot_sizes), int(hot_sizes.sum()))


def unique_pairs(*pairs) -> np.ndarray:
    """The distinct rows of several (M, 2) pair arrays, ascending: accumulate bands with
    `pairs = unique_pairs(pairs, band_pairs)` so the duplicates of 32 bands are never held at once. Holds the
    inputs, their concatenation and a sort order: about 40 B per pair."""
    stacked = np.concatenate([_pairs(p, "pairs") for p in pairs]) if pairs else np.empty((0, 2), np.int64)
    if not len(stacked):
        return stacked
    stacked = stacked[np.lexsort((stacked[:, 1], stacked[:, 0]))]
    return stacked[np.r_[True, np.any(stacked[1:] != stacked[:-1], axis=1)]]


def local_rows(indices) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct global indices in `indices`, ascending; `indices` as row numbers into them, same shape). The
    caller reads those documents' signatures (or shingle sets) in that order and passes the rows on.

    A lookup table over the index range instead of a sort: 5 B per document (up to the largest index) and
    4 B per index (int32 rows while they fit)."""
    indices = np.asarray(indices)
    if not indices.size:
        return np.zeros(0, np.int64), np.zeros(indices.shape, np.int64)
    if indices.min() < 0:
        raise ValueError("indices must be non-negative global indices")
    present = np.zeros(int(indices.max()) + 1, dtype=bool)
    present[indices] = True
    members = np.flatnonzero(present)
    row_of = np.cumsum(present, dtype=np.int32 if len(members) <= np.iinfo(np.int32).max else np.int64)
    row_of -= 1
    return members, row_of[indices]


def estimated_jaccards(rows, signatures, other=None) -> np.ndarray:
    """(M,) float64: for each pair of row numbers (a, b), the fraction of equal slots of signatures[a] and
    other[b] (other defaults to signatures): `minhash.estimated_jaccard`, vectorised over pairs. Holds 8 B per
    pair and two blocks of _CHUNK signatures besides the signatures themselves (4*num_perm B per member: where the
    members of all pairs are too many to read at once, call it on slices of the pairs)."""
    rows = _pairs(rows, "rows")
    signatures = np.asarray(signatures)
    other = signatures if other is None else np.asarray(other)
    estimates = np.empty(len(rows), dtype=np.float64)
    for start in range(0, len(rows), _CHUNK):
        block = rows[start:start + _CHUNK]
        equal = np.count_nonzero(signatures[block[:, 0]] == other[block[:, 1]], axis=1)
        estimates[start:start + len(block)] = equal / signatures.shape[1]
    return estimates


def verify(pairs, estimates, threshold: float, num_perm: int, sigmas: float) -> tuple[np.ndarray, np.ndarray]:
    """(verified pairs, uncertain pairs) by `minhash.verification`: an estimate at least `sigmas` standard
    deviations above the threshold is a duplicate, one further below is not, and the pairs in between are returned
    for the exact check: the caller computes their shingle Jaccard from text (`exact_jaccards`) and keeps those at
    or above the threshold."""
    pairs = _pairs(pairs, "pairs")
    estimates = np.asarray(estimates, dtype=np.float64)
    _same_length(pairs=pairs, estimates=estimates)
    low, high = verification_bounds(threshold, num_perm, sigmas)
    return pairs[estimates >= high], pairs[(estimates >= low) & (estimates < high)]


def exact_jaccards(rows, shingle_sets: Sequence[np.ndarray], other: Sequence[np.ndarray] | None = None
                   ) -> np.ndarray:
    """(M,) float64: `minhash.exact_jaccard` of shingle_sets[a] and other[b] (default shingle_sets) for each
    pair of row numbers; one Python step per pair, for the few pairs `verify` leaves uncertain."""
    other = shingle_sets if other is None else other
    rows = _pairs(rows, "rows")
    return np.array([exact_jaccard(shingle_sets[a], other[b]) for a, b in rows.tolist()], dtype=np.float64)


def connected_components(edges, n: int) -> np.ndarray:
    """(n,) array (the edges' integer type): each node's component, labelled by its smallest node, for edges over
    nodes 0..n-1.

    Shiloach-Vishkin style hooking in numpy: every edge whose ends lie in different trees hooks the larger root
    under the smaller one, then every pointer jumps to its root; edges inside one tree drop out. Pointers only
    ever go to smaller nodes, so there are no cycles and each round joins trees until every edge sits in one.
    Holds one index per node and about four per edge, in the edges' integer type."""
    edges = _pairs(edges, "edges")
    parent = np.arange(n, dtype=edges.dtype)
    first, second = edges[:, 0], edges[:, 1]
    while len(first):
        root_first, root_second = parent[first], parent[second]
        apart = root_first != root_second
        if not apart.all():
            first, second = first[apart], second[apart]
            root_first, root_second = root_first[apart], root_second[apart]
        del apart
        np.minimum.at(parent, np.maximum(root_first, root_second), np.minimum(root_first, root_second))
        del root_first, root_second
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    return parent


def _greedy_survivors(better: np.ndarray, worse: np.ndarray, n: int) -> np.ndarray:
    """(n,) bool: who survives the greedy walk of `minhash.resolve_component` over edges oriented from the better
    end (earlier in survivor order) to the worse, computed in rounds instead of one node at a time.

    The walk keeps a node unless a better neighbour was kept, so a node is settled once its better neighbours
    are: it goes as soon as one of them survives, it survives once all of them are gone. Each round settles at
    least the best unsettled node of every component: a hot bucket (a star around its best member) takes two
    rounds, a chain of d documents in order about d/2. Edges that can no longer matter drop out as they settle."""
    state = np.zeros(n, dtype=np.int8)
    beaten = np.zeros(n, dtype=bool)                     # a better neighbour survives
    waiting = np.full(n, -1, dtype=np.int64)             # last round a better neighbour was still unsettled
    unsettled = np.arange(n, dtype=np.int64)
    round_number = 0
    while len(unsettled):
        better_state = state[better]
        beaten[worse[better_state == _SURVIVES]] = True
        waiting[worse[better_state == _UNSETTLED]] = round_number
        goes = beaten[unsettled]
        survives = ~goes & (waiting[unsettled] != round_number)
        state[unsettled[goes]] = _GOES
        state[unsettled[survives]] = _SURVIVES
        unsettled = unsettled[~(goes | survives)]
        live = (state[worse] == _UNSETTLED) & (state[better] != _GOES)
        better, worse = better[live], worse[live]
        round_number += 1
    return state == _SURVIVES


def near_duplicates(edges, priority, ids_of: IdsOf) -> Removed:
    """SPEC stage 8's decisions from verified pairs (global indices), by `minhash.resolve_component`'s rule over
    exact connected components: documents taken best first in survivor order, a document survives unless a
    verified neighbour already survived, else it is removed naming the best such neighbour. So no two survivors
    form a verified pair, every removed document names a survivor it was verified against, and a chain A~B~C
    where A and C differ keeps both A and C.

    Ids are asked for the documents that tie on priority with another in their component. Holds about 60 B per
    document in a pair and 25 B per edge (int32 row numbers), besides the edges."""
    edges = _pairs(edges, "edges")
    if np.any(edges[:, 0] == edges[:, 1]):
        raise ValueError("edges must join two different documents")
    nodes, local = local_rows(edges)
    if not len(nodes):
        return Removed(np.zeros(0, np.int64), np.zeros(0, np.int64))
    ranked = survivor_sort(nodes, connected_components(local, len(nodes)), priority, ids_of)
    rank = np.empty(len(nodes), dtype=np.int64)
    rank[ranked] = np.arange(len(nodes))
    # Components are sorted apart in `ranked`, so one walk over all of them equals a walk per component.
    swap = rank[local[:, 0]] > rank[local[:, 1]]
    better = np.where(swap, local[:, 1], local[:, 0])
    worse = np.where(swap, local[:, 0], local[:, 1])
    del swap, local
    survives = _greedy_survivors(better, worse, len(nodes))
    named = np.full(len(nodes), len(nodes), dtype=np.int64)
    to_survivor = survives[better] & ~survives[worse]
    np.minimum.at(named, worse[to_survivor], rank[better[to_survivor]])
    gone = np.flatnonzero(~survives)
    return _removed(nodes[gone], nodes[ranked[named[gone]]])
