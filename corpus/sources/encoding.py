"""Decoding whole text files (books): a byte-order mark, UTF-16 without one, UTF-8 (a few damaged bytes allowed),
then resiliparse's encoding detector for everything else.

Books circulate in legacy code pages (windows-1251 and KOI8-R Russian, cp1252 French, latin-1 German, cp1250
Polish, Shift-JIS and EUC-JP Japanese). A single invalid byte must not turn a UTF-8 book into mojibake, so a file
that is at least 99.9% valid UTF-8 is UTF-8, its bad bytes replaced by U+FFFD (which normalization counts).
"""

from __future__ import annotations

import codecs
import re

BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
MIN_VALID_UTF8 = 0.999
SAMPLE_BYTES = 1 << 20          # what the detector reads (a book's first megabyte)
_UTF16_PROBE = 8192
_MULTIBYTE = re.compile("[^\x00-\x7f\ufffd]")     # a character that took a valid multi-byte UTF-8 sequence


def utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" for UTF-16 text without a byte-order mark, else None. UTF-16 text has a zero
    high byte in every ASCII character (spaces, newlines, punctuation, Latin letters), so one byte lane holds
    many zeros and the other almost none; the guess must also decode to printable text."""
    head = data[:_UTF16_PROBE - _UTF16_PROBE % 2]
    if len(head) < 64:
        return None
    even, odd = head[0::2].count(0) / (len(head) // 2), head[1::2].count(0) / (len(head) // 2)
    if max(even, odd) < 0.1 or min(even, odd) > 0.02:
        return None
    codec = "utf-16-le" if odd > even else "utf-16-be"
    try:
        text = head.decode(codec)
    except UnicodeDecodeError:
        text = head[:-2].decode(codec, errors="replace")     # the probe may end inside a surrogate pair
    printable = sum(c.isprintable() or c in "\n\r\t" for c in text)
    return codec if printable >= 0.95 * len(text) else None


def decode_text_file(data: bytes) -> tuple[str, str]:
    """(text, encoding name)."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace"), codec
    utf16 = utf16_without_bom(data)
    if utf16 is not None:
        return data.decode(utf16, errors="replace"), utf16
    text = data.decode("utf-8", errors="replace")
    # A few bad bytes in UTF-8 text, not a legacy code page that happens to have few non-ASCII bytes (a Latin-1
    # book with the odd `café`): the valid multi-byte sequences show it is UTF-8.
    if text.count("\ufffd") <= (1 - MIN_VALID_UTF8) * len(text) and (
            text.count("\ufffd") == 0 or _MULTIBYTE.search(text) is not None):
        return text, "utf-8"
    from resiliparse.parse.encoding import detect_encoding

    try:
        codec = codecs.lookup(detect_encoding(data[:SAMPLE_BYTES])).name
    except LookupError:
        return text, "utf-8"
    return data.decode(codec, errors="replace"), codec
