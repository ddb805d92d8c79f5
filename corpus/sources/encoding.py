"""Decoding whole text files: UTF-8/UTF-16 by BOM, strict UTF-8, then the legacy Cyrillic code pages.

Russian books circulate as windows-1251 and KOI8-R. Both decode any byte string without error, so we pick the
code page whose decoding reads most like Russian: the share of the most frequent lower-case Russian letters.
"""

from __future__ import annotations

from corpus.sources.base import decode_utf8

LEGACY_ENCODINGS = ("cp1251", "koi8_r")
_FREQUENT_RU = set("оеаинтсрвлкмдпуяыь")   # ~75% of letters in Russian prose


def _russian_likeness(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(c in _FREQUENT_RU for c in letters) / len(letters)


def decode_text_file(data: bytes) -> tuple[str, str]:
    """(text, encoding). Undecodable UTF-8 falls back to U+FFFD replacement (counted by normalization)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    sample = data[:200_000]
    best, best_score = None, 0.0
    for enc in LEGACY_ENCODINGS:
        score = _russian_likeness(sample.decode(enc, errors="replace"))
        if score > best_score:
            best, best_score = enc, score
    if best is not None and best_score >= 0.5:
        return data.decode(best, errors="replace"), best
    return decode_utf8(data), "utf-8"
