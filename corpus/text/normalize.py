"""SPEC stage 2: Unicode NFC, undecodable bytes repaired or rejected, control characters removed, whitespace tidied."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

REPLACEMENT_CHAR = "\ufffd"

# C0/C1 controls except tab and newline (CR is folded into newline first), plus zero-width and bidi controls
# that only hide text; the BOM anywhere in the text is dropped.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
# Whitespace but newline (incl. NBSP, tabs, ideographic space): at a line's end it goes (a blank line becomes
# empty; `str.rstrip` strips exactly what `\s` matches, eight times faster than a multiline regex); after a
# visible character it collapses to one space; at a line's start it stays (verse, code).
# (A single plain space is left alone: replacing it by itself is most of the matches and all of the cost.)
_INNER_SPACE_RE = re.compile(r"(?<=\S)(?: [^\S\n]+|[^\S\n ][^\S\n]*)")
_BLANK_RUN_RE = re.compile(r"\n{4,}")        # more than two blank lines


@dataclass(frozen=True)
class Normalized:
    text: str
    invalid_chars: int      # U+FFFD characters found (bytes that did not decode)
    invalid_fraction: float


def normalize_text(text: str) -> Normalized:
    """Normalize one document's text; report how much of it was undecodable."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    invalid = text.count(REPLACEMENT_CHAR)
    fraction = invalid / len(text) if text else 0.0
    if invalid:
        text = text.replace(REPLACEMENT_CHAR, "")
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL_RE.sub("", text)
    text = _INNER_SPACE_RE.sub(" ", "\n".join(map(str.rstrip, text.split("\n"))))
    text = _BLANK_RUN_RE.sub("\n\n\n", text).strip("\n")
    return Normalized(text=text, invalid_chars=invalid, invalid_fraction=fraction)
