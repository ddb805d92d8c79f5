"""`corpus run` on the bundled sample, then `stats` and `show` on its output."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from corpus.cli import main


def test_sample_run_drops_something_at_every_stage(sample_out):
    stats = json.loads((sample_out / "stats.json").read_text())
    assert stats["conservation"]["ok"]
    dropped_at = {row["stage"] for rows in stats["funnel"].values() for row in rows if row["dropped"]}
    assert dropped_at == {"read", "normalize", "langid", "quality", "repetition", "content", "exact_dedup",
                          "near_dedup", "decontaminate", "mix"}
    added = {row["stage"]: row["added"] for rows in stats["funnel"].values() for row in rows if row.get("added")}
    assert set(added) == {"tokenize", "mix"}   # books split into parts; small sources repeated
    assert stats["dedup"]["exact_removed"] >= 3


def test_exact_duplicate_keeps_the_higher_priority_source(sample_out):
    rejects = pq.read_table(sample_out / "rejects").to_pylist()
    rejected_ids = {r["id"] for r in rejects}
    dups = [r for r in rejects if r["reason"] == "duplicate"]
    # The named survivor was never rejected (mixing may still leave it out: that is sampling, not a defect).
    assert dups and all(r["duplicate_of"] and r["duplicate_of"] not in rejected_ids for r in dups)
    # web (priority 2) page 0 is copied into c4 (priority 3): the c4 copy survives.
    web_copy = [r for r in dups if r["source"] == "web" and r["duplicate_of"].startswith("c4/")]
    assert web_copy


def test_stats_tables_show_the_numbers_in_stats_json(sample_out, capsys):
    assert main(["stats", str(sample_out)]) == 0
    printed = capsys.readouterr().out
    stats = json.loads((sample_out / "stats.json").read_text())
    for source, rows in stats["funnel"].items():
        assert f"== funnel: {source}" in printed
        for row in rows:
            for reason, n in row["dropped"].items():
                assert f"{reason} {n:,}" in printed
    assert "conservation: ok" in printed
    assert main(["stats", str(sample_out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == stats


def test_show_rejects_prints_rule_value_and_threshold(sample_out, capsys):
    assert main(["show", str(sample_out), "--rejects", "max_duplicate_line_fraction", "--n", "1"]) == 0
    printed = capsys.readouterr().out
    assert "dropped at repetition: max_duplicate_line_fraction = 0." in printed
    assert "(threshold 0.3)" in printed


def test_show_documents_by_source(sample_out, capsys):
    assert main(["show", str(sample_out), "--source", "books", "--n", "2"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("### books/") == 2


def test_train_tokenizer_then_tokenize_a_users_corpus(tmp_path):
    from corpus.loader import PackedSequences
    from corpus.config import sample_config_path
    from corpus.tokenizer import Tokenizer

    corpus = str(sample_config_path().parent / "c4" / "c4-sample.jsonl")
    assert main(["train-tokenizer", corpus, "--out", str(tmp_path / "tok"), "--vocab-size", "800"]) == 0
    tok = Tokenizer((tmp_path / "tok" / "spm.model").read_bytes())
    assert 300 < tok.vocab_size <= 800
    assert main(["tokenize", corpus, "--tokenizer", str(tmp_path / "tok" / "spm.model"),
                 "--out", str(tmp_path / "out")]) == 0
    rows = pq.read_table(tmp_path / "out" / "shards").to_pylist()
    # No filters, no dedup, no mixing: every readable line of the file is a row, and decodes back.
    readable = sum(1 for line in open(corpus, encoding="utf-8") if line.strip()) - 2   # malformed + blank text
    assert len(rows) == readable and all(tok.decode(r["tokens"]) == r["text"] for r in rows)
    packed = PackedSequences(str(tmp_path / "out"), 100, drop_last=False)   # every token, the short tails too
    assert sum(len(s) for s in packed) == sum(r["n_tokens"] + 1 for r in rows)
