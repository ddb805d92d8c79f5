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


def _mark_ranges() -> str:
    """A regex class body covering every code point of category M (Mn, Mc, Me)."""
    parts: list[str] = []
    start = prev = None
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp))[0] == "M":
            if start is None:
                start = cp
            elif cp != prev + 1:
                parts.append((start, prev))
                start = cp
            prev = cp
    if start is not None:
        parts.append((start, prev))
    return "".join(f"\\U{a:08x}-\\U{b:08x}" if a != b else f"\\U{a:08x}" for a, b in parts)


_WORD_CHAR = f"[\\w{_mark_ranges()}]"
# Apostrophes: ASCII, right single quote, modifier letter; hyphens: ASCII hyphen-minus, U+2010 hyphen, U+2011.
_JOINERS = "['\u2019\u02bc\\-\u2010\u2011]"
WORD_RE = re.compile(f"{_WORD_CHAR}+(?:{_JOINERS}{_WORD_CHAR}+)*")

_PARAGRAPH_SPLIT_RE = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)*")

# SPEC §2a bullet markers; a language may remove some (Russian: a dash opens dialogue, not a list item).
DEFAULT_BULLETS = ("•", "‣", "⁃", "◦", "▪", "▫", "■", "□", "▶", "◀", "*", "-")


def words(text: str) -> list[str]:
    """Words per SPEC §2a; punctuation is never a word."""
    return WORD_RE.findall(text)


def lines(text: str) -> list[str]:
    """`splitlines()` with blank lines dropped."""
    return [line for line in text.splitlines() if line.strip()]


def paragraphs(text: str) -> list[str]:
    """Text split on two or more newlines (blank lines may hold spaces); empty parts dropped."""
    return [p for p in (part.strip() for part in _PARAGRAPH_SPLIT_RE.split(text)) if p]


@lru_cache(maxsize=64)
def _bullet_re(markers: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"^\s*[" + "".join(re.escape(m) for m in markers) + r"] ")


def is_bullet(line: str, markers: tuple[str, ...] = DEFAULT_BULLETS) -> bool:
    """A line whose first non-space character is a bullet marker followed by a space."""
    return bool(markers) and _bullet_re(markers).match(line) is not None
