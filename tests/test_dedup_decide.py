"""Stages 7-9 decided by corpus.dedup.decide over an in-memory reader: no pipeline, no files. Documents are written
out by hand (digests, band hashes, signatures), so every expected decision can be read off the table below."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from corpus.config import DecontaminationConfig, DedupConfig, MinHashConfig
from corpus.dedup import arrays
from corpus.dedup.decide import decide, digest_partition, unit_rows
from corpus.dedup.partitioned import KeyBlock, group_duplicates
from corpus.intermediate import NO_KEY, SHORT_KEY, SIGNATURE_KEY, keys_schema

NUM_PERM, BANDS, ROWS = 8, 4, 2
MINHASH = MinHashConfig(ngram=3, threshold=0.8, num_perm=NUM_PERM, bands=BANDS, rows=ROWS, exact_check_sigmas=0)


def signature(*slots: int) -> bytes:
    return np.array(slots, dtype="<u4").tobytes()


class Keys:
    """DedupKeys over a list of documents given as dicts: id, source, priority, and their key columns."""

    def __init__(self, docs: list[dict]):
        self.docs = docs
        self.n = len(docs)
        self.source_names = sorted({d["source"] for d in docs})
        self.source_of = np.array([self.source_names.index(d["source"]) for d in docs], dtype=np.int16)
        self.priority = np.array([d["priority"] for d in docs], dtype=np.int64)
        self.schema = keys_schema(NUM_PERM, BANDS)
        self.asked_texts: list[int] = []

    def column(self, name: str) -> pa.ChunkedArray:
        return pa.chunked_array([pa.array([d.get(name) for d in self.docs], type=self.schema.field(name).type)])

    def ids(self, numbers):
        return [self.docs[int(i)]["id"] for i in numbers]

    def signatures(self, numbers):
        return [self.docs[int(i)]["signature"] for i in numbers]

    def texts(self, numbers):
        self.asked_texts += [int(i) for i in numbers]
        return [self.docs[int(i)]["text"] for i in numbers]


def doc(doc_id: str, source: str, priority: int, digest: bytes, bands=None, sig=None, **extra) -> dict:
    row = {"id": doc_id, "source": source, "priority": priority, "digest": digest.ljust(16, b"\0"), "n_bytes": 100,
           "key_kind": SIGNATURE_KEY if bands else NO_KEY, "signature": sig, "text": ""}
    row.update({f"band_{b}": h for b, h in enumerate(bands or [])}, **extra)
    return row


# Slots shared by the near-duplicate family below: equal everywhere but the last slot (estimate 7/8 >= 0.8).
FAMILY = (11, 12, 13, 14, 15, 16, 17)
DOCS = [
    doc("web/1", "web", 2, b"same", [1, 2, 3, 4], signature(*FAMILY, 1)),       # 0 survives its exact group
    doc("books/1", "books", 1, b"same", [1, 2, 3, 4], signature(*FAMILY, 1)),   # 1 exact duplicate of 0
    doc("web/3", "web", 2, b"near", [1, 9, 9, 9], signature(*FAMILY, 2)),       # 2 near duplicate of 0 (band 0)
    doc("web/2", "web", 2, b"tie", [5, 6, 7, 8], signature(1, 2, 3, 4, 5, 6, 7, 8)),  # 3 same text as 4 and the
    doc("web/10", "web", 2, b"tie", [5, 6, 7, 8], signature(1, 2, 3, 4, 5, 6, 7, 8)),  # same priority
    doc("web/4", "web", 2, b"alone", [21, 22, 23, 24], signature(*range(30, 38))),     # 5 nobody's duplicate
    doc("web/5", "web", 2, b"short-a", key_kind=SHORT_KEY, short_key=b"k".ljust(16, b"\0")),  # 6, 7: short texts
    doc("web/6", "web", 2, b"short-b", key_kind=SHORT_KEY, short_key=b"k".ljust(16, b"\0")),  # with one key
    doc("web/7", "web", 2, b"dirty", [41, 42, 43, 44], signature(*range(50, 58)),
        contaminated_by="eval/17"),                                                     # 8 in the test set
]


def test_exact_near_short_and_contaminated_decisions_with_the_names_they_give():
    decided = decide(Keys(DOCS), DedupConfig(minhash=MINHASH,
                                             decontamination=DecontaminationConfig(paths=("eval.jsonl",))))
    assert decided.alive.tolist() == [True, False, False, False, True, True, True, False, False]
    # Stage of each removal: 0 exact, 1 near, 2 decontamination; -1 kept.
    assert decided.stage_of.tolist() == [-1, 0, 1, 0, -1, -1, -1, 1, 2]
    # Same priority: the smaller id survives ("web/10" sorts before "web/2").
    assert decided.duplicate_of == {1: "web/1", 2: "web/1", 3: "web/10", 7: "web/5", 8: "eval/17"}
    # web/1 stands for itself, its exact copy and its near copy; web/10 for web/2; web/5 for web/6. Cluster sizes
    # are those of stages 7-8: the contaminated web/7 stood for itself.
    assert decided.cluster.tolist() == [3, 0, 0, 0, 2, 1, 2, 0, 1]


def test_an_exact_duplicate_of_a_near_removed_document_names_the_near_survivor():
    docs = [doc("a", "web", 1, b"x", [1, 2, 3, 4], signature(*FAMILY, 1)),            # 0 near duplicate of 2
            doc("b", "web", 1, b"x", [1, 2, 3, 4], signature(*FAMILY, 1)),            # 1 exact duplicate of 0
            doc("c", "wiki", 3, b"y", [1, 7, 7, 7], signature(*FAMILY, 9))]           # 2 survives (priority 3)
    decided = decide(Keys(docs), DedupConfig(minhash=MINHASH))
    assert decided.stage_of.tolist() == [1, 0, -1]
    assert decided.duplicate_of == {0: "c", 1: "c"}          # b hops over a, which went for c
    assert decided.cluster.tolist() == [0, 0, 3]


def test_counts_give_each_stage_in_out_and_removed_per_source():
    decided = decide(Keys(DOCS), DedupConfig(minhash=MINHASH,
                                             decontamination=DecontaminationConfig(paths=("eval.jsonl",))))
    counts = {tuple(k): tuple(v) for k, v in decided.counts}
    assert counts[("funnel", "web", "exact_dedup", "in")] == (8, 800)
    assert counts[("funnel", "web", "exact_dedup", "duplicate")] == (1, 100)          # web/2
    assert counts[("funnel", "books", "exact_dedup", "duplicate")] == (1, 100)
    assert counts[("funnel", "web", "near_dedup", "in")] == (7, 700)
    assert counts[("funnel", "web", "near_dedup", "near_duplicate")] == (2, 200)      # web/3 and web/6
    assert counts[("funnel", "web", "decontaminate", "contaminated")] == (1, 100)
    assert counts[("funnel", "web", "decontaminate", "out")] == (4, 400)
    assert counts[("dedup", "near", "verified_pairs", "")] == (1, 0)                 # web/1 ~ web/3


def test_near_pairs_close_to_the_threshold_are_checked_on_their_text():
    texts = ["one two three four five six", "one two three four five seven"]   # shingles of 3: 3 of 5 shared
    docs = [doc("a", "web", 1, b"p", [1, 2, 3, 4], signature(*FAMILY, 1), text=texts[0]),
            doc("b", "web", 1, b"q", [1, 5, 6, 7], signature(*FAMILY, 2), text=texts[1])]
    keys = Keys(docs)
    near = MinHashConfig(ngram=3, threshold=0.8, num_perm=NUM_PERM, bands=BANDS, rows=ROWS, exact_check_sigmas=3)
    decided = decide(keys, DedupConfig(minhash=near))
    assert sorted(keys.asked_texts) == [0, 1]           # 7/8 is within 3 sigmas of 0.8 with 8 slots
    assert decided.alive.tolist() == [True, True]      # their exact Jaccard is 3/5 < 0.8


def test_unit_rows_are_the_removed_and_the_cluster_survivors_of_one_unit():
    decided = decide(Keys(DOCS), DedupConfig(minhash=MINHASH))
    assert unit_rows(decided, 0, 3) == [
        {"row": 0, "stage": None, "reason": None, "duplicate_of": None, "cluster_size": 3},
        {"row": 1, "stage": "exact_dedup", "reason": "duplicate", "duplicate_of": "web/1", "cluster_size": 0},
        {"row": 2, "stage": "near_dedup", "reason": "near_duplicate", "duplicate_of": "web/1", "cluster_size": 0}]
    assert unit_rows(decided, 5, 6) == []


def test_digest_partitions_are_ranges_of_the_first_four_bytes():
    digests = np.zeros((4, 16), dtype=np.uint8)
    digests[1, 0] = 0x40            # a quarter of the way
    digests[2, 0] = 0x7F            # just under half
    digests[3, :4] = 0xFF           # the very end
    assert digest_partition(digests, 4).tolist() == [0, 1, 1, 3]
    assert digest_partition(digests, 1).tolist() == [0, 0, 0, 0]


def test_exact_dedup_per_partition_decides_as_over_the_whole_corpus():
    rng = np.random.default_rng(7)
    texts = rng.integers(0, 40, size=300)                      # 40 distinct texts over 300 documents
    digests = np.zeros((300, 16), dtype=np.uint8)
    digests[:, :4] = rng.integers(0, 256, size=(40, 4), dtype=np.uint8)[texts]   # a text's digest, copied
    digests[:, 4] = texts
    priority = rng.integers(0, 3, size=300)
    ids = [f"doc/{i:03d}" for i in rng.permutation(300)]
    whole = arrays.exact_duplicates(digests, priority, lambda at: [ids[int(i)] for i in at])
    for partitions in (1, 3, 7):
        part = digest_partition(digests, partitions)
        pieces = [group_duplicates(KeyBlock(np.flatnonzero(part == p), digests[part == p], priority[part == p],
                                            np.ones(300, np.int64)[part == p],
                                            [ids[i] for i in np.flatnonzero(part == p)]))
                  for p in range(partitions)]
        docs = np.concatenate([r.removed for r in pieces])
        named = np.concatenate([r.target for r in pieces])
        order = np.argsort(docs)
        assert docs[order].tolist() == whole.docs.tolist()
        assert named[order].tolist() == whole.duplicate_of.tolist()
        # Every survivor stands for its group: the copies of its text.
        sizes = dict(zip(np.concatenate([r.survivors for r in pieces]).tolist(),
                         np.concatenate([r.sizes for r in pieces]).tolist()))
        assert sizes == {s: int((texts == texts[s]).sum()) for s in set(whole.duplicate_of.tolist())}
    assert len(whole.docs) == 300 - len(np.unique(texts))


def test_a_pair_member_that_was_not_read_is_an_error_not_a_neighbours_row():
    from corpus.dedup.partitioned import rows_of

    numbers = np.array([3, 7, 9])
    assert rows_of(numbers, np.array([[3, 9], [7, 9]])).tolist() == [[0, 2], [1, 2]]
    for wanted in ([[3, 8]], [[2, 7]], [[9, 10]]):
        try:
            rows_of(numbers, np.array(wanted))
        except ValueError as error:
            assert "not read" in str(error)
        else:
            raise AssertionError(f"{wanted} passed")
