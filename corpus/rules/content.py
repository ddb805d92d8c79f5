"""SPEC stage 6: optional content filters — a URL domain blocklist, RefinedWeb's URL words, a flagged-word ratio."""

from __future__ import annotations

import re
from typing import Iterable
from urllib.parse import unquote, urlsplit

from corpus.rules.languages import UrlWords, fold_word
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


_LETTERS_OR_DIGITS = re.compile(r"[^\W_]+")


def url_words(url: str) -> list[str]:
    """The URL's words, folded: host (IDN labels decoded), path, query and fragment (percent-decoded), split at
    every character that is not a letter or digit. The scheme is not a word."""
    try:
        parts = urlsplit(url if "://" in url else "//" + url)
        host = parts.hostname or ""
        text = " ".join((host, parts.path, parts.query, parts.fragment))
    except ValueError:           # a malformed URL (an unclosed IPv6 bracket): its words all the same
        host, text = "", url.split("://", 1)[-1]
    if "xn--" in host:
        try:
            text = text.replace(host, host.encode("ascii").decode("idna"), 1)
        except UnicodeError:
            pass
    return [fold_word(w) for w in _LETTERS_OR_DIGITS.findall(unquote(text, errors="replace"))]


def url_words_verdict(url: str | None, data: UrlWords) -> Verdict:
    """RefinedWeb's URL word rules (Penedo et al. 2023, appendix G.1.2), each naming the words that matched."""
    if not url:
        return KEEP
    found = url_words(url)
    banned = sorted(set(found) & data.banned)
    if banned:
        return Verdict(False, "url_banned_word", detail=", ".join(banned))
    joined = "".join(found)
    glued = [w for w in data.banned_subwords if w in joined]
    if glued:
        return Verdict(False, "url_banned_subword", detail=", ".join(glued))
    soft = sorted(set(found) & data.soft)
    if len(soft) >= data.soft_threshold:
        return Verdict(False, "url_soft_words", float(len(soft)), float(data.soft_threshold), detail=", ".join(soft))
    return KEEP
