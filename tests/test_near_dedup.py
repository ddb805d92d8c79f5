"""Stages 8-9 through the whole Beam pipeline: near-duplicates removed with a named survivor, chains, short
documents, priorities, decontamination, determinism across worker counts, and the shape of the graph."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.config import config_from_dict
from corpus.dedup.minhash import dedup_words, estimated_jaccard, shingles, text_signature
from corpus.sample.generate import DE, EN, ES, FR, RU
from pipelines.run import run_corpus
from tests.conftest import shared_data


def edit(text: str, positions: list[int]) -> str:
    """Replace the words at `positions` (each edit breaks the 13 shingles that cover it)."""
    words = text.split(" ")
    for p in positions:
        words[p] = f"changed{p}"
    return " ".join(words)


def jaccard(a: str, b: str, n: int = 13) -> float:
    sa, sb = set(shingles(dedup_words(a), n)), set(shingles(dedup_words(b), n))
    return len(sa & sb) / len(sa | sb)


A = " ".join(EN[0:6])
B = edit(A, [20, 150])              # A~B
C = edit(B, [250, 320])             # B~C, but A and C are too far apart
X = " ".join(RU[0:7])
X2 = edit(X, [100])                 # a near copy of a higher-priority document
Y = " ".join(EN[6:10])
Z = " ".join(EN[10:12] + RU[7:10])
V = " ".join(DE + FR + ES)
V2 = edit(V, [33, 38, 200])         # true Jaccard 0.81, but its 256-slot estimate says 0.785
SHORT_1, SHORT_2, SHORT_3 = "Click here to subscribe!", "click here to SUBSCRIBE", "Read more about us."
LEAKED_SENTENCE = " ".join(Y.split(" ")[30:50])


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def make_inputs(root: Path) -> None:
    write_jsonl(root / "wiki.jsonl", [{"id": "a", "text": A}, {"id": "x", "text": X}, {"id": "v", "text": V}])
    write_jsonl(root / "web.jsonl", [{"id": i, "text": t} for i, t in
                                     [("b", B), ("c", C), ("x2", X2), ("v2", V2), ("y", Y), ("z", Z), ("s1", SHORT_1),
                                      ("s2", SHORT_2), ("s3", SHORT_3)]])
    write_jsonl(root / "eval.jsonl", [{"text": edit(Z, [60])}, {"text": LEAKED_SENTENCE}])


def config(root: Path, mode: str = "jaccard"):
    return config_from_dict({
        "sources": [
            {"name": "wiki", "kind": "jsonl", "paths": ["wiki.jsonl"], "id_field": "id", "priority": 3},
            {"name": "web", "kind": "jsonl", "paths": ["web.jsonl"], "id_field": "id", "priority": 1},
        ],
        "langid": {"min_lang_score": 0.0},   # V mixes three languages on purpose
        "dedup": {"decontamination": {"paths": ["eval.jsonl"], "mode": mode}},
        "mix": {"enabled": False},
        "output": {"num_shards": 2},
    }, base_dir=str(root))


def read(out: Path, kind: str) -> list[dict]:
    return pq.read_table(out / kind).to_pylist()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("near")
    make_inputs(root)
    return root


@pytest.fixture(scope="module")
def run(inputs):
    out = inputs / "out"
    run_corpus(config(inputs), str(out))
    kept = {r["id"].split("#")[-1]: r for r in read(out, "shards")}
    rejects = {r["id"].split("#")[-1]: r for r in read(out, "rejects")}
    return out, kept, rejects


def test_the_fixture_pairs_sit_where_the_test_says():
    assert jaccard(A, B) >= 0.83 and jaccard(B, C) >= 0.83
    assert jaccard(A, C) <= 0.76
    assert jaccard(X, X2) >= 0.85
    assert jaccard(A, Y) == 0
    v, v2 = dedup_words(V), dedup_words(V2)
    assert jaccard(V, V2) >= 0.8
    assert estimated_jaccard(text_signature(v, 13, 256, 1), text_signature(v2, 13, 256, 1)) < 0.8


def test_near_duplicate_of_a_higher_priority_source_goes(run):
    _, kept, rejects = run
    assert rejects["x2"]["stage"] == "near_dedup" and rejects["x2"]["reason"] == "near_duplicate"
    assert rejects["x2"]["duplicate_of"].endswith("#x")
    assert rejects["b"]["duplicate_of"].endswith("#a")


def test_pair_just_above_the_threshold_is_caught_by_the_exact_check(run):
    out, _, rejects = run
    assert rejects["v2"]["duplicate_of"].endswith("#v")
    assert json.loads((out / "stats.json").read_text())["dedup"]["near"]["exact_checked_pairs"] >= 1


def test_chain_keeps_the_far_end(run):
    _, kept, rejects = run
    assert "a" in kept and "c" in kept and "b" in rejects


def test_short_documents_fall_back_to_their_whole_key(run):
    _, kept, rejects = run
    assert "s1" in kept and "s3" in kept
    assert rejects["s2"]["reason"] == "near_duplicate" and rejects["s2"]["duplicate_of"].endswith("#s1")


def test_survivors_carry_their_cluster_size(run):
    _, kept, _ = run
    assert kept["a"]["cluster_size"] == 2 and kept["x"]["cluster_size"] == 2 and kept["s1"]["cluster_size"] == 2
    assert kept["c"]["cluster_size"] == 1 and kept["y"]["cluster_size"] == 1


def test_every_removed_document_names_a_survivor_and_no_survivors_pair_up(run):
    _, kept, rejects = run
    kept_ids = {r["id"] for r in kept.values()}
    near = [r for r in rejects.values() if r["stage"] == "near_dedup"]
    assert len(near) == 4
    assert all(r["duplicate_of"] in kept_ids for r in near)
    texts = [r["text"] for r in kept.values() if len(dedup_words(r["text"])) >= 13]
    assert all(jaccard(a, b) < 0.8 for a, b in itertools.combinations(texts, 2))


def test_decontamination_drops_a_leaked_evaluation_item(run):
    out, kept, rejects = run
    assert rejects["z"]["stage"] == "decontaminate" and rejects["z"]["reason"] == "contaminated"
    assert rejects["z"]["duplicate_of"].startswith("evaluation/eval.jsonl#")
    assert "y" in kept   # one shared sentence is not 80% Jaccard
    stats = json.loads((out / "stats.json").read_text())
    assert stats["dedup"]["near_removed"] == 4 and stats["dedup"]["decontaminated"] == 1
    assert stats["dedup"]["largest_cluster"] == 2 and stats["conservation"]["ok"]
    assert stats["dedup"]["near"]["verified_pairs"] >= 4


def test_ngram_mode_drops_a_document_sharing_one_13_gram(inputs, tmp_path):
    out = tmp_path / "out"
    run_corpus(config(inputs, mode="ngram"), str(out))
    rejects = {r["id"].split("#")[-1]: r for r in read(out, "rejects") if r["stage"] == "decontaminate"}
    assert set(rejects) == {"y", "z"}


def _digests(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.glob("*/*.parquet"))}


def test_same_survivors_and_rejects_with_one_worker_and_with_one_per_core(run, inputs, tmp_path):
    out, _, _ = run                        # the default: one worker process per core
    again = tmp_path / "again"
    run_corpus(config(inputs), str(again), ["--direct_num_workers=1", "--direct_running_mode=in_memory"])
    assert _digests(again) == _digests(out)


def test_units_of_any_size_give_the_same_bytes(run, inputs, tmp_path):
    """Every record read once, and decisions taken across units, however the inputs are cut: 200-byte units split
    each JSONL file into several units, so duplicates meet across units."""
    out, _, _ = run
    again = tmp_path / "small-units"
    cfg = config(inputs)
    cfg = dataclasses.replace(cfg, read=dataclasses.replace(cfg.read, unit_bytes=200))
    result = run_corpus(cfg, str(again))
    assert result.manifest["summary"]["units"] > 6
    assert _digests(again) == _digests(out)


def test_exact_dedup_in_many_digest_partitions_gives_the_same_bytes(sample_out, tmp_path):
    """Three documents a partition: the bundled sample's exact duplicates are decided in many digest partitions
    (each group whole in one), and every decision, shard, reject and count is the same as in one partition."""
    from corpus.config import load_config, sample_config_path

    cfg = load_config(sample_config_path())
    cfg = dataclasses.replace(cfg, dedup=dataclasses.replace(cfg.dedup, partition_docs=3))
    again = tmp_path / "partitioned"
    result = run_corpus(cfg, str(again))
    assert result.stats["dedup"]["exact_removed"] > 0
    assert _digests(again) == _digests(sample_out)
    assert (again / "stats.json").read_bytes() == (sample_out / "stats.json").read_bytes()


def test_cs336_fuzzy_license_fixtures(shared, tmp_path):
    folder = shared_data() / "eval/dedup/cs336-fixtures/documents_with_fuzzy_duplicates"
    cfg = config_from_dict({"sources": [{"name": "licenses", "kind": "text", "paths": [f"{folder}/*.txt"]}],
                            "mix": {"enabled": False}})
    out = tmp_path / "out"
    run_corpus(cfg, str(out))
    kept = sorted(Path(r["id"]).name for r in read(out, "shards"))
    rejects = [r for r in read(out, "rejects") if r["stage"] == "near_dedup"]
    # The two MIT licences (13-gram Jaccard 0.92) are one document; the PyTorch licence is another.
    assert kept == ["pytorch_license.txt", "rails_mit_license.txt"]
    assert [Path(r["id"]).name for r in rejects] == ["react_mit_license.txt"]
    assert rejects[0]["duplicate_of"].endswith("rails_mit_license.txt")


def test_hot_bucket_pairs_every_member_with_its_heads(tmp_path):
    # 40 copies of one page, each with one different word: every band bucket is far above hot_bucket_size, so
    # members pair with the bucket's best heads only; still exactly one copy survives and the rest name it.
    base = " ".join(EN[0:4]).split(" ")
    rows = []
    for i in range(40):
        words = list(base)
        words[5 + 5 * i] = f"variant{i}"
        rows.append({"id": f"p{i:02d}", "text": " ".join(words)})
    write_jsonl(tmp_path / "pages.jsonl", rows)
    cfg = config_from_dict({"sources": [{"name": "web", "kind": "jsonl", "paths": ["pages.jsonl"], "id_field": "id"}],
                            "dedup": {"minhash": {"hot_bucket_size": 4}}, "mix": {"enabled": False}},
                           base_dir=str(tmp_path))
    run_corpus(cfg, str(tmp_path / "out"))
    kept = read(tmp_path / "out", "shards")
    near = [r for r in read(tmp_path / "out", "rejects") if r["stage"] == "near_dedup"]
    assert [r["id"] for r in kept] == ["web/pages.jsonl#p00"] and kept[0]["cluster_size"] == 40
    assert len(near) == 39 and {r["duplicate_of"] for r in near} == {"web/pages.jsonl#p00"}
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["dedup"]["near"]["hot_buckets"] >= 1 and stats["dedup"]["near"]["hot_bucket_members"] > 4


def chain_of(length: int) -> list[str]:
    """Documents where each is a near-duplicate (J 0.85) of the next and no further (J <= 0.75 two steps away)."""
    words = " ".join(EN).split(" ")
    chain = [" ".join(words[:340])]
    for k in range(length - 1):
        chain.append(edit(chain[-1], [8 + 28 * k, 22 + 28 * k]))
    return chain


@pytest.mark.parametrize("length", [6, 12])
def test_long_chain_keeps_every_other_document(tmp_path, length):
    """A chain of near-duplicates, each only like its neighbours, is one component however long (components are
    exact): every other one is kept and each removed one names a kept neighbour it was verified against."""
    chain = chain_of(length)
    assert all(jaccard(a, b) >= 0.8 for a, b in zip(chain, chain[1:]))
    assert all(jaccard(a, b) < 0.76 for a, b in zip(chain, chain[2:]))
    ids = [f"d{i:02d}" for i in range(length)]
    write_jsonl(tmp_path / "web.jsonl", [{"id": i, "text": t} for i, t in zip(ids, chain)])
    cfg = config_from_dict({"sources": [{"name": "web", "kind": "jsonl", "paths": ["web.jsonl"], "id_field": "id"}],
                            "mix": {"enabled": False}}, base_dir=str(tmp_path))
    out = tmp_path / "out"
    run_corpus(cfg, str(out))
    kept = {r["id"].split("#")[-1] for r in read(out, "shards")}
    rejects = {r["id"].split("#")[-1]: r for r in read(out, "rejects")}
    assert kept == set(ids[::2]) and set(rejects) == set(ids[1::2])
    for r in rejects.values():
        named = r["duplicate_of"].split("#")[-1]
        assert named in kept and abs(ids.index(r["id"].split("#")[-1]) - ids.index(named)) == 1
    assert json.loads((out / "stats.json").read_text())["dedup"]["near"]["unconverged_edges"] == 0
