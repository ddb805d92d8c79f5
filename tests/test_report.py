"""Issue 7's commands on the every-kind run of ../shared/data (stats tables, the HTML report, diff, the data card),
and issue 12's report fixes on the bundled sample run."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
import xml.etree.ElementTree as ET

import pyarrow.parquet as pq

from corpus.cli import main

SPANISH_ARTICLE = Path(__file__).resolve().parents[1] / "corpus/sample/articles/es-1.txt"


def test_stats_tables_carry_the_numbers_of_stats_json(all_kinds_out, capsys):
    assert main(["stats", str(all_kinds_out)]) == 0
    printed = capsys.readouterr().out
    stats = json.loads((all_kinds_out / "stats.json").read_text())
    reasons = {k for rows in stats["funnel"].values() for r in rows for k in r["dropped"]}
    assert reasons and all(reason in printed for reason in reasons)
    for source, entry in stats["sources"].items():
        line = next(x for x in printed.splitlines() if x.startswith(source + " ") and f"{entry['docs']:,}" in x)
        assert f"{entry['tokens']:,}" in line and f"{entry['share_achieved']:.3f}" in line
        # a median length to one place, a whole one whole (254.5, 149)
        assert f"{entry['length']['tokens']['median']:,.1f}".removesuffix(".0") in line
    assert "removal rate" in printed and "largest clusters" in printed and "tokens/word" in printed
    assert "redirect" in printed   # records skipped while reading, by kind


def test_html_report_is_self_contained_with_plots_and_samples(all_kinds_out, tmp_path):
    target = tmp_path / "report.html"
    assert main(["report", str(all_kinds_out), "--html", str(target)]) == 0
    page = target.read_text(encoding="utf-8")
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) >= 6
    for svg in svgs:
        ET.fromstring(svg)   # each plot is well-formed SVG
    # Nothing to fetch: no scripts, style sheets, images or fonts from anywhere.
    assert not re.search(r"<(script|link|img|iframe)\b", page) and "url(" not in page
    stats = json.loads((all_kinds_out / "stats.json").read_text())
    reasons = {k for rows in stats["funnel"].values() for r in rows for k in r["dropped"]}
    for reason in reasons:
        assert f"<h4>{reason}: " in page   # a sampled reject for every reason that occurred
    assert "Share of output tokens: target vs achieved" in page
    assert "All sources: token-length histogram" in page and "Output tokens per language" in page
    assert ("Duplicate clusters by size" in page) == (stats["dedup"]["clusters"] > 0)
    assert main(["stats", str(all_kinds_out), "--html", str(tmp_path / "again.html")]) == 0
    assert (tmp_path / "again.html").read_text(encoding="utf-8") == page


def test_diff_shows_what_a_changed_run_changed(all_kinds_out, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(all_kinds_out, other)
    stats = json.loads((other / "stats.json").read_text())
    row = next(r for r in stats["funnel"]["web"] if r["stage"] == "quality")
    row["dropped"]["min_words"] = row["dropped"].get("min_words", 0) + 5
    row["docs_out"] -= 5
    (other / "stats.json").write_text(json.dumps(stats))
    assert main(["diff", str(all_kinds_out), str(other), "--json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    changed = {(r["source"], r["stage"], r["what"]): r["change"] for r in diff["funnel"]}
    assert changed == {("web", "quality", "min_words"): 5, ("web", "quality", "docs_out"): -5}
    assert main(["diff", str(all_kinds_out), str(all_kinds_out)]) == 0
    assert "no differences" in capsys.readouterr().out


def test_every_run_writes_a_data_card(all_kinds_out):
    card = (all_kinds_out / "DATACARD.md").read_text(encoding="utf-8")
    stats = json.loads((all_kinds_out / "stats.json").read_text())
    manifest = json.loads((all_kinds_out / "manifest.json").read_text())
    assert manifest["tokenizer"]["sha256"] in card
    for source, entry in stats["sources"].items():
        assert f"| {source} |" in card and f"{entry['tokens']:,}" in card
    assert "aeb-news-part1-94pages.warc.gz" in card and "max_duplicate_line_fraction 0.3" in card
    book = Path(__file__).resolve().parents[2] / "shared/data/books/en/pg11-Alice_in_Wonderland.txt"
    assert hashlib.sha256(book.read_bytes()).hexdigest() in card
    assert all(s["sha256"] in card for s in manifest["shards"])


def test_show_a_near_duplicate_names_its_survivor(all_kinds_out, capsys):
    stats = json.loads((all_kinds_out / "stats.json").read_text())
    reason = "max_duplicate_line_fraction"
    assert any(reason in r["dropped"] for rows in stats["funnel"].values() for r in rows)
    assert main(["show", str(all_kinds_out), "--rejects", reason, "--n", "1"]) == 0
    printed = capsys.readouterr().out
    assert re.search(rf"dropped at repetition: {reason} = 0\.\d+ \(threshold 0\.3\)", printed)


# Issue 12, point 11, on the bundled sample run.

def test_report_wraps_a_sample_with_no_break_opportunity(sample_out):
    from corpus.report import render_report

    page = render_report(sample_out)
    # The invalid_utf8 reject is one unbroken run of U+FFFD; `pre-wrap` alone would let it widen the page.
    assert re.search(r"<h4>invalid_utf8: [^<]+</h4><p>[^<]+</p><pre>\ufffd{100,}", page)
    css = re.search(r"<style>(.*?)</style>", page, flags=re.S).group(1)
    rules = dict(re.findall(r"([^{}]+)\{([^}]*)\}", css))
    assert any("pre" in [x.strip() for x in selector.split(",")] and "overflow-wrap:anywhere" in body
               for selector, body in rules.items())


def test_report_samples_each_kept_document_once(sample_out):
    from corpus.report import render_report

    written = pq.read_table(sample_out / "shards", columns=["id"]).column("id").to_pylist()
    units = {doc_id for doc_id in written if "@" not in doc_id}   # the sample's ids have no `@` of their own
    assert len(units) < len(written)   # the sample does repeat some units
    # Every source has fewer units than the 100 asked for, so each one shows, once.
    kept = re.findall(r"<h4>kept: ([^ ]+) ", render_report(sample_out, samples=100))
    assert sorted(kept) == sorted(units)


def test_report_shows_warnings_at_the_top_and_labels_tokens(sample_out, tmp_path):
    from corpus.report import render_report

    out = tmp_path / "out"
    shutil.copytree(sample_out, out)
    stats = json.loads((out / "stats.json").read_text())
    stats.pop("warnings", None)
    (out / "stats.json").write_text(json.dumps(stats))
    assert "<h2>Warnings</h2>" not in render_report(out)
    stats["warnings"] = ["tokenizer: 6,024 pieces <32,000 asked>"]
    stats["tokenizer"].update(trained=True, vocab_size=6024, requested_vocab_size=32000)
    (out / "stats.json").write_text(json.dumps(stats))
    page = render_report(out)
    assert "<li>tokenizer: 6,024 pieces &lt;32,000 asked&gt;</li>" in page
    assert page.index("<h2>Warnings</h2>") < page.index("<h2>What is left")
    tokenizer = page[page.index("<h2>Tokenizer</h2>"):page.index("<h2>Sampled documents</h2>")]
    assert "6,024 pieces (32,000 requested" in tokenizer and "before the mix" in tokenizer
    assert "<th>tokens before mix</th>" in tokenizer
    languages = page[page.index("<h2>Languages</h2>"):page.index("<h2>Duplicates</h2>")]
    assert "after the mix" in languages and "<th>tokens written</th>" in languages


def test_report_shows_language_id_drops_by_language(sample_out):
    from corpus.report import render_report

    page = render_report(sample_out)
    languages = page[page.index("<h2>Languages</h2>"):page.index("<h2>Duplicates</h2>")]
    drops = languages[languages.index("<h3>Language ID drops"):]
    # The bundled sample's one Spanish article, in sources that take en and ru: its bytes as written (clean text;
    # normalization only drops the final newline).
    es_bytes = len(SPANISH_ARTICLE.read_text(encoding="utf-8").rstrip("\n").encode("utf-8"))
    assert f"<tr><td>language_not_allowed</td><td>es</td><td>1</td><td>{es_bytes:,}</td></tr>" in drops


def test_the_report_shows_the_steps_of_the_run(sample_out):
    from corpus.report import render_report

    html = render_report(sample_out)
    steps = html[html.index("<h2>Steps</h2>"):]
    for step in ("ReadAndFilter", "Deduplicate", "TrainTokenizer", "Tokenize", "WriteShards", "WriteRejects"):
        assert f">{step}<" in steps
