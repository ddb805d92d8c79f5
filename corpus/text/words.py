"""SPEC §2a: words, lines, paragraphs and bullets — the units every Gopher rule counts.

A word is a maximal run of Unicode word characters, joined across an inner hyphen or apostrophe (`из-за`, `don't`).
Combining marks (Unicode category M*) are word characters too: Python's `\\w` excludes them, which would split a
Russian word at a stress mark (U+0301) and a Hindi word at every vowel sign.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache


def _mark_runs() -> list[tuple[int, int]]:
    """Inclusive code point runs of category M (Mn, Mc, Me)."""
    runs: list[tuple[int, int]] = []
    start = prev = None
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp))[0] == "M":
            if start is None:
                start = cp
            elif cp != prev + 1:
                runs.append((start, prev))
                start = cp
            prev = cp
    if start is not None:
        runs.append((start, prev))
    return runs


_MARK_RUNS = _mark_runs()


def _mark_ranges(lo: int = 0, hi: int = sys.maxunicode + 1) -> str:
    """A regex class body covering the marks in [lo, hi)."""
    clipped = [(max(a, lo), min(b, hi - 1)) for a, b in _MARK_RUNS if b >= lo and a < hi]
    return "".join(f"\\U{a:08x}-\\U{b:08x}" if a != b else f"\\U{a:08x}" for a, b in clipped)


_BMP = 0x10000
_MARKS = _mark_ranges()
# Apostrophes: ASCII, right single quote, modifier letter; hyphens: ASCII hyphen-minus, U+2010 hyphen, U+2011.
_JOINERS = "['\u2019\u02bc\\-\u2010\u2011]"


def _word_re(marks: str) -> re.Pattern[str]:
    char = f"[\\w{marks}]"
    return re.compile(f"{char}+(?:{_JOINERS}{char}+)*")


WORD_RE = _word_re(_MARKS)
# The same words for text without marks beyond the BMP (nearly all text), about 3x faster: `re` tests a class of
# BMP code points with a bitmap, but scans a list of ranges once a class reaches past U+FFFF.
_BMP_WORD_RE = _word_re(_mark_ranges(0, _BMP))
_ASTRAL_MARK_RE = re.compile(f"[{_mark_ranges(_BMP)}]")
_ASTRAL_RE = re.compile("[\U00010000-\U0010ffff]")

_PARAGRAPH_SPLIT_RE = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)*")

def words(text: str) -> list[str]:
    """Words per SPEC §2a; punctuation is never a word."""
    if text.isascii() or _ASTRAL_RE.search(text) is None or _ASTRAL_MARK_RE.search(text) is None:
        return _BMP_WORD_RE.findall(text)
    return WORD_RE.findall(text)


@lru_cache(maxsize=16)
def _more_than_re(k: int) -> re.Pattern[str]:
    # k+1 words from the start, each word atomic (no backtracking into shorter words) and the gaps possessive:
    # the same words `WORD_RE.findall` finds, but the scan stops after the (k+1)-th.
    return re.compile(f"(?:[^\\w{_MARKS}]*+(?>{WORD_RE.pattern})){{{k + 1}}}")


def has_at_most_words(text: str, k: int) -> bool:
    """`len(words(text)) <= k`, reading only as far as the (k+1)-th word."""
    return _more_than_re(k).match(text) is None


def lines(text: str) -> list[str]:
    """`splitlines()` with blank lines dropped."""
    return [line for line in text.splitlines() if line.strip()]


def paragraphs(text: str) -> list[str]:
    """Text split on two or more newlines (blank lines may hold spaces); empty parts dropped."""
    return [p for p in (part.strip() for part in _PARAGRAPH_SPLIT_RE.split(text)) if p]


@lru_cache(maxsize=64)
def _bullet_re(markers: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"^\s*[" + "".join(re.escape(m) for m in markers) + r"] ")


def is_bullet(line: str, markers: tuple[str, ...]) -> bool:
    """A line whose first non-space character is a bullet marker followed by a space. The markers are language
    data (SPEC §2a's list in rules/languages/default.yaml; `LanguageRules.bullets`)."""
    return bool(markers) and _bullet_re(markers).match(line) is not None


def count_bullets(text_lines: list[str], markers: tuple[str, ...]) -> int:
    """How many of the lines are bullets (`is_bullet`), matched in one C-level pass."""
    if not markers:
        return 0
    return len(list(filter(_bullet_re(markers).match, text_lines)))
