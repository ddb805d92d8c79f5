"""The partitioned Beam steps of stages 7-9 (pipelines/transforms/dedup.py) against the single-process reference
(corpus.dedup.decide.decide): generated documents (exact copies across sources, near-duplicate families large
enough for hot buckets, pairs near the threshold, short and empty texts, a contaminated one) are written as
prepared units, and the graph must give every unit the reference's decision rows and the same counts, whatever
the partition size."""

from __future__ import annotations

import dataclasses
import random

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from corpus.config import Config, DecontaminationConfig, DedupConfig, MinHashConfig, SourceConfig
from corpus.dedup.decide import decide, unit_rows
from corpus.dedup.exact import exact_key
from corpus.dedup.minhash import MINHASH_SEED, Banding, band_hashes, dedup_words, short_key, text_signature
from corpus.intermediate import DECISIONS_SCHEMA, NO_KEY, SHORT_KEY, SIGNATURE_KEY
from pipelines.transforms.dedup import Deduplicate
from pipelines.transforms.prepare import UnitSummary
from tests.test_dedup_decide import BANDS, NUM_PERM, ROWS, Keys

# sigmas 1 with 8 slots: a wide band of estimates is checked on the text, so ExactCheck sees many pairs.
MINHASH = MinHashConfig(ngram=3, threshold=0.6, num_perm=NUM_PERM, bands=BANDS, rows=ROWS, exact_check_sigmas=1.0,
                        hot_bucket_size=4)
SOURCES = (("web", 1), ("news", 1), ("wiki", 3))
UNIT_DOCS = 37


def generated_docs(seed: int, families: int = 12) -> list[dict]:
    """Documents as test_dedup_decide.Keys takes them, their keys computed from their text as the prepare step
    does."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(400)]
    texts: list[str] = []
    for _ in range(families):
        base = [rng.choice(words) for _ in range(rng.randint(8, 30))]
        for _ in range(rng.choice([1, 2, 3, 6, 9])):        # 6 and 9 members fill hot buckets of 4
            copy = list(base)
            for _ in range(rng.choice([0, 0, 1, 2, 4])):     # 0 edits: an exact copy
                copy[rng.randrange(len(copy))] = rng.choice(words)
            texts.append(" ".join(copy))
    texts += [" ".join(rng.choice(words) for _ in range(rng.randint(1, 2))) for _ in range(12)]   # short
    texts += ["w1 w2", "w1 w2", "", "", "!!"]
    rng.shuffle(texts)
    texts.insert(5, "a leaked evaluation item nobody else has")       # contaminated (below)
    docs = []
    banding = Banding(BANDS, ROWS)
    for i, text in enumerate(texts):
        source, priority = SOURCES[i % len(SOURCES)]
        words_of = dedup_words(text)
        doc = {"id": f"{source}/{rng.randrange(10**6):06d}-{i}", "source": source, "priority": priority,
               "digest": exact_key(text), "n_bytes": len(text.encode()) + 1, "sample_position": i, "text": text, "key_kind": NO_KEY,
               "short_key": None, "signature": None, "contaminated_by": "eval/1" if i == 5 else None}
        if 0 < len(words_of) < MINHASH.ngram:
            doc.update(key_kind=SHORT_KEY, short_key=short_key(words_of))
        elif words_of:
            sig = text_signature(words_of, MINHASH.ngram, NUM_PERM, MINHASH_SEED)
            doc.update(key_kind=SIGNATURE_KEY, signature=sig.astype("<u4").tobytes())
            doc.update({f"band_{b}": h for b, h in enumerate(band_hashes(sig[None, :], banding)[0].tolist())})
        docs.append(doc)
    return docs


def write_units(docs: list[dict], folder) -> list[UnitSummary]:
    """The documents as prepared units (keys.parquet and docs.parquet), in the reference's numbering: units in key
    order, each one source's, rows in order."""
    keys = Keys(docs)
    units = []
    ordered = sorted(range(len(docs)), key=lambda i: docs[i]["source"])    # a unit holds one source
    for u, start in enumerate(range(0, len(ordered), UNIT_DOCS)):
        rows = [docs[i] for i in ordered[start:start + UNIT_DOCS]]
        sources = {r["source"] for r in rows}
        for source in sorted(sources):
            mine = [r for r in rows if r["source"] == source]
            key = f"{source}-{u:03d}"
            path = folder / key
            path.mkdir()
            pq.write_table(pa.Table.from_pylist([{c: r.get(c) for c in keys.schema.names} for r in mine],
                                                schema=keys.schema), path / "keys.parquet")
            pq.write_table(pa.table({"id": [r["id"] for r in mine], "text": [r["text"] for r in mine]}),
                           path / "docs.parquet")
            units.append(UnitSummary(key, source, str(path), key, len(mine), ()))
    return units


def config(partition_docs: int, **dedup) -> Config:
    return Config(sources=tuple(SourceConfig(name=s, kind="jsonl", paths=("x",), priority=p) for s, p in SOURCES),
                  dedup=DedupConfig(minhash=MINHASH, partition_docs=partition_docs,
                                    decontamination=DecontaminationConfig(paths=("eval.jsonl",)), **dedup))


def partitioned(units: list[UnitSummary], cfg: Config, work) -> tuple[dict[str, list[dict]], list]:
    options = PipelineOptions(["--runner=FnApiRunner"])
    with beam.Pipeline(options=options) as p:
        result = p | beam.Create(units) | Deduplicate(cfg, str(work))
        result.kept | beam.Map(lambda r: (work / "result.json").write_text(repr(r.counts)))
    rows = {}
    for unit in units:
        path = work / "dedup" / f"{unit.key}.parquet"
        rows[unit.key] = pq.read_table(path).to_pylist() if path.exists() else []
    return rows, eval((work / "result.json").read_text())


def reference(units: list[UnitSummary], docs: list[dict], cfg: Config) -> tuple[dict[str, list[dict]], list]:
    by_id = {d["id"]: d for d in docs}
    ordered = sorted(units, key=lambda u: u.key)
    unit_docs = [pq.read_table(f"{u.folder}/docs.parquet")["id"].to_pylist() for u in ordered]
    decided = decide(Keys([by_id[i] for ids in unit_docs for i in ids]), cfg.dedup)
    rows, start = {}, 0
    for unit, ids in zip(ordered, unit_docs):
        rows[unit.key] = unit_rows(decided, start, start + len(ids))
        start += len(ids)
    return rows, decided.counts


@pytest.mark.parametrize("seed", [0, 1])
def test_partitioned_steps_decide_as_the_reference_at_any_partition_size(tmp_path, seed):
    docs = generated_docs(seed)
    units = write_units(docs, tmp_path)
    want_rows, want_counts = reference(units, docs, config(10**6))
    # The generated corpus has what each step must get right.
    named = {(c[0][0], c[0][2]): c[1] for c in want_counts if c[0][0] == "dedup"}
    assert named[("dedup", "exact_checked_pairs")][0] > 0 and named[("dedup", "hot_buckets")][0] > 0
    reasons = {r["reason"] for unit_rows_ in want_rows.values() for r in unit_rows_} - {None}   # None: survivors
    assert reasons == {"duplicate", "near_duplicate", "contaminated"}
    for partition_docs in (10**6, 50, 7):
        work = tmp_path / f"work-{partition_docs}"
        work.mkdir()
        got_rows, got_counts = partitioned(units, config(partition_docs), work)
        assert got_rows == want_rows, partition_docs
        assert got_counts == want_counts, partition_docs
        for table in (work / "dedup").glob("*.parquet"):
            assert pq.read_schema(table).equals(DECISIONS_SCHEMA)
        assert not (work / "dedup" / "_blocks").exists()      # what the shuffles referred to is gone


def test_exact_dedup_off_and_near_dedup_off_decide_as_the_reference(tmp_path):
    docs = generated_docs(2)
    units = write_units(docs, tmp_path)
    for n, settings in enumerate(({"exact": False}, {"minhash": dataclasses.replace(MINHASH, enabled=False)})):
        cfg = dataclasses.replace(config(20), dedup=dataclasses.replace(config(20).dedup, **settings))
        work = tmp_path / f"work-{n}"
        work.mkdir()
        assert partitioned(units, cfg, work) == reference(units, docs, cfg)


def test_a_rerun_reuses_the_decisions_and_gives_the_same_counts(tmp_path):
    docs = generated_docs(3)
    units = write_units(docs, tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    first = partitioned(units, config(30), work)
    written = {p.name: p.stat().st_mtime_ns for p in (work / "dedup").glob("*.parquet")}
    assert written
    again = partitioned(units, config(30), work)
    assert again == first
    assert {p.name: p.stat().st_mtime_ns for p in (work / "dedup").glob("*.parquet")} == written


def test_members_of_several_parts_are_each_once_with_their_own_signature():
    import numpy as np

    from corpus.dedup.partitioned import Members, merge_members

    def part(numbers):
        numbers = np.asarray(numbers, dtype=np.int64)
        return Members(numbers, numbers % 3, numbers + 1, [f"id{n}" for n in numbers.tolist()],
                       (numbers[:, None] * 10 + np.arange(4)).astype(np.uint32))

    merged = merge_members([part([7, 2, 9]), part([4, 2]), part([]), part([11, 7])])
    assert merged.numbers.tolist() == [2, 4, 7, 9, 11]
    assert merged.ids == ["id2", "id4", "id7", "id9", "id11"]
    assert merged.weight.tolist() == [3, 5, 8, 10, 12]
    assert merged.signatures.tolist() == [[n * 10 + k for k in range(4)] for n in (2, 4, 7, 9, 11)]
    assert merge_members([]).signatures.shape == (0, 0)


def test_pairs_spread_evenly_over_partitions_and_a_pair_always_goes_to_the_same_one():
    import numpy as np

    from corpus.dedup.partitioned import pair_partition

    rng = np.random.default_rng(0)
    a, b = np.sort(rng.integers(0, 10**7, size=(2, 200_000)), axis=0)      # first members skew low
    pairs = np.stack([a, b], axis=1)
    owners = pair_partition(pairs, 10)
    assert owners.min() == 0 and owners.max() == 9
    counts = np.bincount(owners, minlength=10)
    assert counts.max() < 1.05 * counts.mean()
    assert (pair_partition(pairs[::-1], 10) == owners[::-1]).all()
    assert (pair_partition(pairs, 1) == 0).all()
