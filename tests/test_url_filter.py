"""RefinedWeb's URL word filter (content.url_filter): each rule just inside and just outside its bound, the URL's
words as a reader of the address sees them, the per-language lists, and the stage that names what matched."""

from __future__ import annotations

import pytest

from corpus.config import Config, ContentConfig, SourceConfig
from corpus.document import Document, Rejection
from corpus.rules.content import url_words, url_words_verdict
from corpus.rules.languages import language_rules
from corpus.stages import STAGE_CONTENT, DocumentRules

EN = language_rules("en").url_words
RU = language_rules("ru").url_words


def drops(url: str, words=EN):
    verdict = url_words_verdict(url, words)
    return None if verdict.keep else (verdict.reason, verdict.detail)


def test_the_words_of_a_url_are_its_host_path_query_and_fragment_decoded():
    assert url_words("https://Shop.Example.com/Hot_Deals/xxl-shirts?q=blue%20tits#top") == [
        "shop", "example", "com", "hot", "deals", "xxl", "shirts", "q", "blue", "tits", "top"]
    # An IDN host and a percent-encoded Cyrillic path read as the words they spell.
    assert url_words("http://xn--80akhbyknj4f.xn--p1ai/%D0%BA%D0%BD%D0%B8%D0%B3%D0%B8") == ["испытание", "рф", "книги"]
    assert url_words("example.org/a-b") == ["example", "org", "a", "b"]      # no scheme
    assert url_words("http://[::1/broken") == ["1", "broken"]                # malformed: still its words


@pytest.mark.parametrize("url,expected", [
    ("https://example.com/xxx-videos", ("url_banned_word", "xxx")),
    ("https://example.com/xxxl-shirts", None),                     # a longer word is not the banned one
    ("https://porn.example.net/", ("url_banned_word", "porn")),    # in the host too
    ("https://example.com/pornography-law-reform", None),          # the word alone, not a prefix of another
])
def test_a_banned_word_drops_only_as_a_whole_word(url, expected):
    assert drops(url) == expected


@pytest.mark.parametrize("url,expected", [
    ("https://example.com/freepornsite", ("url_banned_subword", "freeporn")),
    ("https://example.com/free-porn-site", ("url_banned_word", "porn")),
    ("https://xvideosmirror.example/", ("url_banned_subword", "xvideos")),
    ("https://example.com/xvideo", None),                           # one letter short of the name
    ("https://example.com/pornstars/list", ("url_banned_subword", "pornstar")),
])
def test_a_banned_subword_drops_anywhere_in_the_words_run_together(url, expected):
    assert drops(url) == expected


def test_soft_words_drop_from_the_threshold_on_and_count_once_each():
    assert EN.soft_threshold == 2
    assert drops("https://example.org/sex-education") is None                  # one: innocent alone
    assert drops("https://example.org/sex/sex-ed/sex") is None                 # the same one thrice is still one
    assert drops("https://example.org/hot-sexy-girls") == ("url_soft_words", "girls, hot, sexy")
    assert drops("https://birds.example/blue-tits") is None
    assert drops("https://birds.example/blue-tits-nude") == ("url_soft_words", "nude, tits")
    verdict = url_words_verdict("https://example.org/casino-poker", EN)
    assert (verdict.value, verdict.threshold) == (2.0, 2.0)


def test_russian_lists_apply_to_russian_documents_in_cyrillic_and_transliterated():
    assert drops("https://site.example/%D0%BF%D0%BE%D1%80%D0%BD%D0%BE", RU) == ("url_banned_word", "порно")
    assert drops("https://site.example/порновидео", RU) == ("url_banned_subword", "порно")
    assert drops("https://site.example/seks-znakomstva", RU) == ("url_soft_words", "seks, znakomstva")
    assert drops("https://site.example/znakomstva", RU) is None
    # English documents do not take the Russian words; Russian ones keep the default (English) lists.
    assert drops("https://site.example/seks-znakomstva", EN) is None
    assert drops("https://site.example/xxx", RU) == ("url_banned_word", "xxx")


def rules(url_filter: bool) -> DocumentRules:
    config = Config(sources=(SourceConfig(name="web", kind="jsonl", paths=("x",)),),
                    content=ContentConfig(url_filter=url_filter))
    return DocumentRules(config)


def test_the_content_stage_drops_by_url_words_only_when_asked_and_names_them():
    doc = Document(id="web/a#0", source="web", text="Some text.", url="https://example.com/hot-nude-cams", lang="en")
    assert rules(False).content(doc) == doc
    rejected = rules(True).content(doc)
    assert isinstance(rejected, Rejection)
    assert (rejected.stage, rejected.reason, rejected.detail) == (STAGE_CONTENT, "url_soft_words", "cams, hot, nude")
    assert (rejected.value, rejected.threshold) == (3.0, 2.0)
    clean = Document(id="web/b#0", source="web", text="Some text.", url="https://example.com/news/2024", lang="en")
    assert rules(True).content(clean) == clean
