"""Stage 10: token-weighted mixing (default shares, plans, warnings, then the pipeline on the shared data), and shards
readable by others."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.config import config_from_dict
from corpus.mix import histogram_bucket, mix_position, plan_mix, share_targets
from corpus.stats import build_stats
from corpus.tokenizer import Tokenizer
from pipelines.run import run_corpus
from tests.conftest import shared_data


def histogram(units: dict[str, int], seed: int = 0) -> dict[int, int]:
    hist: dict[int, int] = {}
    for unit_id, tokens in units.items():
        b = histogram_bucket(mix_position(unit_id, seed))
        hist[b] = hist.get(b, 0) + tokens
    return hist


def web_and_books() -> dict:
    """10,000 tokens of web in 100 units, 1,000 tokens of books in 10."""
    return {"web": histogram({f"w{i}": 100 for i in range(100)}),
            "books": histogram({f"b{i}": 100 for i in range(10)})}


def test_largest_mix_within_max_epochs_meets_the_shares():
    hists = web_and_books()
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


def test_default_shares_come_from_the_source_kind_not_its_name():
    # A wikipedia-kind source named `wiki` gets Wikipedia's 2, not an even share: 48 / (48 + 2) = 0.96.
    assert share_targets([("web", "wet"), ("wiki", "wikipedia")], {}) == {"web": 0.96, "wiki": 0.04}
    # A books-kind source named `web` is still books; jsonl/parquet/text go by a name the table knows (c4).
    assert share_targets([("web", "books"), ("c4", "jsonl")], {}) == pytest.approx({"web": 27 / 37, "c4": 10 / 37})


def test_sources_of_one_kind_share_its_default():
    # Two crawls split web's 48 (24 each) rather than taking 48 each: 24 / 75 = 0.32, books 27 / 75 = 0.36.
    shares = share_targets([("crawl_a", "wet"), ("crawl_b", "warc"), ("books", "books")], {})
    assert shares == pytest.approx({"crawl_a": 0.32, "crawl_b": 0.32, "books": 0.36})
    # A configured weight takes its source out of the split: crawl_a keeps the whole default 48.
    shares = share_targets([("crawl_a", "wet"), ("crawl_b", "warc")], {"crawl_b": 0.12})
    assert shares == pytest.approx({"crawl_a": 0.8, "crawl_b": 0.2})


def test_a_lone_source_gets_everything():
    assert share_targets([("notes", "text")], {}) == {"notes": 1.0}


def test_config_share_targets_are_none_with_the_mix_off(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    sources = [{"name": "a", "kind": "jsonl", "paths": ["a.jsonl"]},
               {"name": "b", "kind": "text", "paths": ["a.jsonl"]}]
    assert config_from_dict({"sources": sources, "mix": {"enabled": False}}, str(tmp_path)).share_targets() is None
    weighted = config_from_dict({"sources": sources, "mix": {"weights": {"a": 3, "b": 1}}}, str(tmp_path))
    assert weighted.share_targets() == {"a": 0.75, "b": 0.25}


def test_without_max_epochs_the_largest_mix_repeats_nothing():
    hists = web_and_books()
    plans = plan_mix(hists, {"web": 0.5, "books": 0.5}, None, max_epochs=1)
    # books is used once (1,000 tokens) and web is cut to match it.
    assert plans["books"].whole == 1 and plans["books"].planned == 1000
    assert plans["web"].whole == 0 and plans["web"].planned == 1000


def test_a_share_is_only_as_fine_as_the_units_so_long_books_need_parts():
    """The partial copy ends at the unit boundary nearest the tokens wanted (README "Mixing by tokens"): books
    asked for 1,400 tokens get 1,000 when they are four units of 1,000 (2,000 is further off), and 1,400 exactly
    when the same tokens are forty parts of 100."""
    web = histogram({f"w{i}": 10 for i in range(1000)})
    whole_books = histogram({f"b{i}": 1000 for i in range(4)})
    parts = histogram({f"b{i}#{k}": 100 for i in range(4) for k in range(10)})
    weights = {"web": 0.86, "books": 0.14}
    assert plan_mix({"web": web, "books": whole_books}, weights, 10_000, max_epochs=1)["books"].planned == 1000
    assert plan_mix({"web": web, "books": parts}, weights, 10_000, max_epochs=1)["books"].planned == 1400
    # 1,600 wanted is nearer 2,000 than 1,000: the cut goes up (nearest, not at most).
    assert plan_mix({"web": web, "books": whole_books}, {"web": 0.84, "books": 0.16}, 10_000,
                    max_epochs=1)["books"].planned == 2000


def stats_counts(web_tokens: int, books_tokens: int) -> dict:
    """Count records as the pipeline writes them: web and books written, wiki dropped whole at langid."""
    return {("output", "web", "en", ""): (10, 5000), ("output_tokens", "web", "en", ""): (web_tokens, 0),
            ("mix", "web", "available", ""): (700, 10),
            ("output", "books", "en", ""): (2, 3000), ("output_tokens", "books", "en", ""): (books_tokens, 0),
            ("mix", "books", "available", ""): (100, 2),
            ("funnel", "wiki", "read", "in"): (6, 60), ("funnel", "wiki", "read", "out"): (5, 50),
            ("funnel", "wiki", "read", "empty_file"): (1, 10),
            ("funnel", "wiki", "langid", "in"): (5, 50), ("funnel", "wiki", "langid", "out"): (0, 0),
            ("funnel", "wiki", "langid", "language_not_allowed"): (5, 50)}


def test_stats_warn_of_a_missed_share_and_an_empty_source():
    stats = build_stats(stats_counts(700, 300), ["web", "books", "wiki"], ("read", "langid"),
                        {"web": 0.6, "books": 0.3, "wiki": 0.1})
    # web 700 of 1,000 tokens is 70% (10 points over 60%); books 30% is on target; wiki wrote nothing.
    assert stats["warnings"] == [
        "source web: 70.0% of output tokens, target 60.0% (epochs 1, 700 tokens available)",
        "source wiki: no documents written (most dropped at langid: language_not_allowed 5)"]


def test_stats_warn_of_a_size_missed_and_a_small_tokenizer():
    tokenizer = {"trained": True, "vocab_size": 6024, "requested_vocab_size": 32000}
    stats = build_stats(stats_counts(690, 310), ["web", "books"], ("read", "langid"), {"web": 0.7, "books": 0.3},
                        tokenizer=tokenizer, target_tokens=2000)
    assert stats["warnings"] == [
        "mix.target_tokens: 1,000 tokens written of 2,000 asked (sources are capped at mix.max_epochs)",
        "tokenizer: 6,024 pieces trained of tokenizer.vocab_size 32,000 (the training sample supports no more)"]


def test_stats_warnings_are_empty_when_nothing_is_off():
    # Shares within 2 points (69% for 70%), a given tokenizer of any size, the mix off: nothing to say.
    given = {"trained": False, "vocab_size": 6024, "requested_vocab_size": 32000}
    assert build_stats(stats_counts(690, 310), ["web", "books"], (), {"web": 0.7, "books": 0.3},
                       tokenizer=given)["warnings"] == []
    assert build_stats(stats_counts(900, 100), ["web", "books"], (), None)["warnings"] == []


NOTES = ["The river flows slowly through the old town, past the mill and the stone bridge where children wait for "
         "the boats to come home in the evening light.",
         "Our committee reviewed the budget for next year and decided that the library will stay open on Sundays, "
         "because many students asked for more time to study.",
         "She planted tomatoes, beans and a row of sunflowers behind the house, and by August the garden was full of "
         "bees and the smell of warm leaves.",
         "When the train finally arrived, the passengers had been waiting for almost two hours, and most of them were "
         "tired, hungry and quite annoyed with the company."]


@pytest.fixture(scope="module")
def notes_run(tmp_path_factory):
    """Four English notes, read twice: as `notes` (en) and as `russian` (ru only, so it ends empty)."""
    tmp = tmp_path_factory.mktemp("notes")
    (tmp / "notes.jsonl").write_text("".join(json.dumps({"id": f"n{i}", "text": t}) + "\n"
                                             for i, t in enumerate(NOTES)))
    config = config_from_dict({"sources": [
        {"name": "notes", "kind": "jsonl", "paths": ["notes.jsonl"], "id_field": "id", "languages": ["en"]},
        {"name": "russian", "kind": "jsonl", "paths": ["notes.jsonl"], "id_field": "id", "languages": ["ru"]}],
        "mix": {"weights": {"notes": 0.9, "russian": 0.1}}}, base_dir=str(tmp))
    run_corpus(config, str(tmp / "out"))
    return tmp / "out"


def test_without_max_epochs_every_document_is_written_once(notes_run):
    ids = sorted(pq.read_table(notes_run / "shards", columns=["id"]).column("id").to_pylist())
    assert ids == ["notes/notes.jsonl#n0", "notes/notes.jsonl#n1", "notes/notes.jsonl#n2", "notes/notes.jsonl#n3"]


def test_an_empty_source_and_a_small_tokenizer_are_warnings_in_stats(notes_run):
    stats = json.loads((notes_run / "stats.json").read_text())
    warnings = stats["warnings"]
    assert "source russian: no documents written (most dropped at langid: language_not_allowed 4)" in warnings
    assert any(w.startswith("tokenizer: ") and w.endswith("pieces trained of tokenizer.vocab_size 32,000 (the "
                                                           "training sample supports no more)") for w in warnings)


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
    # No max_epochs written: nothing repeats, and the scarcest source for its share is used whole, once.
    assert max(e["epochs"] for e in stats["sources"].values()) == pytest.approx(1.0, abs=0.01)
    assert stats["warnings"] == []
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
