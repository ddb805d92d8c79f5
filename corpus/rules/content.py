"""SPEC stage 6: optional content filters — a URL domain blocklist and a flagged-word ratio."""

from __future__ import annotations

from typing import Iterable
from urllib.parse import urlsplit

from corpus.rules.languages import fold_word
from corpus.rules.verdict import KEEP, Verdict


def parse_list(lines: Iterable[str]) -> frozenset[str]:
    """One entry per line; blank lines and `#` comments ignored; case-folded."""
    return frozenset(x.strip().casefold() for x in lines if x.strip() and not x.lstrip().startswith("#"))


def url_domain(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url if "://" in url else "//" + url).hostname
    except ValueError:
        return None
    return host.rstrip(".").casefold() if host else None


def blocked_domain(url: str | None, blocklist: frozenset[str]) -> str | None:
    """The blocklist entry matching the URL's host or any parent domain (`a.b.example.com` ⊂ `example.com`)."""
    host = url_domain(url)
    if not host or not blocklist:
        return None
    parts = host.split(".")
    for i in range(len(parts)):
        candidate = ".".join(parts[i:])
        if candidate in blocklist:
            return candidate
    return None


def domain_verdict(url: str | None, blocklist: frozenset[str]) -> Verdict:
    return Verdict(False, "domain_blocklist") if blocked_domain(url, blocklist) else KEEP


def flagged_word_fraction(doc_words: list[str], flagged: frozenset[str]) -> float:
    if not doc_words or not flagged:
        return 0.0
    return sum(fold_word(w) in flagged for w in doc_words) / len(doc_words)


def flagged_words_verdict(fraction: float, max_fraction: float) -> Verdict:
    if fraction > max_fraction:
        return Verdict(False, "max_flagged_word_fraction", fraction, max_fraction)
    return KEEP
