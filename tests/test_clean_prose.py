"""Clean prose passes language ID + Gopher quality + repetition with web rules on (no Beam: the same functions)."""

from __future__ import annotations

import json

import pytest

from corpus.config import config_from_dict
from corpus.document import Document
from corpus.rules.langid import LanguageIdentifier, resolve_model_path
from corpus.stages import DocumentRules
from corpus.text.words import words


@pytest.fixture(scope="module")
def rules():
    config = config_from_dict({"sources": [{"name": "web", "kind": "text", "paths": ["unused"],
                                            "languages": ["en", "ru"], "quality_filter": True,
                                            "repetition_filter": True}]}, check_paths=False)
    return DocumentRules(config, LanguageIdentifier(resolve_model_path(None)))


def verdict(rules, text):
    doc = Document(id="d", source="web", text=text)
    for stage in (rules.normalize, rules.identify_language, rules.quality, rules.repetition):
        doc = stage(doc)
        if not isinstance(doc, Document):
            return doc
    return doc


def test_all_russian_wikipedia_articles_pass(shared, rules):
    articles = json.loads((shared / "wikipedia/text/cyrillic-wiki-plaintext-10langs.json").read_text())["ru"]
    assert len(articles) == 9
    results = [verdict(rules, a) for a in articles]
    assert all(isinstance(r, Document) and r.lang == "ru" for r in results), results


def test_english_wikipedia_articles_with_50_words_pass(shared, rules):
    articles = json.loads((shared / "wikipedia/text/cyrillic-wiki-plaintext-10langs.json").read_text())["en"]
    long_enough = [a for a in articles if len(words(a)) >= 50]
    assert len(long_enough) == 7
    kept = [a for a in long_enough if isinstance(verdict(rules, a), Document)]
    assert len(kept) >= 6


def test_cs336_high_quality_reference_is_kept(shared, rules):
    text = (shared / "eval/quality/cs336-fixtures/high_quality_wiki_reference.txt").read_text()
    assert isinstance(verdict(rules, text), Document)


def test_short_wikipedia_stub_dropped_for_too_few_words(shared, rules):
    articles = json.loads((shared / "wikipedia/text/cyrillic-wiki-plaintext-10langs.json").read_text())["en"]
    stub = min(articles, key=lambda a: len(words(a)))
    result = verdict(rules, stub)
    assert result.stage == "quality" and result.reason == "min_words" and result.value < 50


def test_cs336_low_quality_page_dropped_for_boilerplate(shared, rules):
    """The forum index passes every Gopher bound; its log-in, copyright and "powered by" lines do not."""
    text = (shared / "eval/quality/cs336-fixtures/low_quality_cc.txt").read_text()
    result = verdict(rules, text)
    assert not isinstance(result, Document)
    assert result.stage == "quality" and result.reason == "max_boilerplate_word_fraction"
    assert result.value > 0.05
