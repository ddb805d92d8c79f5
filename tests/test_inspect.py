"""Reading a run's results (issue 12, point 11): `corpus stats`, `show` and `diff` on the bundled sample run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq

from corpus.cli import main
from corpus.inspect import (format_length, format_value, load_stats, render_diff, render_row, render_stats,
                            select_rows)
from corpus.stats import build_dedup, shard_statistics


def test_largest_clusters_list_starts_with_the_largest_cluster(sample_out):
    dedup = load_stats(sample_out)["dedup"]
    # news-001 survived two near-duplicates (news-004, news-007), whether or not the mix then writes it.
    assert dedup["largest_cluster"] == 3
    assert dedup["largest_clusters"][0] == {"size": 3, "survivor": "news/news-sample.parquet#news-001",
                                            "source": "news"}
    assert len(dedup["largest_clusters"]) == dedup["clusters"] == 8


def test_largest_clusters_come_from_the_dedup_counts_biggest_first_then_by_id():
    counts = {("dedup", "output", "cluster_size", "2"): (2, 0), ("dedup", "output", "cluster_size", "5"): (1, 0),
              ("dedup", "largest", "web/b", "web"): (2, 0), ("dedup", "largest", "books/x", "books"): (5, 0),
              ("dedup", "largest", "web/a", "web"): (2, 0)}
    dedup = build_dedup(counts)
    assert dedup["largest_cluster"] == 5 and dedup["clusters"] == 3
    assert dedup["largest_clusters"] == [{"size": 5, "survivor": "books/x", "source": "books"},
                                         {"size": 2, "survivor": "web/a", "source": "web"},
                                         {"size": 2, "survivor": "web/b", "source": "web"}]


def test_length_summaries_count_a_repeated_unit_once():
    rows = [{"id": "s/a", "source": "s", "lang": "en", "n_bytes": 500, "n_tokens": 100},
            {"id": "s/a@2", "source": "s", "lang": "en", "n_bytes": 500, "n_tokens": 100},
            {"id": "s/a@3", "source": "s", "lang": "en", "n_bytes": 500, "n_tokens": 100},
            {"id": "s/b#1", "source": "s", "lang": "en", "n_bytes": 1500, "n_tokens": 300}]
    entry = shard_statistics(rows)["sources"]["s"]
    assert entry["tokens"] == {"mean": 200.0, "median": 200.0}
    assert entry["bytes"] == {"mean": 1000.0, "median": 1000.0}
    assert {k: v for k, v in entry["token_histogram"].items() if v} == {"64": 1, "256": 1}


def _written_ids(out) -> list[str]:
    return pq.read_table(out / "shards", columns=["id"]).column("id").to_pylist()


def test_stats_json_lengths_of_a_repeated_source_count_its_one_unit(sample_out):
    # The sample's one short article (articles/ru-2.txt) is repeated to meet its 5% share.
    assert "articles/ru-2.txt@2" in _written_ids(sample_out)
    articles = load_stats(sample_out)["sources"]["articles"]
    assert articles["docs"] > 1 and sum(articles["length"]["token_histogram"].values()) == 1


def test_samples_show_each_document_once_not_its_repeats(sample_out):
    assert "articles/ru-2.txt@2" in _written_ids(sample_out)
    rows = select_rows(sample_out, source="articles", n=10)
    assert [r["id"] for r in rows] == ["articles/ru-2.txt"]


def test_stats_labels_tokens_before_and_after_the_mix(sample_out):
    printed = render_stats(load_stats(sample_out))
    lines = printed.splitlines()
    languages = lines.index(next(x for x in lines if x.startswith("== languages")))
    assert "after the mix" in lines[languages] and "tokens written" in lines[languages + 1]
    tokenizer = next(x for x in lines if x.startswith("== tokenizer"))
    assert "before the mix" in tokenizer
    assert "tokens before mix" in lines[lines.index(tokenizer) + 1]


def test_stats_says_the_tokenizer_is_smaller_than_asked(sample_out):
    stats = load_stats(sample_out)
    # A sample too small for 32,000 pieces: SentencePiece stops at what it supports.
    stats["tokenizer"].update(trained=True, vocab_size=6024, requested_vocab_size=32000)
    tokenizer = next(x for x in render_stats(stats).splitlines() if x.startswith("== tokenizer"))
    assert tokenizer.startswith("== tokenizer: bpe, 6,024 pieces (32,000 requested")
    stats["tokenizer"].update(vocab_size=32000)
    tokenizer = next(x for x in render_stats(stats).splitlines() if x.startswith("== tokenizer"))
    assert tokenizer.startswith("== tokenizer: bpe, 32,000 pieces, trained on")


def test_stats_prints_warnings_last_and_none_when_absent(sample_out):
    stats = load_stats(sample_out)
    stats.pop("warnings", None)   # an output written before warnings existed
    assert "== warnings" not in render_stats(stats)
    stats["warnings"] = ["tokenizer: 6,024 pieces trained, 32,000 asked", "source c4: share 0.05, target 0.10"]
    tail = render_stats(stats).splitlines()[-3:]
    assert tail == ["== warnings (2)", "- tokenizer: 6,024 pieces trained, 32,000 asked",
                    "- source c4: share 0.05, target 0.10"]


def test_signal_values_print_whole_numbers_whole_and_fractions_short():
    assert format_value(1390.0) == "1390"
    assert format_value(100000.0) == "100000"
    assert format_value(0.30000001192092896) == "0.3"    # a float32 column read back
    assert format_value(4.529999732971191) == "4.53"
    assert format_value(0.025390625) == "0.02539"
    row = {"id": "w/1", "source": "web", "lang": "en", "lang_score": 0.98, "text": "x",
           "word_count": 1390.0, "mean_word_length": 4.529999732971191}
    assert "signals: word_count=1390, mean_word_length=4.53" in render_row(row)
    reject = {"id": "w/2", "source": "web", "lang": "en", "stage": "quality", "reason": "max_words",
              "value": 123456.0, "threshold": 100000.0, "text": "x"}
    assert "dropped at quality: max_words = 123456 (threshold 100000)" in render_row(reject)


def test_show_an_unknown_reject_reason_lists_the_reasons_there_are(sample_out, capsys):
    assert main(["show", str(sample_out), "--rejects", "min_word"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "'min_word'" in lines[0]
    for reason in ("min_words", "duplicate", "near_duplicate", "invalid_utf8", "language_not_allowed"):
        assert f" {reason}," in lines[0] or lines[0].endswith(f" {reason}")


def test_a_langid_reject_names_the_language_it_detected(sample_out, capsys):
    rejects = {r["id"]: r for r in pq.read_table(sample_out / "rejects").to_pylist()}
    assert rejects["articles/es-1.txt"]["reason"] == "language_not_allowed"
    assert rejects["articles/es-1.txt"]["lang"] == "es"
    # Every stage from langid on knows the language; read and normalize rejects come before it.
    assert rejects["web/crawl-00001.warc.wet.gz#0+5370"]["lang"] == "en"           # quality: min_words
    assert rejects["web/crawl-00001.warc.wet.gz#0+11416"]["lang"] == "ru"          # repetition
    assert rejects["web/crawl-00000.warc.wet.gz#0+18106"]["lang"] == "en"          # content: domain_blocklist
    assert rejects["articles/uk-1.txt"]["lang"] == "uk"                            # exact dedup
    assert rejects["news/news-sample.parquet#news-004"]["lang"] == "en"            # near dedup
    assert rejects["articles/ru-1.txt"]["lang"] == "ru"                            # decontamination
    assert rejects["web/crawl-00000.warc.wet.gz#0+18602"]["lang"] is None          # normalize: invalid_utf8
    assert main(["show", str(sample_out), "--rejects", "language_not_allowed"]) == 0
    assert "### articles/es-1.txt  (source articles, lang es)" in capsys.readouterr().out


def test_diff_names_the_config_keys_that_differ(sample_out, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(sample_out, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["config"]["langid"]["min_lang_score"] = 0.7
    manifest["config"]["languages"] = {"ru": {"min_lang_score": 0.8}}
    next(s for s in manifest["config"]["sources"] if s["name"] == "web")["priority"] = 5
    (other / "manifest.json").write_text(json.dumps(manifest))
    assert main(["diff", str(sample_out), str(other), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"] == [
        {"key": "langid.min_lang_score", "a": 0.65, "b": 0.7},
        {"key": "languages.ru.min_lang_score", "b": 0.8},
        {"key": "sources.web.priority", "a": 2, "b": 5}]
    assert main(["diff", str(sample_out), str(other)]) == 0
    printed = capsys.readouterr().out
    assert "== config keys that differ" in printed
    line = next(x for x in printed.splitlines() if x.startswith("languages.ru.min_lang_score"))
    assert line.split() == ["languages.ru.min_lang_score", "(absent)", "0.8"]
    assert main(["diff", str(sample_out), str(sample_out)]) == 0
    assert "config: the same" in capsys.readouterr().out


def test_language_id_drops_are_in_stats_json_and_corpus_stats_by_language(sample_out):
    stats = load_stats(sample_out)
    # The bundled sample holds one Spanish article in sources that take en and ru.
    assert stats["langid_dropped"]["language_not_allowed"]["es"]["docs"] == 1
    lines = render_stats(stats).splitlines()
    header = lines.index(next(x for x in lines if x.startswith("== language ID drops")))
    rows = [x.split() for x in lines[header + 1:header + 6]]
    es = next(r for r in rows if r[:2] == ["language_not_allowed", "es"])
    article = Path(__file__).resolve().parents[1] / "corpus/sample/articles/es-1.txt"
    assert es[2] == "1" and int(es[3].replace(",", "")) == len(article.read_text(encoding="utf-8").rstrip("\n").encode())


def test_the_data_card_names_the_language_id_groups_and_relaxed_thresholds(sample_out):
    card = (sample_out / "DATACARD.md").read_text(encoding="utf-8")
    line = next(x for x in card.splitlines() if x.startswith("Language ID:"))
    assert "bs/hr/sh/sr" in line and "ms/id" not in line and "id/ms" in line     # from lid176.yaml, sorted
    assert "0.3 (or lower, as configured) for the 111 languages" in line


# Issue 23, point 6: output a person reads at a terminal.

def _stats(funnel=None, sources=None) -> dict:
    """The least stats.json `render_stats` prints."""
    return {"funnel": funnel or {}, "sources": sources or {}, "languages": {},
            "dedup": {"exact_removed": 0, "near_removed": 0, "clusters": 0, "largest_cluster": 0},
            "conservation": {"ok": True}}


def _section(printed: str, title: str) -> list[str]:
    lines = printed.splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith(title))
    return lines[start:lines.index("", start)]


def test_stats_lists_a_stages_drop_reasons_under_its_row_within_80_columns():
    quality = {"max_ellipsis_line_fraction": 20, "max_hash_word_ratio": 20, "min_words": 40,
               "max_mean_word_length": 5, "max_symbol_word_ratio": 5}
    funnel = {"web": [
        {"stage": "read", "docs_in": 1200, "docs_out": 1190, "bytes_in": 900000, "bytes_out": 890000,
         "dropped": {"truncated_record": 10}},
        {"stage": "quality", "docs_in": 1190, "docs_out": 1100, "bytes_in": 890000, "bytes_out": 800000,
         "dropped": quality},
        {"stage": "mix", "docs_in": 1100, "docs_out": 1400, "bytes_in": 800000, "bytes_out": 1000000,
         "dropped": {}, "added": {"repeats": 300}}]}
    assert _section(render_stats(_stats(funnel)), "== funnel: web") == [
        "== funnel: web (drops by reason and +rows added, under each stage)",
        "stage    docs in  docs out  dropped  bytes in  bytes out",
        "-------  -------  --------  -------  --------  ---------",
        "read       1,200     1,190       10   900,000    890,000",
        "    truncated_record 10",
        "quality    1,190     1,100       90   890,000    800,000",
        "    min_words 40, max_ellipsis_line_fraction 20, max_hash_word_ratio 20,",
        "    max_mean_word_length 5, max_symbol_word_ratio 5",
        "mix        1,100     1,400        0   800,000  1,000,000",
        "    +repeats 300"]


def test_stats_prints_mean_lengths_as_a_person_reads_them_and_shares_to_three_places():
    assert (format_length(1186.71), format_length(149.0), format_length(254.5), format_length(None)) == \
        ("1,186.7", "149", "254.5", None)
    sources = {"web": {"docs": 3, "bytes": 4884, "tokens": 447, "share_target": 0.25, "share_achieved": 0.2734,
                       "epochs": 1.5, "length": {"tokens": {"mean": 1186.71, "median": 149.0}}}}
    row = _section(render_stats(_stats(sources=sources)), "== sources")[3]
    assert row.split() == ["web", "3", "4,884", "447", "0.250", "0.273", "1.500", "1,186.7", "149"]


def test_stats_json_keeps_the_mean_lengths_as_numbers(sample_out, capsys):
    assert main(["stats", str(sample_out), "--json"]) == 0
    articles = json.loads(capsys.readouterr().out)["sources"]["articles"]["length"]["tokens"]
    assert isinstance(articles["mean"], float) and isinstance(articles["median"], float)


def test_diff_leaves_out_keys_neither_run_set_and_prints_whole_numbers_whole(sample_out, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(sample_out, other)
    manifest = json.loads((other / "manifest.json").read_text())
    # A language override writes all its keys: those it does not set are null, as absent in the other run.
    manifest["config"]["languages"] = {"en": {"min_lang_score": None, "stop_words": None,
                                              "quality": {"min_words": 200.0}, "repetition": {}}}
    manifest["config"]["langid"]["min_lang_score"] = 0.7
    (other / "manifest.json").write_text(json.dumps(manifest))
    assert main(["diff", str(sample_out), str(other), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"] == [
        {"key": "langid.min_lang_score", "a": 0.65, "b": 0.7},
        {"key": "languages.en.quality.min_words", "b": 200.0}]
    assert main(["diff", str(sample_out), str(other)]) == 0
    printed = capsys.readouterr().out.splitlines()
    start = printed.index("== config keys that differ")
    assert [x.split() for x in printed[start + 3:start + 5]] == [
        ["langid.min_lang_score", "0.65", "0.7"], ["languages.en.quality.min_words", "(absent)", "200"]]
    assert not printed[start + 5].startswith("languages.")


def test_diff_aligns_gains_and_losses_alike():
    diff = {"config": [], "sources": [], "dedup": [], "funnel": [
        {"source": "web", "stage": "quality", "what": "docs_out", "a": 25, "b": 20, "change": -5},
        {"source": "web", "stage": "quality", "what": "min_words", "a": 1, "b": 6, "change": 5}]}
    assert render_diff(diff, "A", "B").splitlines() == [
        "== diff: A = A, B = B",
        "config: the same",
        "== funnel (documents out, and drops by reason)",
        "source  stage    what       A   B   change",
        "------  -------  ---------  --  --  ------",
        "web     quality  docs_out   25  20      -5",
        "web     quality  min_words   1   6      +5"]


def test_show_an_unknown_source_or_language_is_one_line_naming_those_there_are(sample_out, capsys):
    assert main(["show", str(sample_out), "--source", "nosuch"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"corpus: no source 'nosuch' in {sample_out}; sources: articles, books, c4, news, web\n"
    # Languages of kept and rejected documents: Spanish is in both, German only kept from web.
    assert main(["show", str(sample_out), "--rejects", "all", "--lang", "xx"]) == 2
    assert capsys.readouterr().err == (f"corpus: no language 'xx' in {sample_out}; "
                                       "languages: de, en, es, fr, ru, uk\n")


def test_show_a_known_source_with_nothing_matching_says_so_as_corpus(sample_out, capsys):
    # The articles written are Russian; English is a language of the run.
    assert main(["show", str(sample_out), "--source", "articles", "--lang", "en"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "corpus: no matching documents\n"
    # French is only among the kept documents: no reject matches it, and that is no mistake in the command.
    assert main(["show", str(sample_out), "--rejects", "all", "--lang", "fr"]) == 1
    assert capsys.readouterr().err == "corpus: no matching documents\n"


def test_stats_prints_the_steps_of_the_run_in_pipeline_order(sample_out, capsys):
    assert main(["stats", str(sample_out)]) == 0
    printed = capsys.readouterr().out
    section = printed[printed.index("== steps of this run"):].splitlines()
    assert section[1].split() == ["step", "wall", "s", "CPU", "s", "docs", "MB", "docs/s", "MB/s"]
    assert [line.split()[0] for line in section[3:9]] == ["ReadAndFilter", "Deduplicate", "TrainTokenizer",
                                                          "Tokenize", "WriteShards", "WriteRejects"]
    assert section[3].split()[3] == "79"           # the sample's documents read (README: 79 documents in)


def test_stats_json_output_has_no_timings(sample_out, capsys):
    assert main(["stats", str(sample_out), "--json"]) == 0
    assert "steps of this run" not in capsys.readouterr().out
