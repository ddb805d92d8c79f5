"""PII masking (stage 6c): a planted set of emails, IP addresses, phones and card numbers in English and Russian
sentences, next to look-alikes that must stay (versions, dates, ISBNs, coordinates, prices, times, file names)."""

from __future__ import annotations

import pytest

from corpus.config import Config, PiiConfig, SourceConfig
from corpus.document import Document
from corpus.rules.pii import DEFAULT_PLACEHOLDERS, find_pii, luhn_valid, mask_pii
from corpus.stages import DocumentRules

PLANTED = {
    "email": ["john.doe@example.com", "a_b-c+tag@mail.co.uk", "Ivan.Petrov@yandex.ru", "иван@почта.рф",
              "support@sub.domain-name.org", "x@y.io"],
    "ip": ["192.168.1.20", "8.8.8.8", "10.0.0.254", "255.255.255.0", "2001:db8::8a2e:370:7334", "fe80::1",
           "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "::ffff:192.0.2.1"],
    "phone": ["+7 (912) 345-67-89", "8 800 555-35-35", "+7 912 345 67 89", "89123456789", "+79123456789",
              "8 (495) 123-45-67", "8-912-345-67-89", "+44 20 7946 0958", "+1 (212) 555-0187", "(212) 555-0187",
              "212-555-0187", "+49 30 1234567", "+33 1 42 68 53 00"],
    "card": ["4111 1111 1111 1111", "4111-1111-1111-1111", "5500000000000004", "3782 822463 10005",
             "2200 0000 0000 0004", "6011 0009 9013 9424"],
}
LOOK_ALIKES = ["version 1.2.3.4", "v10.0.0.1", "section 1.2.3.4.5", "999.1.1.1", "ISBN 978-5-17-090630-9",
               "ISBN-13: 9780306406157", "2024-01-15", "15.01.2024", "55.7558, 37.6173", "$1,234,567.89",
               "1 234 567 руб.", "12:30:45", "2024-01-15T10:30:00", "std::vector", "icon@2x.png", "@username",
               "4111 1111 1111 1112", "1234 5678 9012 3456", "00:1A:2B:3C:4D:5E", "версия 2.6.32.1",
               "+1.5%", "12 345 678", "№ 1234567890"]
SENTENCES = {"en": "Please write to {} if anything changes.", "ru": "Если что-то изменится, пишите: {} — спасибо."}


def planted_texts():
    for lang, frame in SENTENCES.items():
        for kind, items in PLANTED.items():
            for item in items:
                yield lang, kind, item, frame.format(item)


def test_planted_personal_data_is_masked_with_recall_at_least_098():
    found = missed = 0
    misses = []
    for lang, kind, item, text in planted_texts():
        masked = mask_pii(text)
        if item not in masked.text and DEFAULT_PLACEHOLDERS[kind] in masked.text and masked.counts == {kind: 1}:
            found += 1
        else:
            missed += 1
            misses.append((lang, kind, item, masked.text))
    assert found / (found + missed) >= 0.98, misses


@pytest.mark.parametrize("lang", sorted(SENTENCES))
@pytest.mark.parametrize("look_alike", LOOK_ALIKES)
def test_no_look_alike_is_masked(lang, look_alike):
    text = SENTENCES[lang].format(look_alike)
    assert find_pii(text) == [], mask_pii(text).text


def test_a_text_with_both_keeps_the_look_alike_and_masks_the_rest():
    text = ("Release 2.4 (version 1.2.3.4, 2024-01-15) by Anna, anna@example.com, tel. +7 (912) 345-67-89, "
            "server 192.168.0.10; ISBN 978-5-17-090630-9; card 4111 1111 1111 1111.")
    masked = mask_pii(text)
    assert masked.text == ("Release 2.4 (version 1.2.3.4, 2024-01-15) by Anna, <EMAIL>, tel. <PHONE>, server <IP>; "
                           "ISBN 978-5-17-090630-9; card <CARD>.")
    assert masked.counts == {"email": 1, "phone": 1, "ip": 1, "card": 1}


def test_an_address_inside_an_email_or_a_url_is_masked_once():
    assert mask_pii("mail root@192.168.0.1.example.com now").text == "mail <EMAIL> now"
    assert mask_pii("open http://10.1.2.3:8080/admin").text == "open http://<IP>:8080/admin"


def test_luhn():
    assert luhn_valid("4111111111111111") and luhn_valid("378282246310005") and luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112") and not luhn_valid("79927398710")


def test_the_stage_masks_with_the_configured_placeholders_and_counts_each_kind():
    config = Config(sources=(SourceConfig(name="web", kind="jsonl", paths=("x",)),),
                    pii=PiiConfig(enabled=True, placeholders={**DEFAULT_PLACEHOLDERS, "email": "[email]"}))
    doc = Document(id="web/a#0", source="web", text="Mail a@b.com or c@d.org, call 8 800 555-35-35.", lang="en")
    masked, counts = DocumentRules(config).mask_pii(doc)
    assert masked.text == "Mail [email] or [email], call <PHONE>."
    assert dict(counts) == {"email": 2, "phone": 1}
    assert masked.n_bytes == len(masked.text.encode())          # what the funnel counts from here on
    clean = Document(id="web/b#0", source="web", text="Nothing personal here, 2024-01-15.", lang="en")
    assert DocumentRules(config).mask_pii(clean) == (clean, {})


def test_a_run_dedups_and_writes_the_masked_text_and_counts_it(tmp_path):
    """Two posts that differ only in the author's address are one text once masked: exact dedup keeps one."""
    import json

    import pyarrow.parquet as pq

    from corpus.config import config_from_dict
    from pipelines.run import run_corpus

    body = ("The committee met on Tuesday to discuss the river restoration plan, the budget for the coming year and "
            "the schedule of public hearings in the city hall. ") * 6
    rows = [{"text": f"Questions go to {who}. {body}"} for who in ("anna@example.com", "boris@example.org")]
    rows.append({"text": "Call the office on +44 20 7946 0958 for tickets. " + body.replace("committee", "club")})
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    def run(pii: bool):
        config = config_from_dict({
            "sources": [{"name": "web", "kind": "jsonl", "paths": ["d.jsonl"], "languages": ["en"],
                         "quality_filter": False, "repetition_filter": False}],
            "pii": {"enabled": pii}, "tokenizer": {"vocab_size": 400}}, base_dir=str(tmp_path))
        out = tmp_path / f"out-{pii}"
        run_corpus(config, str(out))
        stats = json.loads((out / "stats.json").read_text())
        texts = sorted(t for f in sorted((out / "shards").glob("*.parquet")) for t in pq.read_table(f)["text"].to_pylist())
        return stats, texts

    stats, texts = run(True)
    assert stats["pii"] == {"email": {"masked": 2, "docs": 2}, "phone": {"masked": 1, "docs": 1},
                            "ip": {"masked": 0, "docs": 0}, "card": {"masked": 0, "docs": 0}}
    assert stats["dedup"]["exact_removed"] == 1
    assert [t[:27] for t in texts] == ["Call the office on <PHONE> ", "Questions go to <EMAIL>. Th"]
    stats, texts = run(False)
    assert "pii" not in stats and stats["dedup"]["exact_removed"] == 0 and len(texts) == 3


def test_corpus_stats_shows_the_masked_counts_only_when_masking_ran():
    from corpus.inspect import render_stats
    from corpus.stages import FUNNEL_STAGES
    from corpus.stats import build_stats

    counts = {("pii", "email", "", ""): (7, 5), ("pii", "phone", "", ""): (1, 1)}
    stats = build_stats(counts, ["web"], FUNNEL_STAGES, None, pii=True)
    assert stats["pii"]["email"] == {"masked": 7, "docs": 5} and stats["pii"]["card"] == {"masked": 0, "docs": 0}
    shown = render_stats(stats)
    assert "personal data masked" in shown
    assert any(line.split()[:3] == ["email", "7", "5"] for line in shown.splitlines())
    assert "personal data masked" not in render_stats(build_stats(counts, ["web"], FUNNEL_STAGES, None))
