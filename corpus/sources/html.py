"""HTML pages from WARC response records: the HTTP envelope, the charset, and main-text extraction.

Charset: the HTTP `Content-Type` header, then a `<meta>` declaration in the first 4 KB, then detection (strict
UTF-8 first, then resiliparse's detector), with WHATWG-style supersets (a page labelled Shift_JIS decodes as
cp932, GB2312 as GB18030, ISO-8859-1 as windows-1252), so windows-1251, KOI8-R, EUC-JP and Shift-JIS pages read
as their authors wrote them.

Extraction (`read.html_extractor`, `extract_main_text`): by default `hybrid`, resiliparse's main-content pass
without comments, headers, captions and widgets, its ends trimmed of furniture, and trafilatura only where
resiliparse finds no article. On the Scrapinghub article-extraction benchmark pages (bench/extraction.py) it scores
as trafilatura does at several times its speed; `trafilatura` and `resiliparse` alone remain as choices.
"""

from __future__ import annotations

import codecs
import re
import zlib
from dataclasses import dataclass

from corpus.sources.languages import reader_data

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
# Labels pages use for encodings whose real-world superset a browser decodes them with.
_SUPERSETS = {"shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "ms_kanji": "cp932",
              "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-kr": "cp949", "ks_c_5601-1987": "cp949",
              "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
              "ascii": "cp1252", "iso-8859-9": "cp1254", "tis-620": "cp874", "windows-874": "cp874",
              "x-mac-cyrillic": "mac_cyrillic", "utf8": "utf-8"}
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass
class HttpResponse:
    status: int
    mime: str              # lower-cased, without parameters; "" if absent
    charset: str | None    # from the Content-Type header
    body: bytes            # de-chunked and decompressed payload


def parse_http_response(data: bytes) -> HttpResponse | None:
    """Split an HTTP response into status, content type and payload; None if it is not HTTP at all."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    lines = head.decode("latin-1").splitlines()
    if not lines or not lines[0].startswith("HTTP/"):
        return None
    parts = lines[0].split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    content_type = headers.get("content-type", "")
    mime = content_type.split(";")[0].strip().lower()
    match = _CHARSET_PARAM.search(content_type)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    encoding = headers.get("content-encoding", "").lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            body = zlib.decompress(body, 47 if encoding != "deflate" else 15)
        except zlib.error:
            try:
                body = zlib.decompress(body, -15)
            except zlib.error:
                pass   # many crawlers store the decoded body but keep the header: use the bytes as they are
    return HttpResponse(status, mime, match.group(1) if match else None, body)


def _dechunk(body: bytes) -> bytes:
    out, pos = bytearray(), 0
    while pos < len(body):
        end = body.find(b"\r\n", pos)
        if end < 0:
            break
        try:
            size = int(body[pos:end].split(b";")[0].strip() or b"0", 16)
        except ValueError:
            return body   # not actually chunked
        if size == 0:
            break
        out += body[end + 2:end + 2 + size]
        pos = end + 2 + size + 2
    return bytes(out)


def looks_like_html(payload: bytes) -> bool:
    head = payload[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")) or b"<html" in head


# Codecs Python knows that no page is written in: labels naming them are treated as no label at all.
_NOT_PAGE_ENCODINGS = {"idna", "punycode", "raw_unicode_escape", "unicode_escape", "raw-unicode-escape",
                       "unicode-escape", "utf-7", "mbcs", "oem", "undefined"}
# A declared charset under which at most this share of the bytes fails is trusted (a few damaged bytes become
# U+FFFD); beyond it the label is wrong and the charset is detected.
MAX_DAMAGED_FRACTION = 0.001


def _codec(label: str | None) -> str | None:
    """The text codec a charset label names, or None for a label Python cannot decode text with (`base64`,
    `zlib`, `rot13`, `hex`, `uu`, `quopri`, `idna`, ... : a bytes-to-bytes or str-to-str codec, or none at all)."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _SUPERSETS.get(label, label)
    try:
        name = codecs.lookup(label).name
        b"a".decode(name, "replace")   # LookupError for a codec that is not a text encoding (not for b"")
    except (LookupError, ValueError, TypeError):
        return None
    return None if name in _NOT_PAGE_ENCODINGS else name


def _strict_text(payload: bytes, codec: str) -> str | None:
    """`payload` decoded under `codec` when every byte decodes, else None."""
    try:
        return payload.decode(codec)
    except (UnicodeError, LookupError, ValueError):
        return None


def _damaged_fraction(payload: bytes, codec: str) -> float:
    """The share of characters that fail to decode under `codec` (1.0 when the codec cannot decode at all)."""
    try:
        text = payload.decode(codec, errors="replace")
    except (UnicodeError, LookupError, ValueError):
        return 1.0
    return text.count("\ufffd") / max(1, len(text))


def detect_charset(payload: bytes, header_charset: str | None) -> tuple[str, str]:
    """(codec name, how it was found: header | meta | utf-8 | detected). A declared charset the bytes do not
    decode under loses to clean UTF-8 (a common mislabel in crawls: a UTF-8 page served as GB2312)."""
    codec, how, _ = _detect(payload, header_charset)
    return codec, how


def _detect(payload: bytes, header_charset: str | None) -> tuple[str, str, str | None]:
    """`detect_charset`, plus the page's text when the charset was proven by decoding all of it (no second pass)."""
    match = _META_CHARSET.search(payload[:4096])
    declared = [(c, how) for c, how in ((_codec(header_charset), "header"),
                                        (_codec(match.group(1).decode("ascii", "replace")) if match else None, "meta"))
                if c]
    for codec, how in declared:
        if (text := _strict_text(payload, codec)) is not None:
            return codec, how, text
    if (text := _strict_text(payload, "utf-8")) is not None:
        return "utf-8", "utf-8", text
    for codec, how in declared:
        if _damaged_fraction(payload, codec) <= MAX_DAMAGED_FRACTION:
            return codec, how, None   # a few damaged bytes: trust the label; they become U+FFFD
    # The label is wrong (a cp1251 page served as utf-8) or absent: detect.
    from resiliparse.parse.encoding import detect_encoding

    return _codec(detect_encoding(payload)) or "cp1252", "detected", None


def decode_html(payload: bytes, header_charset: str | None) -> str:
    codec, _, text = _detect(payload, header_charset)
    if text is not None:
        return text[1:] if codec == "utf-8" and text.startswith("\ufeff") else text
    if codec == "utf-8" and payload.startswith(b"\xef\xbb\xbf"):
        payload = payload[3:]
    try:
        return payload.decode(codec, errors="replace")
    except (UnicodeError, LookupError, ValueError):
        return payload.decode("utf-8", errors="replace")


def _ascii_any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" for c in word)


# Script and style blocks and comments are never a page's text, and are most of a news page's bytes (60% of the
# benchmark pages'): cut before extraction, they cost neither the trip to the parse helper nor parsing.
# `<!-->` and `<!--->` are whole (empty) comments to an HTML parser (WHATWG "abrupt closing of empty comment").
# Tag names match ASCII case-insensitively, as HTML's do: character classes, not re.IGNORECASE (which also takes
# "ſ" for "s", and makes the search try every "<" instead of finding "<" first: 25% slower).
_BLOCK_OPEN = re.compile(r"<(?:(" + _ascii_any_case("script") + "|" + _ascii_any_case("style") + r")\b|!--(?!-?>))")
_BLOCK_CLOSE = {"script": re.compile("</" + _ascii_any_case("script") + r"\s*>"),
                "style": re.compile("</" + _ascii_any_case("style") + r"\s*>"), None: re.compile("-->")}


def drop_script_blocks(html: str) -> str:
    """`html` without its <script> and <style> elements and its comments. Linear: each block is scanned once, and
    at a block that is never closed the rest of the page is left as it is, for the parser to judge."""
    kept: list[str] = []
    pos = 0
    while (opened := _BLOCK_OPEN.search(html, pos)) is not None:
        tag = opened.group(1)
        closed = _BLOCK_CLOSE[tag.lower() if tag else None].search(html, opened.end())
        if closed is None:
            break
        kept.append(html[pos:opened.start()])
        pos = closed.end()
    if not kept:
        return html
    kept.append(html[pos:])
    return "".join(kept)


EXTRACTORS = ("hybrid", "trafilatura", "resiliparse")   # read.html_extractor


def _class_word(word: str) -> list[str]:
    """CSS selectors of elements with a class that begins with `word` or ends in `-word`/`_word` ("share-bar",
    "post-share"), not of every class holding it ("has-social-icons", "unrelated", "js-caption-zoom" stay)."""
    return [f'[class^="{word}"]', f'[class*=" {word}"]', f'[class$="-{word}"]', f'[class*="-{word} "]',
            f'[class$="_{word}"]', f'[class*="_{word} "]']


# Resiliparse's main-content pass without what an article's text never is: comment sections and post metadata
# (its defaults keep both), the page header and the headline (the title is metadata; article-body benchmarks
# leave it out), footers, captions, and sign-up, share, related-links and cookie widgets (the furniture
# trafilatura's discard rules also name). Each is a CSS selector (the class words one selector list) that
# resiliparse skips in C.
# The class selectors go as one selector list: resiliparse matches each entry of `skip_elements` on its own, and
# one list of 54 alternatives is matched faster than 54 entries (6% of the extraction), with the same result.
_SKIP_ELEMENTS = ["header", "h1", "footer", "figcaption", ", ".join(
    selector for word in ("footer", "caption", "newsletter", "signup", "share", "social", "related", "cookie",
                          "copyright") for selector in _class_word(word))]
_RESILIPARSE_OPTIONS = dict(main_content=True, comments=False, post_meta=False, alt_texts=False, links=False,
                            skip_elements=_SKIP_ELEMENTS)
# A line of running text: enough words, or a short sentence; in scripts written without spaces (CJK, Thai), enough
# characters. What is not (menus, bylines, dates, tag lists, "Read more") is trimmed at the edges of the text.
_SENTENCE_END = (".", "!", "?", "…", ":", ";", '"', "”", "»", ")", "]", "。", "！", "？", "」", "』")
_EDGE_LINES = 6            # at most this many lines are trimmed at each end: deeper in, a short line is a subheading
# Site notices that sit at an article's ends although they are sentences (cookie banners, newsletter pitches,
# rights lines), as phrases per language: data in languages/edge_notices.yaml, every language's on every page.
EDGE_NOTICE_PHRASES: tuple[str, ...] = tuple(phrase for phrases in reader_data("edge_notices").values()
                                             for phrase in phrases)
_EDGE_NOTICE = re.compile(r"©|\b(?:" + "|".join(EDGE_NOTICE_PHRASES) + r")(?!\w)", re.IGNORECASE)
_NOTICE_MAX_WORDS = 80     # a longer line is an article's paragraph, whatever phrase it holds
# Below this many lines of running text, resiliparse's result is poor (its heuristics found no article block):
# hybrid extraction asks trafilatura instead.
MIN_PROSE_LINES = 2


def is_running_text(line: str) -> bool:
    words = line.count(" ") + 1
    if words >= 10 or (words >= 5 and line.endswith(_SENTENCE_END)):
        return True
    return words <= 3 and (len(line) >= 50 or (len(line) >= 20 and line.endswith(_SENTENCE_END)))


def _edge_furniture(line: str) -> bool:
    return (not is_running_text(line)
            or (line.count(" ") < _NOTICE_MAX_WORDS and _EDGE_NOTICE.search(line) is not None))


def trim_edges(lines: list[str]) -> list[str]:
    """`lines` without the furniture at each end (up to `_EDGE_LINES` lines: headline, byline, date, share and
    tag lines, notices); unchanged when that would leave nothing (the caller decides what that page is)."""
    start, end = 0, len(lines)
    while start < min(_EDGE_LINES, end) and _edge_furniture(lines[start]):
        start += 1
    while end > start and len(lines) - end < _EDGE_LINES and _edge_furniture(lines[end - 1]):
        end -= 1
    return lines[start:end] if start < end else lines


def resiliparse_text(html: str) -> list[str]:
    """Resiliparse's main content, as non-empty stripped lines, edges trimmed."""
    from resiliparse.extract.html2text import extract_plain_text

    text = extract_plain_text(html, **_RESILIPARSE_OPTIONS)
    return trim_edges([line.strip() for line in text.splitlines() if line.strip()])


def trafilatura_text(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, fast=True, favor_precision=True, include_comments=False,
                               include_tables=False) or ""


def extract_main_text(html: str, extractor: str = "hybrid") -> str:
    """The page's main text, paragraphs on their own lines; "" when it has no running text at all.

    `hybrid` (default): resiliparse's main-content pass (fast DOM in C), and trafilatura only where that finds
    fewer than `MIN_PROSE_LINES` lines of running text. `trafilatura`: trafilatura first (fast mode, favouring
    precision, no comments or tables: table cells are layout, not prose), resiliparse where it finds nothing.
    `resiliparse`: resiliparse alone. Whatever the mode, a result without one line of running text (a page of
    category and tag links) is "", for the reader to count."""
    lines = resiliparse_text(html) if extractor != "trafilatura" else None
    if lines is not None and (extractor == "resiliparse" or sum(map(is_running_text, lines)) >= MIN_PROSE_LINES):
        return _running_or_empty(lines)
    text = _running_or_empty(trafilatura_text(html).splitlines())
    return text or _running_or_empty(resiliparse_text(html) if lines is None else lines)


def _running_or_empty(lines: list[str]) -> str:
    return "\n".join(lines) if any(is_running_text(line.strip()) for line in lines) else ""
