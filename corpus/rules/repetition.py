"""SPEC stage 5: the Gopher repetition rules (Rae et al. 2021, Table A1) over the SPEC §2a definitions."""

from __future__ import annotations

from collections import Counter

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


def top_ngram_char_fraction(word_ids: list[int], lengths: list[int], total_chars: int, n: int) -> float:
    """SPEC §2a: chars of the most frequent n-gram's words × its count, over all word chars; 0 if none repeats."""
    if len(word_ids) < n or not total_chars:
        return 0.0
    grams = list(zip(*(word_ids[i:] for i in range(n))))
    counts = Counter(grams)
    best_count = max(counts.values())
    if best_count < 2:
        return 0.0
    first_pos: dict[tuple[int, ...], int] = {}
    for pos, gram in enumerate(grams):
        first_pos.setdefault(gram, pos)
    # Ties between equally frequent n-grams go to the one covering more characters (deterministic, and the
    # conservative reading of "the most frequent n-gram").
    best_chars = max(sum(lengths[first_pos[g]:first_pos[g] + n]) for g, c in counts.items() if c == best_count)
    return min(1.0, best_chars * best_count / total_chars)


def duplicate_ngram_char_fraction(word_ids: list[int], lengths: list[int], total_chars: int, n: int) -> float:
    """SPEC §2a: chars of words covered by any occurrence of a repeated n-gram, each word counted once."""
    if len(word_ids) < n or not total_chars:
        return 0.0
    grams = list(zip(*(word_ids[i:] for i in range(n))))
    counts = Counter(grams)
    cover = [0] * (len(word_ids) + 1)   # difference array: +1 where a repeated n-gram starts, -1 past its end
    any_repeat = False
    for pos, gram in enumerate(grams):
        if counts[gram] > 1:
            cover[pos] += 1
            cover[pos + n] -= 1
            any_repeat = True
    if not any_repeat:
        return 0.0
    covered_chars = depth = 0
    for i, length in enumerate(lengths):
        depth += cover[i]
        if depth > 0:
            covered_chars += length
    return covered_chars / total_chars


def repetition_signals(text: str, doc_words: list[str] | None = None) -> dict[str, float]:
    """Measure every repetition signal once."""
    ws = words(text) if doc_words is None else doc_words
    signals: dict[str, float] = {}
    signals["duplicate_line_fraction"], signals["duplicate_line_char_fraction"] = duplicate_fractions(lines(text))
    (signals["duplicate_paragraph_fraction"],
     signals["duplicate_paragraph_char_fraction"]) = duplicate_fractions(paragraphs(text))
    vocab: dict[str, int] = {}
    word_ids = [vocab.setdefault(w, len(vocab)) for w in ws]
    lengths = [len(w) for w in ws]
    total = sum(lengths)
    for n in TOP_NGRAM_SIZES:
        signals[f"top_{n}gram_char_fraction"] = top_ngram_char_fraction(word_ids, lengths, total, n)
    fraction = None
    for n in DUPLICATE_NGRAM_SIZES:
        # A repeated (n+1)-gram contains a repeated n-gram: once nothing repeats, nothing longer does.
        if fraction != 0.0:
            fraction = duplicate_ngram_char_fraction(word_ids, lengths, total, n)
        signals[f"duplicate_{n}gram_char_fraction"] = fraction
    return signals


def repetition_verdict(signals: dict[str, float], rules: LanguageRules) -> Verdict:
    return check_thresholds(signals, rules.repetition, REPETITION_RULES)
