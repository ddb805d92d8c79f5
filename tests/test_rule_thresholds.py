"""Every Gopher quality and repetition rule at its threshold: just inside keeps, just outside drops (en and ru).

Each test isolates one rule (all other bounds relaxed) so the text can be built to sit exactly on its threshold;
the expected signal values are computed by hand from how each text is built.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from corpus.rules.languages import language_rules
from corpus.rules.quality import quality_signals, quality_verdict
from corpus.rules.repetition import repetition_signals, repetition_verdict

ALPHABET = {"en": "bcdfghjklmnpqrstvwxz", "ru": "бвгджзклмнпрстфхцчшщ"}   # consonants: no accidental stop words
LANGS = ["en", "ru"]


def synthetic_words(lang: str, count: int, length: int, prefix: str = "") -> list[str]:
    """`count` distinct words of exactly `length` letters."""
    alphabet = ALPHABET[lang]
    out = []
    for i in range(count):
        digits, n = [], i
        for _ in range(length - len(prefix)):
            digits.append(alphabet[n % len(alphabet)])
            n //= len(alphabet)
        out.append(prefix + "".join(reversed(digits)))
    assert len(set(out)) == count
    return out


def isolated(lang: str, key: str, value: float | None = None):
    """The language's rules with only `key` active (at its shipped value unless `value` is given)."""
    base = language_rules(lang)
    relax = lambda k: -math.inf if k.startswith("min_") else math.inf  # noqa: E731
    quality = {k: relax(k) for k in base.quality}
    repetition = {k: relax(k) for k in base.repetition}
    target = quality if key in base.quality else repetition
    target[key] = base.quality.get(key, base.repetition.get(key)) if value is None else value
    return dataclasses.replace(base, quality=quality, repetition=repetition)


def quality_of(text: str, lang: str, key: str):
    rules = isolated(lang, key)
    signals = quality_signals(text, rules)
    return signals, quality_verdict(signals, rules)


def repetition_of(text: str, lang: str, key: str):
    rules = isolated(lang, key)
    signals = repetition_signals(text)
    return signals, repetition_verdict(signals, rules)


def assert_keeps(verdict):
    assert verdict.keep, verdict


def assert_drops(verdict, key):
    assert not verdict.keep and verdict.reason == key, verdict


# ------------------------------------------------------------------ quality (Gopher appendix A.1.1)

@pytest.mark.parametrize("lang", LANGS)
def test_min_words(lang):
    signals, verdict = quality_of(" ".join(synthetic_words(lang, 50, 5)), lang, "min_words")
    assert signals["word_count"] == 50
    assert_keeps(verdict)
    signals, verdict = quality_of(" ".join(synthetic_words(lang, 49, 5)), lang, "min_words")
    assert_drops(verdict, "min_words")
    assert verdict.value == 49 and verdict.threshold == 50


@pytest.mark.parametrize("lang", LANGS)
def test_max_words(lang):
    many = synthetic_words(lang, 100_001, 5)
    assert_keeps(quality_of(" ".join(many[:100_000]), lang, "max_words")[1])
    assert_drops(quality_of(" ".join(many), lang, "max_words")[1], "max_words")


@pytest.mark.parametrize("lang", LANGS)
def test_min_mean_word_length(lang):
    words3 = synthetic_words(lang, 50, 3)
    signals, verdict = quality_of(" ".join(words3), lang, "min_mean_word_length")
    assert signals["mean_word_length"] == 3.0
    assert_keeps(verdict)
    shorter = words3[:49] + [ALPHABET[lang][:2]]   # mean (49*3 + 2) / 50 = 2.98
    signals, verdict = quality_of(" ".join(shorter), lang, "min_mean_word_length")
    assert signals["mean_word_length"] == pytest.approx(2.98)
    assert_drops(verdict, "min_mean_word_length")


@pytest.mark.parametrize("lang,limit", [("en", 10), ("ru", 11)])
def test_max_mean_word_length(lang, limit):
    at_limit = synthetic_words(lang, 50, limit)
    signals, verdict = quality_of(" ".join(at_limit), lang, "max_mean_word_length")
    assert signals["mean_word_length"] == limit
    assert_keeps(verdict)
    longer = at_limit[:49] + [synthetic_words(lang, 1, limit + 1)[0]]
    assert_drops(quality_of(" ".join(longer), lang, "max_mean_word_length")[1], "max_mean_word_length")


@pytest.mark.parametrize("lang", LANGS)
def test_max_hash_word_ratio(lang):
    ws = synthetic_words(lang, 50, 5)
    five = " ".join(ws[:25]) + " # # # # # " + " ".join(ws[25:])
    signals, verdict = quality_of(five, lang, "max_hash_word_ratio")
    assert signals["hash_word_ratio"] == 0.1
    assert_keeps(verdict)
    assert_drops(quality_of(five + " #", lang, "max_hash_word_ratio")[1], "max_hash_word_ratio")


@pytest.mark.parametrize("lang", LANGS)
def test_max_ellipsis_word_ratio(lang):
    ws = synthetic_words(lang, 50, 5)
    five = " ... ".join(ws[:6]) + " " + " ".join(ws[6:])   # 5 ellipses inside one line
    signals, verdict = quality_of(five, lang, "max_ellipsis_word_ratio")
    assert signals["ellipsis_word_ratio"] == 0.1
    assert_keeps(verdict)
    six = five.replace(ws[10], ws[10] + " …", 1)
    assert_drops(quality_of(six, lang, "max_ellipsis_word_ratio")[1], "max_ellipsis_word_ratio")


@pytest.mark.parametrize("lang", LANGS)
def test_max_bullet_line_fraction(lang):
    ws = synthetic_words(lang, 60, 5)
    rows = [" ".join(ws[i * 6:(i + 1) * 6]) for i in range(10)]
    nine = "\n".join(["• " + r for r in rows[:9]] + [rows[9]])
    signals, verdict = quality_of(nine, lang, "max_bullet_line_fraction")
    assert signals["bullet_line_fraction"] == 0.9
    assert_keeps(verdict)
    ten = "\n".join("▪ " + r for r in rows)
    assert_drops(quality_of(ten, lang, "max_bullet_line_fraction")[1], "max_bullet_line_fraction")


@pytest.mark.parametrize("lang", LANGS)
def test_max_ellipsis_line_fraction(lang):
    ws = synthetic_words(lang, 60, 5)
    rows = [" ".join(ws[i * 6:(i + 1) * 6]) for i in range(10)]
    three = "\n".join([r + "…" for r in rows[:3]] + rows[3:])
    signals, verdict = quality_of(three, lang, "max_ellipsis_line_fraction")
    assert signals["ellipsis_line_fraction"] == pytest.approx(0.3)
    assert_keeps(verdict)
    four = "\n".join([r + "..." for r in rows[:4]] + rows[4:])
    assert_drops(quality_of(four, lang, "max_ellipsis_line_fraction")[1], "max_ellipsis_line_fraction")


def test_min_alpha_word_fraction_en():
    ws = synthetic_words("en", 50, 5)
    numbers = [str(1000 + i) for i in range(11)]
    inside = " ".join(ws[:40] + numbers[:10])           # 40 / 50 = 0.8
    signals, verdict = quality_of(inside, "en", "min_alpha_word_fraction")
    assert signals["alpha_word_fraction"] == 0.8
    assert_keeps(verdict)
    outside = " ".join(ws[:39] + numbers)               # 39 / 50 = 0.78
    assert_drops(quality_of(outside, "en", "min_alpha_word_fraction")[1], "min_alpha_word_fraction")


def test_min_alpha_word_fraction_ru():
    ws = synthetic_words("ru", 1000, 5)
    numbers = [str(10_000 + i) for i in range(288)]
    inside = " ".join(ws[:713] + numbers[:287])          # 713 / 1000 = 0.713
    signals, verdict = quality_of(inside, "ru", "min_alpha_word_fraction")
    assert signals["alpha_word_fraction"] == 0.713
    assert_keeps(verdict)
    outside = " ".join(ws[:712] + numbers)               # 0.712
    assert_drops(quality_of(outside, "ru", "min_alpha_word_fraction")[1], "min_alpha_word_fraction")


@pytest.mark.parametrize("lang,two,one", [("en", "The cat AND", "the cat the"),
                                          ("ru", "И кот В", "и кот и")])
def test_min_stop_words(lang, two, one):
    filler = " ".join(synthetic_words(lang, 50, 5))
    signals, verdict = quality_of(f"{two} {filler}", lang, "min_stop_words")
    assert signals["stop_word_count"] == 2
    assert_keeps(verdict)
    signals, verdict = quality_of(f"{one} {filler}", lang, "min_stop_words")
    assert signals["stop_word_count"] == 1
    assert_drops(verdict, "min_stop_words")


# RefinedWeb's line-wise filter (not Gopher): words on boilerplate lines <= 5% of the document's words.
@pytest.mark.parametrize("lang,footer", [("en", "Copyright Foo Inc. All rights reserved."),     # 6 words
                                         ("ru", "Все права защищены © 2018 ООО Ромашка")])          # 6 words
def test_max_boilerplate_word_fraction(lang, footer):
    body = synthetic_words(lang, 114, 5)
    rows = [" ".join(body[i:i + 6]) for i in range(0, 114, 6)]            # 19 lines of 6 words
    inside = "\n".join(rows + [footer])                                     # 6 / 120 = 0.05
    signals, verdict = quality_of(inside, lang, "max_boilerplate_word_fraction")
    assert signals["boilerplate_word_fraction"] == 0.05
    assert_keeps(verdict)
    outside = "\n".join(rows[:-1] + [" ".join(body[108:113]), footer])      # 6 / 119
    signals, verdict = quality_of(outside, lang, "max_boilerplate_word_fraction")
    assert signals["boilerplate_word_fraction"] == pytest.approx(6 / 119)
    assert_drops(verdict, "max_boilerplate_word_fraction")


@pytest.mark.parametrize("line,flagged", [
    ("Powered by phpBB © 2001, 2002 phpBB Group", True),
    ("Log in to check your private messages", True),
    ("Read more »", True),
    ("12 comments", True),
    ("30.06.2021", True),
    ("Читать далее →", True),
    ("Главная › Новости › Спорт", True),
    ("Registering a company takes a week.", False),        # "register" only as the whole first word
    ("She baked cookies for the whole class.", False),
    ("Copyright law protects the expression of ideas, not the ideas themselves, as courts held.", False),  # 14 w
    ("The ceremony took place in 2019.", False),
])
def test_boilerplate_lines(line, flagged):
    from corpus.rules.boilerplate import boilerplate_line_words
    lang = "ru" if any("а" <= c <= "я" for c in line.lower()) else "en"
    assert (boilerplate_line_words(line, language_rules(lang).boilerplate) > 0) is flagged


def test_language_without_stop_words_skips_only_that_rule():
    rules = language_rules("xx")
    signals = quality_signals(" ".join(synthetic_words("en", 60, 5)), rules)
    assert "stop_word_count" not in signals
    assert quality_verdict(signals, rules).keep


# ------------------------------------------------------------------ repetition (Gopher Table A1)

def one_line_with_repeats(lang: str, n: int, k: int, total_words: int) -> str:
    """A line of `total_words` 6-letter words where one n-gram occurs k times, each time after a unique word
    (so no longer n-gram repeats): the repeated n-gram covers n*k/total_words of all word characters."""
    pattern = synthetic_words(lang, n, 6, prefix=ALPHABET[lang][0] * 2)
    filler = iter(synthetic_words(lang, total_words, 6, prefix=ALPHABET[lang][1] * 2))
    seq: list[str] = []
    for _ in range(k):
        seq += [next(filler), *pattern]
    seq += [next(filler) for _ in range(total_words - len(seq))]
    assert len(seq) == total_words
    return " ".join(seq)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("n,k,total", [(2, 10, 100), (3, 6, 100), (4, 4, 100)])
def test_top_ngram_char_fraction(lang, n, k, total):
    key = f"max_top_{n}gram_char_fraction"
    threshold = language_rules(lang).repetition[key]
    signals, verdict = repetition_of(one_line_with_repeats(lang, n, k, total), lang, key)
    assert signals[f"top_{n}gram_char_fraction"] == pytest.approx(n * k / total) == pytest.approx(threshold)
    assert_keeps(verdict)
    signals, verdict = repetition_of(one_line_with_repeats(lang, n, k, total - 1), lang, key)
    assert signals[f"top_{n}gram_char_fraction"] == pytest.approx(n * k / (total - 1))
    assert_drops(verdict, key)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("n,k,total", [(5, 3, 100), (6, 7, 300), (7, 13, 700), (8, 3, 200), (9, 11, 900),
                                       (10, 2, 200)])
def test_duplicate_ngram_char_fraction(lang, n, k, total):
    key = f"max_duplicate_{n}gram_char_fraction"
    threshold = language_rules(lang).repetition[key]
    signals, verdict = repetition_of(one_line_with_repeats(lang, n, k, total), lang, key)
    assert signals[f"duplicate_{n}gram_char_fraction"] == pytest.approx(n * k / total) == pytest.approx(threshold)
    assert_keeps(verdict)
    signals, verdict = repetition_of(one_line_with_repeats(lang, n, k, total - 1), lang, key)
    assert_drops(verdict, key)


def test_top_ngram_is_zero_when_nothing_repeats():
    signals = repetition_signals(" ".join(synthetic_words("en", 80, 6)))
    assert signals["top_2gram_char_fraction"] == 0.0
    assert signals["duplicate_5gram_char_fraction"] == 0.0


def test_overlapping_duplicate_ngrams_count_each_word_once():
    # "a b c d e f" twice: the repeated 5-grams overlap; 12 words, all covered once -> fraction 1.0, not more.
    text = "alpha bravo charl delta echoo foxtr alpha bravo charl delta echoo foxtr"
    assert repetition_signals(text)["duplicate_5gram_char_fraction"] == 1.0


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("sep,kind", [("\n", "line"), ("\n\n", "paragraph")])
def test_duplicate_item_fraction(lang, sep, kind):
    key = f"max_duplicate_{kind}_fraction"
    unique = synthetic_words(lang, 10, 6)
    same = synthetic_words(lang, 1, 6, prefix=ALPHABET[lang][2] * 2)[0]
    inside = sep.join(unique[:6] + [same] * 4)       # 3 repeats of 10 items = 0.3
    signals, verdict = repetition_of(inside, lang, key)
    assert signals[f"duplicate_{kind}_fraction"] == pytest.approx(0.3)
    assert_keeps(verdict)
    outside = sep.join(unique[:5] + [same] * 5)      # 4 of 10 = 0.4
    assert_drops(repetition_of(outside, lang, key)[1], key)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("sep,kind", [("\n", "line"), ("\n\n", "paragraph")])
def test_duplicate_item_char_fraction(lang, sep, kind):
    key = f"max_duplicate_{kind}_char_fraction"
    unique = synthetic_words(lang, 8, 6)
    # One item of 16 chars appears twice among eight 6-char items: 16 / (2*16 + 8*6) = 0.2.
    item16 = synthetic_words(lang, 1, 16, prefix=ALPHABET[lang][3])[0]
    signals, verdict = repetition_of(sep.join(unique + [item16, item16]), lang, key)
    assert signals[f"duplicate_{kind}_char_fraction"] == pytest.approx(0.2)
    assert_keeps(verdict)
    item17 = synthetic_words(lang, 1, 17, prefix=ALPHABET[lang][3])[0]   # 17 / 82 = 0.207
    assert_drops(repetition_of(sep.join(unique + [item17, item17]), lang, key)[1], key)
