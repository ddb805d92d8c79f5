"""Language ID on long documents: a bounded, evenly spread sample of whole words decides like the whole text."""

from __future__ import annotations

import pytest

from corpus.config import LangIdConfig
from corpus.document import Document
from corpus.rules.langid import LanguageIdentifier, resolve_model_path, sample_windows
from corpus.rules.languages import confusable_groups
from corpus.sources import ReadContext, reader_for


def test_sample_windows_are_whole_words_from_beginning_to_end():
    text = " ".join(f"w{i}" for i in range(50_000))
    sample = sample_windows(text, 5_000)
    words = sample.split(" ")
    assert 4_000 <= len(sample) <= 5_000
    assert all(w.startswith("w") and w[1:].isdigit() for w in words)   # no word cut in half
    numbers = [int(w[1:]) for w in words]
    assert numbers[0] == 0 and numbers[-1] == 49_999                   # both ends are seen
    assert numbers == sorted(numbers)
    middle = [n for n in numbers if 20_000 <= n < 30_000]
    assert middle                                                       # and the middle


def test_a_foreign_preface_does_not_decide_a_long_book():
    preface = "This edition was prepared by the translator with notes on the history of the text. " * 150
    body = "Он вышел из дома рано утром и долго шёл по пустой улице, думая о вчерашнем разговоре. " * 3000
    identifier = LanguageIdentifier(resolve_model_path(None), sample_chars=20_000)
    assert identifier.predict(preface + body).lang == "ru"
    assert identifier.predict(preface).lang == "en"


DEFAULT_SAMPLE = LangIdConfig().sample_chars


def test_text_without_spaces_is_sampled_at_the_character_not_lost():
    """Chinese, Japanese and Thai paragraphs longer than a window hold no space to trim to: the windows are cut at
    the character and decide as the whole text does."""
    whole = LanguageIdentifier(resolve_model_path(None))
    sampled = LanguageIdentifier(resolve_model_path(None), sample_chars=3_000)
    sentences = {"ja": "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。",
                 "zh": "北京是中华人民共和国的首都，也是全国的政治中心和文化中心。",
                 "th": "ประเทศไทยเป็นประเทศในภูมิภาคเอเชียตะวันออกเฉียงใต้มีกรุงเทพมหานครเป็นเมืองหลวง"}
    for lang, sentence in sentences.items():
        text = "\n\n".join([(sentence * 30)[:480]] * 30)          # 30 paragraphs of 480 characters, no space
        assert len(sample_windows(" ".join(text.split()), 3_000)) >= 2_900
        assert whole.predict(text).lang == sampled.predict(text).lang == lang
        assert sampled.predict(text).score > 0.9


def test_sampled_and_whole_text_agree_on_shared_books(shared):
    whole = LanguageIdentifier(resolve_model_path(None))
    sampled = LanguageIdentifier(resolve_model_path(None), sample_chars=DEFAULT_SAMPLE)
    books = sorted((shared / "books").glob("*/*.txt"))
    assert books
    for path in books:
        with path.open("rb") as f:
            doc = next(iter(reader_for("books")(f, ReadContext(source="b", path=str(path), rel=path.name))))
        assert len(doc.text) > 10 * DEFAULT_SAMPLE      # all ten windows are far apart
        a, b = whole.predict(doc.text), sampled.predict(doc.text)
        assert a.lang == b.lang == path.parent.name
        assert b.score == pytest.approx(a.score, abs=0.01)


def test_sampled_and_whole_text_decide_alike_on_shared_web_pages(shared):
    """Every page of the shared WARCs longer than the sample: the same keep/drop at the default threshold, and
    the same language wherever the score reaches the lowest shipped threshold (0.3)."""
    whole = LanguageIdentifier(resolve_model_path(None), groups=confusable_groups())
    sampled = LanguageIdentifier(resolve_model_path(None), sample_chars=DEFAULT_SAMPLE, groups=confusable_groups())
    threshold = LangIdConfig().min_lang_score
    long_pages = 0
    for path in sorted((shared / "cc/warc").glob("*.warc.gz")):
        with path.open("rb") as f:
            items = reader_for("warc")(f, ReadContext(source="w", path=str(path), rel=path.name))
            for doc in (i for i in items if isinstance(i, Document)):
                if len(" ".join(doc.text.split())) <= DEFAULT_SAMPLE:
                    continue
                long_pages += 1
                a, b = whole.predict(doc.text), sampled.predict(doc.text)
                assert (a.score >= threshold) == (b.score >= threshold), (path.name, doc.id, a, b)
                if max(a.score, b.score) >= 0.3:
                    assert a.lang == b.lang, (path.name, doc.id, a, b)
    assert long_pages >= 50          # 67 of the shared pages are longer than the sample


# ---------------------------------------------------------------- issue 15: groups and per-language thresholds

CROATIAN = ("Vlada je danas objavila nove mjere za pomoć gospodarstvu. Mnogi građani su zabrinuti zbog visokih "
            "cijena hrane. Škola je zatvorena zbog oluje. Nogometna reprezentancija pobijedila je u utakmici. "
            "Sinoć je jako padala kiša.")
SWAHILI = ("Serikali ya Tanzania imetangaza mpango mpya wa kuboresha huduma za afya katika vijiji vya mkoa wa "
           "Dodoma. Waziri wa afya alisema kwamba hospitali kumi zitajengwa mwaka ujao. Wananchi wengi "
           "wamefurahishwa na habari hizi. Hata hivyo, baadhi ya wataalamu wanasema fedha hazitoshi. Mvua kubwa "
           "zilinyesha wiki iliyopita na kuharibu barabara nyingi. Watoto walishindwa kwenda shule kwa siku tatu.")


class _Model:
    """A stand-in for fastText's model: fixed (probability, label) pairs, best first."""

    def __init__(self, pairs):
        self.f = self
        self.pairs = [(p, f"__label__{label}") for label, p in pairs]

    def predict(self, text, k, threshold, on_unicode_error):
        return self.pairs[:k]


def _identifier(pairs, groups):
    identifier = LanguageIdentifier.__new__(LanguageIdentifier)
    identifier.sample_chars = None
    identifier.groups = {f"__label__{label}": frozenset(f"__label__{m}" for m in members)
                         for label, members in groups.items()}
    identifier._model = _Model(pairs)
    return identifier


def test_a_confusable_group_adds_up_and_keeps_the_top_label():

    split = [("hr", 0.44), ("sr", 0.24), ("sh", 0.21), ("bs", 0.05), ("sl", 0.03)]
    pred = _identifier(split, confusable_groups()).predict("tekst")
    assert pred.lang == "hr" and pred.score == pytest.approx(0.94)     # sl is not of the group
    assert _identifier(split, {}).predict("tekst").score == pytest.approx(0.44)
    alone = _identifier([("sl", 0.57), ("sr", 0.11), ("hr", 0.11)], confusable_groups()).predict("besedilo")
    assert alone.lang == "sl" and alone.score == pytest.approx(0.57)   # a label without a group: its own


def test_the_shipped_groups_are_of_lid176_labels_and_leave_cyrillic_languages_apart():
    from corpus.config import LID176_CODES

    groups = confusable_groups()
    assert set(groups) <= LID176_CODES
    assert groups["hr"] == {"hr", "sr", "bs", "sh"} and groups["id"] == {"ms", "id"} and groups["nn"] == {"no", "nn"}
    assert not {"ru", "uk", "be", "bg", "mk", "sl"} & set(groups)


def test_croatian_text_split_across_its_group_is_kept_as_croatian():
    from corpus.rules.languages import language_rules

    model = resolve_model_path(None)
    grouped = LanguageIdentifier(model, groups=confusable_groups()).predict(CROATIAN)
    alone = LanguageIdentifier(model).predict(CROATIAN)
    assert grouped.lang == alone.lang == "hr"
    assert grouped.score >= language_rules("hr").min_lang_score > alone.score


def test_languages_lid176_is_less_sure_of_have_their_own_threshold():
    from corpus.rules.languages import lid_threshold, language_rules

    assert lid_threshold("en") is None and lid_threshold("ru") is None     # the SPEC's 0.65 applies
    assert language_rules("en", None, 0.65).min_lang_score == 0.65
    assert language_rules("sw", None, 0.65).min_lang_score == 0.3
    assert language_rules("sw", None, 0.65, per_language_thresholds=False).min_lang_score == 0.65
    assert language_rules("sw", None, 0.0).min_lang_score == 0.0     # `corpus tokenize`: no threshold at all


def test_every_shipped_threshold_is_of_an_lid176_label():
    import yaml

    from corpus.config import LID176_CODES
    from corpus.rules.languages import _HERE

    table = yaml.safe_load((_HERE / "lid176.yaml").read_text(encoding="utf-8"))["min_lang_score"]
    assert len(table) > 100 and all(isinstance(k, str) and k in LID176_CODES for k in table)
    assert all(0 < v < 0.65 for v in table.values())


def test_a_configured_language_threshold_beats_the_shipped_one():
    from corpus.config import config_from_dict
    from corpus.stages import DocumentRules

    config = config_from_dict({"sources": [{"name": "s", "kind": "jsonl", "paths": ["gs://b/d.jsonl"]}],
                               "languages": {"sw": {"min_lang_score": 0.5}}})
    assert DocumentRules(config).rules_for("sw").min_lang_score == 0.5
    assert DocumentRules(config).rules_for("la").min_lang_score == 0.3


@pytest.mark.parametrize("options, kept", [({}, True), ({"per_language_thresholds": False}, False)])
def test_correct_swahili_passes_its_threshold_and_not_the_default_one(options, kept):
    from corpus.config import config_from_dict
    from corpus.document import Document, Rejection
    from corpus.stages import DocumentRules

    config = config_from_dict({"sources": [{"name": "s", "kind": "jsonl", "paths": ["gs://b/d.jsonl"]}], "langid": options})
    rules = DocumentRules(config, LanguageIdentifier(resolve_model_path(None), groups=confusable_groups()))
    result = rules.identify_language(Document(id="s/a#0", source="s", text=SWAHILI))
    assert isinstance(result, Document) is kept
    if not kept:
        assert isinstance(result, Rejection) and result.reason == "min_lang_score" and result.lang == "sw"
        assert result.threshold == 0.65 and 0.3 < result.value < 0.65


def test_language_id_drops_are_counted_by_top_language(prepared_unit):
    from corpus.sample.generate import EN
    from corpus.stats import build_stats, merge_counts

    menu = "Click here login menu home contact Kontakt Startseite Accueil Inicio"   # de at about 0.54
    texts = [" ".join(EN[:3]), SWAHILI, menu, CROATIAN]
    prepare, element = prepared_unit(texts, languages=("en", "sw", "de"))
    summary, = prepare.process(element)
    counts = dict(summary.counts)
    assert counts[("langid", "language_not_allowed", "hr", "")] == (1, len(CROATIAN.encode()))
    below = {k[2]: v for k, v in counts.items() if k[:2] == ("langid", "min_lang_score")}
    assert below == {"de": (1, len(menu.encode()))}           # and not Swahili, at its own threshold
    stats = build_stats(merge_counts(counts.items()), ["s"], ("read", "normalize", "langid"), None)
    assert stats["langid_dropped"]["language_not_allowed"] == {"hr": {"docs": 1, "bytes": len(CROATIAN.encode())}}
    assert stats["langid_dropped"]["min_lang_score"] == {"de": {"docs": 1, "bytes": len(menu.encode())}}
