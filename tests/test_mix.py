"""Stage 10: token-weighted mixing (plans, then the pipeline on the shared data), and shards readable by others."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.config import config_from_dict
from corpus.mix import histogram_bucket, mix_position, plan_mix
from corpus.tokenizer import Tokenizer
from pipelines.run import run_corpus
from tests.conftest import shared_data


def histogram(units: dict[str, int], seed: int = 0) -> dict[int, int]:
    hist: dict[int, int] = {}
    for unit_id, tokens in units.items():
        b = histogram_bucket(mix_position(unit_id, seed))
        hist[b] = hist.get(b, 0) + tokens
    return hist


def test_largest_mix_within_max_epochs_meets_the_shares():
    hists = {"web": histogram({f"w{i}": 100 for i in range(100)}),       # 10,000 tokens
             "books": histogram({f"b{i}": 100 for i in range(10)})}      # 1,000 tokens
    plans = plan_mix(hists, {"web": 0.5, "books": 0.5}, None, max_epochs=4)
    # books can give at most 4 epochs = 4,000 tokens; web matches it with 0.4 of itself.
    assert plans["books"].whole == 4 and plans["books"].planned == 4000
    assert plans["web"].whole == 0 and plans["web"].planned == 4000


def test_target_tokens_and_the_epoch_cap():
    hists = {"web": histogram({f"w{i}": 10 for i in range(1000)}), "wiki": histogram({f"k{i}": 10 for i in range(10)})}
    plans = plan_mix(hists, {"web": 0.9, "wiki": 0.1}, target=5000, max_epochs=3)
    assert plans["web"].planned == 4500
    assert plans["wiki"].rate == 3 and plans["wiki"].planned == 300   # wanted 500, capped at 3 epochs


def test_plans_count_copies_by_position_only():
    hists = {"web": histogram({f"w{i}": 1 for i in range(1000)})}
    plan = plan_mix(hists, {"web": 1.0}, target=2500, max_epochs=4)["web"]
    copies = [plan.copies(mix_position(f"w{i}", 0)) for i in range(1000)]
    assert sum(copies) == 2500 and set(copies) == {2, 3}


def write_wikipedia_jsonl(data: Path, path: Path) -> None:
    articles = json.loads((data / "wikipedia/text/cyrillic-wiki-plaintext-10langs.json").read_text(encoding="utf-8"))
    with path.open("w", encoding="utf-8") as f:
        for lang in ("en", "ru"):
            for i, text in enumerate(articles[lang]):
                f.write(json.dumps({"id": f"{lang}-{i}", "text": text}, ensure_ascii=False) + "\n")


def mix_config(data: Path, tmp: Path):
    write_wikipedia_jsonl(data, tmp / "wikipedia.jsonl")
    return config_from_dict({
        "seed": 5,
        "sources": [
            {"name": "web", "kind": "jsonl", "paths": [f"{data}/cc/text/*.jsonl*"], "languages": ["en", "ru"]},
            {"name": "webru", "kind": "text", "paths": [f"{data}/web-ru/*.txt"], "languages": ["ru"]},
            {"name": "books", "kind": "books", "paths": [f"{data}/books/**/*.txt"], "languages": ["en", "ru"]},
            {"name": "wikipedia", "kind": "jsonl", "paths": [str(tmp / "wikipedia.jsonl")], "id_field": "id",
             "languages": ["en", "ru"]},
        ],
        "mix": {"weights": {"web": 0.45, "webru": 0.15, "books": 0.3, "wikipedia": 0.1}, "max_doc_tokens": 2048},
        "tokenizer": {"vocab_size": 8000},
        "output": {"num_shards": 2, "keep_rejects": False},
    })


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    data = shared_data()
    tmp = tmp_path_factory.mktemp("mix")
    out = tmp / "out"
    run_corpus(mix_config(data, tmp), str(out))
    return data, tmp, out


def test_token_shares_meet_the_targets_within_two_points(mixed):
    _, _, out = mixed
    stats = json.loads((out / "stats.json").read_text())
    for source, entry in stats["sources"].items():
        assert abs(entry["share_achieved"] - entry["share_target"]) <= 0.02, (source, entry)
        assert entry["epochs"] > 0
    assert max(e["epochs"] for e in stats["sources"].values()) == pytest.approx(4.0, abs=0.01)   # max_epochs
    # The reported tokens are the tokens in the shards.
    rows = pq.read_table(out / "shards", columns=["source", "n_tokens"]).to_pylist()
    for source, entry in stats["sources"].items():
        assert entry["tokens"] == sum(r["n_tokens"] for r in rows if r["source"] == source)
    assert stats["conservation"]["ok"]


def test_long_books_are_split_into_parts(mixed):
    _, _, out = mixed
    ids = pq.read_table(out / "shards", columns=["id", "source", "n_tokens"]).to_pylist()
    parts = [r for r in ids if r["source"] == "books" and "#" in r["id"].split("/")[-1]]
    assert parts and max(r["n_tokens"] for r in parts) <= 2048 + 64


def test_every_document_decodes_and_fertility_is_reported(mixed):
    _, _, out = mixed
    tok = Tokenizer((out / "tokenizer" / "spm.model").read_bytes())
    rows = pq.read_table(out / "shards", columns=["text", "tokens"]).to_pylist()
    assert all(tok.decode(r["tokens"]) == r["text"] for r in rows)
    fertility = json.loads((out / "stats.json").read_text())["tokenizer"]["fertility"]["by_language"]
    assert 1.0 < fertility["en"]["tokens_per_word"] < 3.0 and 1.0 < fertility["ru"]["tokens_per_word"] < 4.0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tokenizer"]["sha256"] == hashlib.sha256((out / "tokenizer/spm.model").read_bytes()).hexdigest()


def test_rerun_is_byte_identical(mixed, tmp_path):
    data, tmp, out = mixed
    again = tmp_path / "again"
    run_corpus(mix_config(data, tmp), str(again))
    for path in sorted(out.glob("shards/*.parquet")) + [out / "tokenizer/spm.model", out / "stats.json"]:
        assert path.read_bytes() == (again / path.relative_to(out)).read_bytes(), path


def test_shards_read_without_this_package(mixed):
    _, _, out = mixed
    import duckdb
    import polars
    from datasets import load_dataset

    files = sorted(str(p) for p in out.glob("shards/*.parquet"))
    expected = pq.read_table(files, columns=["id", "n_tokens"])
    total = sum(expected.column("n_tokens").to_pylist())
    con = duckdb.connect()
    n, tokens = con.execute(f"select count(*), sum(len(tokens)) from read_parquet({files!r})").fetchone()
    assert (n, tokens) == (expected.num_rows, total)
    frame = polars.read_parquet(files)
    assert frame.height == expected.num_rows and frame["tokens"].list.len().sum() == total
    ds = load_dataset("parquet", data_files=files, split="train", cache_dir=str(out.parent / "hf-cache"))
    assert len(ds) == expected.num_rows and sum(len(t) for t in ds["tokens"]) == total
