"""SPEC stage 6c: personal data masked in place (`pii.enabled`): emails, IPv4/IPv6 addresses, phone numbers and card
numbers that pass the Luhn check become placeholders, before dedup and tokenization.

Each kind is found by a pattern and then checked as a reader would (a valid address, a Luhn checksum, a phone's
digit count), so that what only looks like one stays: versions (`v1.2.3.4`), dates, ISBNs, coordinates, prices,
times, thousands written with spaces. Spans are found on the original text, overlaps go to the earlier kind of
`KINDS` (an address inside an email is part of the email), and the text is rebuilt once.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Mapping, NamedTuple

KINDS = ("email", "card", "ip", "phone")      # also the order in which overlapping finds are kept
DEFAULT_PLACEHOLDERS = {"email": "<EMAIL>", "ip": "<IP>", "phone": "<PHONE>", "card": "<CARD>"}

# An email's domain ends in letters; file names with an `@` (`icon@2x.png`) are not addresses.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.%+-]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+([^\W\d_]{2,24})(?![\w-])")
_FILE_SUFFIXES = frozenset("png jpg jpeg gif svg webp bmp ico pdf js css html htm php".split())

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# Not inside a longer dotted run of digits (`1.2.3.4.5`, section numbers) or a number.
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)")
# A run of hex digits and colons (an IPv4 tail allowed) with at least two colons; ipaddress decides.
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?"
                   r"(?![\w:]|\.\d)")
# A version, release or build number reads as an address: the word before it says which it is.
_VERSION_BEFORE = re.compile(r"(?:\bv|\bver\.?|version|release|build|kernel|firmware|версия|версии|сборка)\s*$",
                             re.IGNORECASE)

# Phones. Russian: +7 or 8, then 3-3-2-2 digits with the usual separators (space, hyphen, brackets round the code).
_SEP = r"[ \u00a0.-]?"
_RU_PHONE = re.compile(rf"(?<![\w+])(?:\+7|8){_SEP}(?:\(\d{{3}}\)|\d{{3}}){_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}(?![\w])")
# International: a leading + and a country code, then groups of digits; 8-15 digits in all (E.164).
_INTL_PHONE = re.compile(rf"(?<![\w+])\+\d{{1,3}}(?:{_SEP}(?:\(\d{{1,4}}\)|\d{{1,5}})){{2,6}}(?![\w])")
# North American numbers as written in English text: (212) 555-0187, 212-555-0187, 212.555.0187.
_NANP_PHONE = re.compile(r"(?<![\w.+-])(?:\(\d{3}\) ?|\d{3}[-.])\d{3}[-.]\d{4}(?![\w]|[-.]\d)")

# Cards: 13-19 digits, whole or in groups of four (Amex: 4-6-5) with one kind of separator.
_CARD = re.compile(r"(?<![\w.,-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{5})"
                   r"(?![\w]|[.,-]\d)")
# Book numbers are 13 digits from 978/979 and pass Luhn one time in ten; the word before them says so anyway.
_ISBN_BEFORE = re.compile(r"isbn(?:-1[03])?:?\s*$", re.IGNORECASE)


_DIGIT = re.compile(r"\d")


class Span(NamedTuple):
    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Masked:
    text: str
    counts: Mapping[str, int]      # spans masked, by kind (only kinds that occurred)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum card numbers carry (ISO/IEC 7812-1)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _before(text: str, start: int, pattern: re.Pattern) -> bool:
    return bool(pattern.search(text, max(0, start - 16), start))


def _emails(text: str) -> list[Span]:
    if "@" not in text:         # most texts: a substring test is a hundred times cheaper than the pattern
        return []
    return [Span(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)
            if m.group(1).casefold() not in _FILE_SUFFIXES]


def _cards(text: str) -> list[Span]:
    spans = []
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        # Issuers' numbers start with 2-6 (Mir, Visa, Mastercard, Amex, Discover, JCB, UnionPay, Maestro).
        if not 13 <= len(digits) <= 19 or digits[0] not in "23456" or not luhn_valid(digits):
            continue
        if _before(text, m.start(), _ISBN_BEFORE):
            continue
        spans.append(Span(m.start(), m.end(), "card"))
    return spans


def _ips(text: str) -> list[Span]:
    spans = [Span(m.start(), m.end(), "ip") for m in _IPV4.finditer(text)
             if not _before(text, m.start(), _VERSION_BEFORE)]
    if ":" in text:
        for m in _IPV6.finditer(text):
            candidate = m.group()
            # At least three groups of digits: `a::b` and `12:30:45` are not written as addresses.
            if sum(1 for g in re.split(r"[:.]", candidate) if g) < 3 and "::" not in candidate[1:-1]:
                continue
            if not re.search(r"[0-9]", candidate) or re.fullmatch(r"[\d:]+", candidate) and "::" not in candidate:
                continue      # a time (12:30:45) or a ratio written with colons
            try:
                ipaddress.IPv6Address(candidate)
            except ValueError:
                continue
            spans.append(Span(m.start(), m.end(), "ip"))
    return spans


def _phones(text: str) -> list[Span]:
    spans = [Span(m.start(), m.end(), "phone") for m in _RU_PHONE.finditer(text)]
    for m in _INTL_PHONE.finditer(text):
        if 8 <= sum(c.isdigit() for c in m.group()) <= 15:
            spans.append(Span(m.start(), m.end(), "phone"))
    spans += [Span(m.start(), m.end(), "phone") for m in _NANP_PHONE.finditer(text)]
    return spans


_FINDERS = {"email": _emails, "card": _cards, "ip": _ips, "phone": _phones}


def find_pii(text: str) -> list[Span]:
    """Non-overlapping spans of personal data in `text`, in order; where finds overlap, the earlier kind of KINDS
    (then the longer find) wins."""
    if "@" not in text and not _DIGIT.search(text):
        return []
    found = [span for kind in KINDS for span in _FINDERS[kind](text)]
    rank = {kind: i for i, kind in enumerate(KINDS)}
    found.sort(key=lambda s: (rank[s.kind], s.start - s.end, s.start))
    taken: list[Span] = []
    for span in found:
        if all(span.end <= t.start or span.start >= t.end for t in taken):
            taken.append(span)
    return sorted(taken)


def mask_pii(text: str, placeholders: Mapping[str, str] = DEFAULT_PLACEHOLDERS) -> Masked:
    """`text` with every span of `find_pii` replaced by its kind's placeholder, and the count of each kind."""
    spans = find_pii(text)
    if not spans:
        return Masked(text, {})
    pieces, counts, at = [], {}, 0
    for span in spans:
        pieces += [text[at:span.start], placeholders[span.kind]]
        counts[span.kind] = counts.get(span.kind, 0) + 1
        at = span.end
    pieces.append(text[at:])
    return Masked("".join(pieces), counts)
