"""SPEC stage 4: the Gopher quality rules (Rae et al. 2021, appendix A.1.1) over the SPEC §2a definitions."""

from __future__ import annotations

from itertools import filterfalse
from operator import methodcaller

from corpus.rules.boilerplate import boilerplate_words
from corpus.rules.languages import LanguageRules, fold_word
from corpus.rules.verdict import Verdict, check_thresholds
from corpus.text.words import count_bullets, lines, words

# (signal, threshold key) in the order they are checked; the first failure names the drop.
QUALITY_RULES: tuple[tuple[str, str], ...] = (
    ("word_count", "min_words"),
    ("word_count", "max_words"),
    ("mean_word_length", "min_mean_word_length"),
    ("mean_word_length", "max_mean_word_length"),
    ("hash_word_ratio", "max_hash_word_ratio"),
    ("ellipsis_word_ratio", "max_ellipsis_word_ratio"),
    ("bullet_line_fraction", "max_bullet_line_fraction"),
    ("ellipsis_line_fraction", "max_ellipsis_line_fraction"),
    ("alpha_word_fraction", "min_alpha_word_fraction"),
    ("stop_word_count", "min_stop_words"),
    ("boilerplate_word_fraction", "max_boilerplate_word_fraction"),   # RefinedWeb, not Gopher: see boilerplate.py
)
QUALITY_SIGNALS: tuple[str, ...] = tuple(dict.fromkeys(s for s, _ in QUALITY_RULES))


_ENDS_WITH_ELLIPSIS = methodcaller("endswith", ("...", "…"))


def _words_with_letters(ws: list[str]) -> int:
    # Most words are all letters, counted by str.isalpha in C; only the rest (numbers, words with a stress mark or
    # a hyphen) are checked character by character.
    rest = list(filterfalse(str.isalpha, ws))
    return len(ws) - len(rest) + sum(any(c.isalpha() for c in w) for w in rest)


def quality_signals(text: str, rules: LanguageRules, doc_words: list[str] | None = None) -> dict[str, float]:
    """Measure every quality signal once; the rules then only compare numbers."""
    ws = words(text) if doc_words is None else doc_words
    n = len(ws)
    ls = lines(text)
    ellipses = text.count("...") + text.count("…")
    signals = {
        "word_count": float(n),
        "mean_word_length": sum(map(len, ws)) / n if n else 0.0,
        "hash_word_ratio": text.count("#") / n if n else 0.0,
        "ellipsis_word_ratio": ellipses / n if n else 0.0,
        "bullet_line_fraction": count_bullets(ls, rules.bullets) / len(ls) if ls else 0.0,
        "ellipsis_line_fraction": sum(map(_ENDS_WITH_ELLIPSIS, map(str.rstrip, ls))) / len(ls) if ls else 0.0,
        "alpha_word_fraction": _words_with_letters(ws) / n if n else 0.0,
        "boilerplate_word_fraction": boilerplate_words(ls, rules.boilerplate) / n if n else 0.0,
    }
    if rules.stop_words:
        # Distinct words first: folding begins with casefold, so case variants fold alike.
        signals["stop_word_count"] = float(len(set(map(fold_word, set(ws))) & rules.stop_words))
    return signals


def quality_verdict(signals: dict[str, float], rules: LanguageRules) -> Verdict:
    """Keep, or drop naming the first broken bound (stop-word rule only when the language has stop words)."""
    return check_thresholds(signals, rules.quality, QUALITY_RULES)
