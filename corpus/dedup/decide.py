"""Stages 7-9 decided in one process over the key arrays of every document: exact dedup, MinHash near dedup,
decontamination. The pipeline decides them in partitions (corpus.dedup.partitioned, wired by
pipelines/transforms/dedup.py); this is the reference those steps are tested against, and the shared pieces
(STAGES, banding_for, digest_partition).

Plain functions over numpy arrays and a `DedupKeys` reader the caller passes in: the reader numbers every document
0..n-1 and gives whole key columns (a column at a
time: digests ~40 bytes a document, one LSH band 8 bytes a document), and, for the few documents in a duplicate
group or a candidate pair, their ids, signatures and, for pairs near the threshold, their text. The decisions come
back as arrays over those numbers, with the funnel and dedup counts.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, Sequence

import numpy as np
import pyarrow as pa

from corpus.config import DedupConfig, MinHashConfig
from corpus.dedup import arrays
from corpus.dedup.arrays import Removed
from corpus.dedup.minhash import Banding, choose_banding, dedup_words, shingle_set
from corpus.intermediate import SHORT_KEY, SIGNATURE_KEY
from corpus.stages import STAGE_DECONTAMINATE, STAGE_EXACT_DEDUP, STAGE_NEAR_DEDUP
from corpus.stats import CountBook

LARGEST_CLUSTERS = 10   # survivors listed by name in stats.json `dedup.largest_clusters`
# The stages that remove documents here, in order, with the reason each gives (stage_of indexes this).
STAGES = ((STAGE_EXACT_DEDUP, "duplicate"), (STAGE_NEAR_DEDUP, "near_duplicate"),
          (STAGE_DECONTAMINATE, "contaminated"))


def banding_for(mh: MinHashConfig) -> Banding:
    if mh.bands is not None and mh.rows is not None:
        return Banding(mh.bands, mh.rows)
    return choose_banding(mh.num_perm, mh.threshold)


class DedupKeys(Protocol):
    """Every document reaching stage 7, numbered 0..n-1, and what the decisions read of them."""

    n: int
    source_names: list[str]
    source_of: np.ndarray       # (n,) index into source_names
    priority: np.ndarray        # (n,) the source's priority

    def column(self, name: str) -> pa.ChunkedArray:
        """One key column (`intermediate.keys_schema`) over every document."""

    def ids(self, numbers: np.ndarray) -> Sequence[str]:
        """The ids of these documents, in their order."""

    def signatures(self, numbers: np.ndarray) -> Sequence[bytes]:
        """The MinHash signatures (little-endian uint32 slots) of these documents, in their order."""

    def texts(self, numbers: np.ndarray) -> Sequence[str]:
        """The texts of these documents, in their order."""


class Decisions(NamedTuple):
    """What stages 7-9 decided, over document numbers."""

    alive: np.ndarray                # (n,) bool: kept by all three stages
    stage_of: np.ndarray             # (n,) int8: index into STAGES of the stage that removed it, -1 if none
    duplicate_of: dict[int, str]     # removed document -> the id it duplicates (or the evaluation document's)
    cluster: np.ndarray              # (n,) int64: a survivor's cluster size (itself and what it stands for)
    counts: list                     # CountBook records: the funnel of stages 7-9 and the dedup figures


def digest_partition(digests: np.ndarray, partitions: int) -> np.ndarray:
    """(k,) the partition in [0, partitions) of each (k, 16) uint8 digest: equal ranges of its first four bytes
    (big-endian), so every copy of a text lands in the same partition, and each partition is decided alone."""
    digests = np.ascontiguousarray(digests, dtype=np.uint8)
    head = digests[:, :4].copy().view(">u4").ravel().astype(np.uint64)
    return ((head * np.uint64(partitions)) >> np.uint64(32)).astype(np.int64)


def decide(keys: DedupKeys, config: DedupConfig, exact: Removed | None = None) -> Decisions:
    """Stages 7-9 over all documents in one process, in the order of corpus.dedup.arrays' flow: the reference the
    partitioned steps (corpus.dedup.partitioned) are tested against. `exact`: stage 7's removals, if decided
    elsewhere."""
    n = keys.n
    mh = config.minhash
    priority = keys.priority
    n_bytes = keys.column("n_bytes").to_numpy()
    counts = CountBook()
    stage_of = np.full(n, -1, dtype=np.int8)            # index into STAGES of the stage that removed a document

    def ids_of(numbers) -> list[str]:
        return keys.ids(np.asarray(numbers))

    def count_stage(stage: int, before: np.ndarray, removed: Removed) -> None:
        gone = np.zeros(n, dtype=bool)
        gone[removed.docs] = True
        stage_of[removed.docs] = stage
        name, reason = STAGES[stage]
        for s, source in enumerate(keys.source_names):
            mine = keys.source_of == s
            for kind, mask in (("in", before & mine), ("out", before & mine & ~gone), (reason, gone & mine)):
                if kind == reason and not mask.any():
                    continue
                counts.funnel(source, name, kind, int(n_bytes[mask].sum()), docs=int(mask.sum()))

    nothing = Removed(np.zeros(0, np.int64), np.zeros(0, np.int64))
    everyone = np.ones(n, dtype=bool)

    # Stage 7: identical normalized text across all sources.
    if not config.exact or not n:
        exact = nothing
    elif exact is None:
        # Straight from Arrow's buffer of fixed-size 16-byte values: no Python object per document.
        digests = np.frombuffer(keys.column("digest").combine_chunks().buffers()[1], dtype=np.uint8,
                                count=16 * n).reshape(n, 16)
        exact = arrays.exact_duplicates(digests, priority, ids_of)
        del digests
    count_stage(0, everyone, exact)
    dup7 = arrays.duplicate_of_array(n, exact)
    alive = dup7 == arrays.KEPT

    # Stage 8: MinHash LSH over what exact dedup kept; documents under one shingle on their whole key.
    short = near = nothing
    if mh.enabled and n:
        short, near = near_duplicates(keys, mh, alive, ids_of, counts)
    both = Removed(*(np.concatenate(parts) for parts in zip(short, near)))
    count_stage(1, alive, both)
    dup8 = arrays.duplicate_of_array(n, exact, short, near)
    alive = dup8 == arrays.KEPT
    sizes = arrays.cluster_sizes(dup8, weights=arrays.cluster_sizes(dup7))

    # Stage 9: every document was checked against the evaluation set where its text was (the prepare step).
    contaminated = nothing
    if config.decontamination.paths and n:
        matched = keys.column("contaminated_by")
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
        matched_ids = keys.column("contaminated_by").take(pa.array(contaminated.docs)).to_pylist()
        named.update(zip(contaminated.docs.tolist(), matched_ids))

    # Survivors of duplicate clusters, and the largest few by name.
    survivors = np.flatnonzero(alive & (sizes > 1))
    for size, many in zip(*np.unique(sizes[survivors], return_counts=True)):
        counts.set(("dedup", "output", "cluster_size", str(int(size))), int(many))
    if len(survivors):
        cut = np.sort(sizes[survivors])[::-1][min(len(survivors), LARGEST_CLUSTERS) - 1]
        contenders = survivors[sizes[survivors] >= cut]
        top = sorted((-int(sizes[d]), doc_id, keys.source_names[keys.source_of[d]])
                     for d, doc_id in zip(contenders.tolist(), ids_of(contenders)))
        for size, doc_id, source in top[:LARGEST_CLUSTERS]:
            counts.set(("dedup", "largest", doc_id, source), -size)

    return Decisions(alive, stage_of, named, sizes, counts.records())


class Candidates(NamedTuple):
    pairs: np.ndarray          # (k, 2) document numbers sharing at least one LSH band
    hot_buckets: int           # buckets larger than `hot_bucket_size`, chained instead of paired
    hot_members: int


class Verified(NamedTuple):
    edges: np.ndarray          # (k, 2) pairs at or above the threshold
    exact_checked: int         # pairs whose estimate was too close to call, checked on their shingle sets


def near_duplicates(keys: DedupKeys, mh: MinHashConfig, alive: np.ndarray, ids_of, counts: CountBook
                    ) -> tuple[Removed, Removed]:
    """Stage 8 over the documents exact dedup kept: (short documents removed on their whole key, near duplicates
    removed), in SPEC §2's steps: candidates, verify, then components and their survivors (resolve)."""
    kind = keys.column("key_kind").to_numpy()
    short = short_duplicates(keys, np.flatnonzero(alive & (kind == SHORT_KEY)), ids_of)
    found = candidates(keys, mh, np.flatnonzero(alive & (kind == SIGNATURE_KEY)), ids_of)
    verified = verify(keys, mh, found.pairs)
    near = arrays.near_duplicates(verified.edges, keys.priority, ids_of)      # components, then resolve
    for name, value in (("candidate_pairs", (len(found.pairs), 0)),
                        ("exact_checked_pairs", (verified.exact_checked, 0)),
                        ("verified_pairs", (len(verified.edges), 0)),
                        ("hot_buckets", (found.hot_buckets, found.hot_members))):
        counts.set(("dedup", "near", name, ""), *value)
    return short, near


def short_duplicates(keys: DedupKeys, short_docs: np.ndarray, ids_of) -> Removed:
    """Documents under one shingle: exact dedup on their whole dedup key (SPEC stage 8's fallback)."""
    if not len(short_docs):
        return Removed(np.zeros(0, np.int64), np.zeros(0, np.int64))
    short_keys = keys.column("short_key").take(pa.array(short_docs)).to_pylist()
    return arrays.exact_duplicates(np.frombuffer(b"".join(short_keys), dtype=np.uint8).reshape(-1, 16),
                                   keys.priority, ids_of, members=short_docs)


def candidates(keys: DedupKeys, mh: MinHashConfig, long_docs: np.ndarray, ids_of) -> Candidates:
    """LSH: pairs of documents that share a band, one band column at a time (8 bytes a document)."""
    pairs, hot, hot_members = np.empty((0, 2), np.int64), 0, 0
    for band in range(banding_for(mh).bands):
        hashes = keys.column(f"band_{band}").take(pa.array(long_docs)).to_numpy()
        found = arrays.band_candidates(long_docs, hashes, keys.priority, ids_of, mh.hot_bucket_size)
        pairs = arrays.unique_pairs(pairs, found.pairs)
        hot, hot_members = hot + found.hot_buckets, hot_members + found.hot_bucket_members
    return Candidates(pairs, hot, hot_members)


def verify(keys: DedupKeys, mh: MinHashConfig, pairs: np.ndarray) -> Verified:
    """Every candidate pair on the Jaccard estimated from the full signatures (of candidates only); the pairs
    within `exact_check_sigmas` of the threshold on their exact shingle sets (their text read back)."""
    members, rows = arrays.local_rows(pairs)
    signatures = keys.signatures(members)
    matrix = (np.stack([np.frombuffer(signature, dtype="<u4") for signature in signatures])
              if len(members) else np.zeros((0, mh.num_perm), dtype=np.uint32))
    sure, uncertain = arrays.verify(pairs, arrays.estimated_jaccards(rows, matrix), mh.threshold, mh.num_perm,
                                    mh.exact_check_sigmas)
    del matrix, signatures
    members, rows = arrays.local_rows(uncertain)
    sets = [shingle_set(dedup_words(text), mh.ngram) for text in keys.texts(members)]
    edges = np.concatenate([sure, uncertain[arrays.exact_jaccards(rows, sets) >= mh.threshold]])
    return Verified(edges, len(uncertain))


def unit_rows(decisions: Decisions, start: int, end: int) -> list[dict]:
    """The decision rows of the documents numbered [start, end) (one unit): those removed and the survivors of a
    cluster, each by its row in the unit (`intermediate.DECISIONS_SCHEMA`); none for a quiet unit."""
    marked = np.flatnonzero(~decisions.alive[start:end] | (decisions.cluster[start:end] > 1)) + start
    rows = []
    for doc in marked.tolist():
        stage = decisions.stage_of[doc]
        rows.append({"row": doc - start,
                     "stage": STAGES[stage][0] if stage >= 0 else None,
                     "reason": STAGES[stage][1] if stage >= 0 else None,
                     "duplicate_of": decisions.duplicate_of.get(doc), "cluster_size": int(decisions.cluster[doc])})
    return rows
