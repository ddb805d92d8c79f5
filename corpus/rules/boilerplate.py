"""Boilerplate lines: RefinedWeb's line-wise filter (Penedo et al. 2023, arXiv 2306.01116, appendix G.2).

RefinedWeb flags short lines that are site furniture rather than content (log-in prompts, copyright and "powered
by" footers, "read more" links, cookie notices, counters such as "3 likes", lines of bare numbers) and drops a page
when the words of flagged lines exceed 5% of its words. Gopher's rules keep such a page when it also carries a few
sentences (a forum index with a footer passes every Table A1 and A.1.1 bound), so this signal completes them on web
text. The patterns are per-language data (`boilerplate:` in the language files), matched case-insensitively.

Not taken from RefinedWeb: one-word and mostly-uppercase lines. Section headings in clean Wikipedia text are one
word, and Russian and older English books set headings in capitals; flagging them would drop clean prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from corpus.text.words import has_at_most_words, words

# RefinedWeb: a pattern line is "short (≤ 10 words)"; longer lines that mention "cookies" are content.
MAX_LINE_WORDS = 10

# Lines of numbers and punctuation only (page numbers, dates, scores), and counters ("3 likes", "12 comments").
_NUMERIC_LINE = r"^(?=[^\n]*\d)[\d\W_]+$"


@dataclass(frozen=True)
class BoilerplatePatterns:
    """One compiled regex for a language: a line matching it (and short enough) is boilerplate."""

    regex: re.Pattern[str]

    @classmethod
    def build(cls, start: Iterable[str] = (), end: Iterable[str] = (), anywhere: Iterable[str] = (),
              counters: Iterable[str] = ()) -> "BoilerplatePatterns":
        """`start`/`end`/`anywhere`: regex fragments matched at the line's start/end (after/before punctuation)
        or anywhere; `counters`: nouns that follow a number on a counter line."""
        parts: list[str] = []
        start, end, anywhere, counters = (sorted(set(x)) for x in (start, end, anywhere, counters))
        if start:
            parts.append(r"^[\W_]*(?:" + "|".join(start) + r")(?!\w)")
        if end:
            parts.append(r"(?<!\w)(?:" + "|".join(end) + r")[\W_]*$")
        if anywhere:
            parts.append(r"(?:" + "|".join(anywhere) + r")")
        if counters:
            parts.append(r"^[\W_]*\d[\d\s.,]*\w?\s+(?:" + "|".join(counters) + r")[\W_]*$")
        parts.append(_NUMERIC_LINE)
        return cls(re.compile("|".join(parts), re.IGNORECASE))

    @classmethod
    def from_data(cls, tables: Sequence[Mapping[str, Iterable[str]]]) -> "BoilerplatePatterns":
        """Union of several `{start, end, anywhere, counters}` tables (the default one, then the language's)."""
        merged: dict[str, list[str]] = {"start": [], "end": [], "anywhere": [], "counters": []}
        for table in tables:
            for key, items in table.items():
                merged[key].extend(items)
        return cls.build(**merged)


def boilerplate_line_words(line: str, patterns: BoilerplatePatterns) -> int:
    """The line's word count if it is boilerplate, else 0."""
    # The word bound first: it reads at most 11 words, where the patterns would scan a whole paragraph.
    if not has_at_most_words(line, MAX_LINE_WORDS) or patterns.regex.search(line) is None:
        return 0
    return len(words(line))


def boilerplate_words(text_lines: Iterable[str], patterns: BoilerplatePatterns) -> int:
    """Words on boilerplate lines (over the document's words, RefinedWeb's share)."""
    return sum(boilerplate_line_words(line, patterns) for line in text_lines)
