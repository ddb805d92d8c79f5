"""SPEC stage 5: the Gopher repetition rules (Rae et al. 2021, Table A1) over the SPEC §2a definitions."""

from __future__ import annotations

import numpy as np

from corpus.rules.languages import LanguageRules
from corpus.rules.verdict import Verdict, check_thresholds
from corpus.text.words import lines, paragraphs, words

TOP_NGRAM_SIZES = (2, 3, 4)
DUPLICATE_NGRAM_SIZES = (5, 6, 7, 8, 9, 10)

REPETITION_RULES: tuple[tuple[str, str], ...] = (
    ("duplicate_line_fraction", "max_duplicate_line_fraction"),
    ("duplicate_paragraph_fraction", "max_duplicate_paragraph_fraction"),
    ("duplicate_line_char_fraction", "max_duplicate_line_char_fraction"),
    ("duplicate_paragraph_char_fraction", "max_duplicate_paragraph_char_fraction"),
    *((f"top_{n}gram_char_fraction", f"max_top_{n}gram_char_fraction") for n in TOP_NGRAM_SIZES),
    *((f"duplicate_{n}gram_char_fraction", f"max_duplicate_{n}gram_char_fraction") for n in DUPLICATE_NGRAM_SIZES),
)
REPETITION_SIGNALS: tuple[str, ...] = tuple(s for s, _ in REPETITION_RULES)


def duplicate_fractions(items: list[str]) -> tuple[float, float]:
    """(share of items equal to an earlier item, share of characters in those repeats)."""
    if not items:
        return 0.0, 0.0
    seen: set[str] = set()
    dup_count = dup_chars = total_chars = 0
    for item in items:
        total_chars += len(item)
        if item in seen:
            dup_count += 1
            dup_chars += len(item)
        else:
            seen.add(item)
    return dup_count / len(items), (dup_chars / total_chars if total_chars else 0.0)


class NgramCounts:
    """Every n-gram of a word sequence as a dense id per position, built level by level with numpy.

    Level n's id at position p names the n-gram starting at p: the pair (id of the (n-1)-gram at p, word at p+n-1)
    made dense again by `np.unique`, so equal n-grams get equal ids and no hash can collide.
    """

    def __init__(self, doc_words: list[str]):
        first_seen: dict[str, int] = {}
        # Each word's id is the position of its first occurrence (map over a C method: no Python loop).
        self.words = np.fromiter(map(first_seen.setdefault, doc_words, range(len(doc_words))), np.int64,
                                 len(doc_words))
        self.lengths = np.fromiter(map(len, doc_words), np.int64, len(doc_words))
        self.cum_chars = np.concatenate(([0], np.cumsum(self.lengths)))
        self.total_chars = int(self.cum_chars[-1])
        self._n = 1
        self._ids = self.words

    def ids(self, n: int) -> np.ndarray:
        """Dense n-gram ids, one per start position (len(words) - n + 1 of them); levels only go up."""
        assert n >= self._n, "n-gram levels are built in increasing order"
        size = len(self.words)
        while self._n < n:
            self._n += 1
            pairs = self._ids[:-1] * size + self.words[self._n - 1:]
            self._ids = np.unique(pairs, return_inverse=True)[1].reshape(-1)
        return self._ids

    def window_chars(self, n: int) -> np.ndarray:
        """Characters of the words of the n-gram at each start position."""
        return self.cum_chars[n:] - self.cum_chars[:-n]


def top_ngram_char_fraction(grams: NgramCounts, n: int) -> float:
    """SPEC §2a: chars of the most frequent n-gram's words × its count, over all word chars; 0 if none repeats."""
    if len(grams.words) < n or not grams.total_chars:
        return 0.0
    ids = grams.ids(n)
    counts = np.bincount(ids)
    best_count = int(counts.max())
    if best_count < 2:
        return 0.0
    # Ties between equally frequent n-grams go to the one covering more characters (deterministic, and the
    # conservative reading of "the most frequent n-gram").
    best_chars = int(grams.window_chars(n)[counts[ids] == best_count].max())
    return min(1.0, best_chars * best_count / grams.total_chars)


def duplicate_ngram_char_fraction(grams: NgramCounts, n: int) -> float:
    """SPEC §2a: chars of words covered by any occurrence of a repeated n-gram, each word counted once."""
    if len(grams.words) < n or not grams.total_chars:
        return 0.0
    ids = grams.ids(n)
    repeated = np.bincount(ids)[ids] > 1            # per start position
    if not repeated.any():
        return 0.0
    # Word i is covered when a repeated n-gram starts in (i - n, i]: a running count of starts over that window.
    starts = np.concatenate(([0], np.cumsum(repeated)))
    positions = np.arange(len(grams.words))
    hi = np.minimum(positions + 1, len(repeated))
    lo = np.maximum(positions - n + 1, 0)
    covered = starts[hi] - starts[np.minimum(lo, hi)] > 0
    return int(grams.lengths[covered].sum()) / grams.total_chars


def repetition_signals(text: str, doc_words: list[str] | None = None) -> dict[str, float]:
    """Measure every repetition signal once."""
    ws = words(text) if doc_words is None else doc_words
    signals: dict[str, float] = {}
    signals["duplicate_line_fraction"], signals["duplicate_line_char_fraction"] = duplicate_fractions(lines(text))
    (signals["duplicate_paragraph_fraction"],
     signals["duplicate_paragraph_char_fraction"]) = duplicate_fractions(paragraphs(text))
    grams = NgramCounts(ws)
    for n in TOP_NGRAM_SIZES:
        signals[f"top_{n}gram_char_fraction"] = top_ngram_char_fraction(grams, n)
    fraction = None
    for n in DUPLICATE_NGRAM_SIZES:
        # A repeated (n+1)-gram contains a repeated n-gram: once nothing repeats, nothing longer does.
        if fraction != 0.0:
            fraction = duplicate_ngram_char_fraction(grams, n)
        signals[f"duplicate_{n}gram_char_fraction"] = fraction
    return signals


def repetition_verdict(signals: dict[str, float], rules: LanguageRules) -> Verdict:
    return check_thresholds(signals, rules.repetition, REPETITION_RULES)
