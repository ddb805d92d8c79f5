"""MediaWiki `pages-articles` XML dumps (.xml, .xml.bz2, multistream too) -> one plain-text document per article.

Streaming: pages are parsed with `iterparse` and cleared as soon as they are read, so memory stays at one page
whatever the dump size; the XML's own declaration or BOM decides the encoding (UTF-16 dumps read as such).
Skipped and counted by kind: redirects (the `<redirect>` element or a localized `#REDIRECT` line), pages outside the
article namespace, and disambiguation pages. A dump cut off in its compressed stream gives every page before the
cut plus one `truncated_archive` error; malformed XML gives the pages before it plus one `malformed_xml` error.

A range of a dump (`ReadContext.start`/`end`) reads the pages that start in it: in a multistream `.xml.bz2`
those of the bz2 streams that begin in the range with a `<page>` (Wikimedia writes 100 pages per stream, the
multistream index points at them), in a plain `.xml` those whose `<page>` tag begins in it. Every range needs the
dump's `<siteinfo>` (base URL, namespace names): a range after the first parses the dump's head (everything
before its first `<page>`, in the first stream) followed by its own pages, as one document. A `.gz` or `.xz` dump
and a single-stream `.bz2` cannot be split: the range that starts at 0 reads all of it. Ids are page ids.

Wikitext -> text (`wikitext_to_text`): paragraphs and section headings keep their own lines, list items become
lines; templates (infoboxes included), references, tables, galleries, math, HTML comments and tags, files/images
and categories in their localized names, interlanguage links and behaviour switches are dropped; links keep their
visible text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
import xml.etree.ElementTree as ET
from typing import BinaryIO, Callable, Iterator
from urllib.parse import quote

from corpus.document import Document, Rejection
from corpus.sources.base import (DECOMPRESSION_ERRORS, ReadContext, SalvagingDecompressor, Skipped, compression,
                                 find_boundary, find_member, make_document, open_salvaging, raw_offset)
from corpus.sources.budget import DocumentTimeout, describe

# Namespace names of files and categories in the languages we ship (the dump's <siteinfo> adds its own).
FILE_PREFIXES = {"file", "image", "media", "файл", "изображение", "картинка", "медиа", "зображення", "медіа",
                 "картинка", "образ"}
CATEGORY_PREFIXES = {"category", "категория", "категорія", "категорыя"}
REDIRECT = re.compile(r"^\s*#\s*(redirect|перенаправление|перенаправлення|пренасочване|перанакіраванне)\b",
                      re.IGNORECASE)
DISAMBIGUATION_TEMPLATES = {"disambiguation", "disambig", "dab", "disamb", "hndis", "geodis", "set index article",
                            "неоднозначность", "многозначность", "значения", "неоднозначність", "багатозначність",
                            "пояснение", "многозначност", "неадназначнасць"}
DROP_TAGS = {"ref", "references", "table", "gallery", "math", "chem", "score", "timeline", "imagemap",
             "syntaxhighlight", "source", "templatedata", "noinclude", "includeonly", "mapframe", "maplink",
             "graph", "hiero", "inputbox", "categorytree"}
LINE_TAGS = {"li", "dt", "dd", "br", "p", "div", "tr"}
_SWITCHES = re.compile(r"__[A-ZА-ЯЁ_]+__")
_EMPTY_BRACKETS = re.compile(r"\(\s*[,;:]?\s*\)|\[\s*\]")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.;:!?])")
_BLANK_LINES = re.compile(r"\n{3,}")
_INTERLANG = re.compile(r"^[a-z]{2,3}(-[a-z]+)*$")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


_COMMENT = re.compile(r"<!--.*?(-->|$)", re.S)
_REF = re.compile(r"<ref\b[^>]*/>|<ref\b[^>]*>.*?(</ref\s*>|$)", re.S | re.I)
_TAG = re.compile(r"</?[a-zA-Z][^>\n]*>")
_PLAIN_LINK = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]]*)\]\]")
_TABLE_RESIDUE = re.compile(r"^\s*(\{\||\|\}|\|-|\|\+|!)")


@lru_cache(maxsize=8)
def _delimiters(start: str, end: str) -> re.Pattern[str]:
    return re.compile(f"{re.escape(start)}|{re.escape(end)}")


def _drop_balanced(text: str, start: str, end: str) -> str:
    """Remove every span from `start` to its matching `end` (nesting counted); an unclosed span runs to the end."""
    out, depth, keep_from = [], 0, 0
    for m in _delimiters(start, end).finditer(text):   # jumps from delimiter to delimiter
        if m.group() == start:
            if depth == 0:
                out.append(text[keep_from:m.start()])
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                keep_from = m.end()
    if depth == 0:
        out.append(text[keep_from:])
    return "".join(out)


def _drop_tables(text: str) -> str:
    """Wiki tables `{| ... |}` (nested too), which start and end at line starts."""
    out, depth = [], 0
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("{|"):
            depth += 1
        elif depth and stripped.startswith("|}"):
            depth -= 1
        elif depth == 0:
            out.append(line)
    return "\n".join(out)


_LINK_BRACKETS = re.compile(r"\[\[|\]\]")


def _drop_links_to(text: str, prefixes: set[str]) -> str:
    """[[File:...]] and [[Category:...]] links with nested links in their captions. One pass, so linear in the
    page however many links it has (130,000 `[[File:` links on one page took minutes the quadratic way)."""
    pattern = re.compile(r"\[\[\s*(" + "|".join(re.escape(p) for p in sorted(prefixes)) + r")\s*:", re.I)
    out, pos = [], 0
    while (m := pattern.search(text, pos)) is not None:
        out.append(text[pos:m.start()])
        depth, pos = 0, len(text)        # an unclosed link runs to the end of the page
        for bracket in _LINK_BRACKETS.finditer(text, m.start()):
            depth += 1 if bracket.group() == "[[" else -1
            if depth == 0:
                pos = bracket.end()
                break
    out.append(text[pos:])
    return "".join(out)


def _unlink(text: str) -> str:
    """Links the parser left as text become their labels, innermost first: links nested deeper than
    mwparserfromhell's limit come out as raw `[[L|` markup otherwise. Each pass removes one level."""
    while True:
        text, found = _PLAIN_LINK.subn(r"\1", text)
        if not found:
            return text


def wikitext_to_text(wikitext: str, file_prefixes: set[str] = FILE_PREFIXES,
                     category_prefixes: set[str] = CATEGORY_PREFIXES) -> str:
    import mwparserfromhell

    # A first pass removes what most often defeats the parser on real pages (unbalanced templates inside
    # references, huge tables); mwparserfromhell then handles links, headings, lists and formatting.
    text = _COMMENT.sub("", _SWITCHES.sub("", wikitext))
    text = _REF.sub("", text)
    text = _drop_tables(_drop_balanced(text, "{{", "}}"))
    text = _drop_links_to(text, file_prefixes | category_prefixes)
    text = _render(mwparserfromhell.parse(text), file_prefixes, category_prefixes)
    # Anything the parser left as text is cleaned the plain way.
    text = _TAG.sub("", _unlink(_drop_balanced(text, "{{", "}}")))
    lines = []
    for line in text.split("\n"):
        if _TABLE_RESIDUE.match(line):
            continue
        line = _SPACE_BEFORE_PUNCT.sub(r"\1", _EMPTY_BRACKETS.sub("", line))
        line = re.sub(r"[ \t]{2,}", " ", line).strip()
        if line.startswith(("*", "#", ":", ";")):
            line = line.lstrip("*#:; ").strip()
        lines.append(line)
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _render(code, files: set[str], categories: set[str]) -> str:
    from mwparserfromhell import nodes

    out: list[str] = []
    for node in code.nodes:
        if isinstance(node, nodes.Text):
            out.append(str(node))
        elif isinstance(node, (nodes.Template, nodes.Comment, nodes.Argument)):
            continue
        elif isinstance(node, nodes.HTMLEntity):
            out.append(node.normalize())
        elif isinstance(node, nodes.Heading):
            out.append("\n\n" + _render(node.title, files, categories).strip() + "\n\n")
        elif isinstance(node, nodes.Wikilink):
            title = str(node.title).strip()
            prefix = title.lstrip(":").split(":", 1)[0].strip().lower() if ":" in title else ""
            if prefix in files or prefix in categories or (not title.startswith(":") and _INTERLANG.match(prefix)
                                                           and prefix):
                continue
            if node.text is not None:
                out.append(_render(node.text, files, categories))
            else:
                out.append(title.lstrip(":").split("#", 1)[0])
        elif isinstance(node, nodes.ExternalLink):
            if node.title is not None:
                out.append(_render(node.title, files, categories))
        elif isinstance(node, nodes.Tag):
            tag = str(node.tag).strip().lower()
            if tag in DROP_TAGS:
                continue
            if tag in LINE_TAGS:
                out.append("\n")
            if node.contents is not None and not node.self_closing:
                out.append(_render(node.contents, files, categories))
                if tag in ("p", "div", "tr"):
                    out.append("\n")
        else:
            out.append(str(node))
    return "".join(out)


def _is_disambiguation(wikitext: str) -> bool:
    for match in re.finditer(r"\{\{\s*([^|}]+)", wikitext):
        if match.group(1).strip().lower().replace("_", " ") in DISAMBIGUATION_TEMPLATES:
            return True
    return False


# A stream that begins with a page, in UTF-8 (or any ASCII-compatible encoding) or UTF-16 (LE, BE).
_PAGE_FIRST = re.compile(rb"[ \t\r\n]*<page>|(?:[ \t\r\n]\x00)*<\x00p\x00a\x00g\x00e\x00>\x00|"
                         rb"(?:\x00[ \t\r\n])*\x00<\x00p\x00a\x00g\x00e\x00>")
_CHUNK = 1 << 16


def _starts_page(data: bytes) -> bool:
    return _PAGE_FIRST.match(data) is not None


def _page_tag(first_bytes: bytes) -> tuple[bytes, str]:
    """`<page>` in the dump's encoding, told by its first bytes (a BOM, or `<` as UTF-16), and that encoding."""
    if first_bytes.startswith((b"\xff\xfe", b"<\x00")):
        return "<page>".encode("utf-16-le"), "utf-16-le"
    if first_bytes.startswith((b"\xfe\xff", b"\x00<")):
        return "<page>".encode("utf-16-be"), "utf-16-be"
    return b"<page>", "utf-8"


@dataclass
class _Piece:
    """What the XML parser is fed for one range: the dump's head (empty when the range starts at 0), then the
    range's bytes; `first` is the raw offset where they begin. `ends_file` (known once `chunks` is used up) says
    whether the range ran to the end of the file, where the parser must see the document close."""

    head: bytes
    chunks: Iterator[bytes]
    first: int
    damage: SalvagingDecompressor | None
    ends_file: Callable[[], bool]


def _chunks(f: BinaryIO, limit: int | None = None) -> Iterator[bytes]:
    while (limit is None or limit > 0) and (chunk := f.read(_CHUNK if limit is None else min(_CHUNK, limit))):
        if limit is not None:
            limit -= len(chunk)
        yield chunk


def _plain_piece(stream: BinaryIO, ctx: ReadContext) -> _Piece | None:
    stream.seek(0)
    tag, encoding = _page_tag(stream.read(4))
    step = 2 if encoding.startswith("utf-16") else 1
    pattern = re.compile(re.escape(tag))

    def page_at_or_after(pos: int, end: int | None = None) -> int | None:
        return find_boundary(stream, pos, end, pattern, lambda at: at % step == 0)   # a UTF-16 tag is aligned

    begin = 0 if ctx.start == 0 else page_at_or_after(ctx.start, ctx.end)
    if begin is None:
        return None
    stop = None if ctx.end is None else page_at_or_after(ctx.end)
    head = b""
    if begin > 0:
        first_page = page_at_or_after(0, begin + 1)
        stream.seek(0)
        head = stream.read(first_page)
    stream.seek(begin)
    return _Piece(head, _chunks(stream, None if stop is None else stop - begin), begin, None, lambda: stop is None)


def _bz2_head(stream: BinaryIO, path: str) -> bytes:
    """The decompressed dump before its first `<page>` (the root's start tag and `<siteinfo>`): the first stream
    of a Wikimedia multistream dump, which is small, so only the start of the file is read."""
    stream.seek(0)
    f, _ = open_salvaging(stream, path)
    head = f.read(_CHUNK)
    tag, _encoding = _page_tag(head[:4])
    while (at := head.find(tag)) < 0 and (chunk := f.read(_CHUNK)):
        head += chunk
    return head if at < 0 else head[:at]


def _bz2_piece(stream: BinaryIO, ctx: ReadContext) -> _Piece | None:
    begin = 0 if ctx.start == 0 else find_member(stream, "bz2", ctx.start, ctx.end, _starts_page)
    if begin is None:
        return None
    head = b""
    if begin > 0:
        head = _bz2_head(stream, ctx.path)
        stream.seek(begin)
    f, damage = open_salvaging(stream, ctx.path, begin, ctx.end, _starts_page)
    assert damage is not None
    return _Piece(head, _chunks(f), begin, damage, lambda: not damage.stopped)


def _open_piece(stream: BinaryIO, ctx: ReadContext) -> _Piece | None:
    """The bytes to parse for `ctx`'s range; None when no page starts in it."""
    kind = compression(ctx.path)
    if (ctx.start == 0 and ctx.end is None) or kind in ("gz", "xz"):
        if ctx.start > 0:
            return None   # cannot be split: the range from 0 reads it all
        f, damage = open_salvaging(stream, ctx.path)
        return _Piece(b"", _chunks(f), 0, damage, lambda: True)
    return _bz2_piece(stream, ctx) if kind == "bz2" else _plain_piece(stream, ctx)


def _events(piece: _Piece) -> Iterator[tuple[str, ET.Element]]:
    """`iterparse`'s events over the head and the range's bytes; the document is closed (and a missing end tag
    reported) only where the range ends the file."""
    parser = ET.XMLPullParser(events=("start", "end"))
    parser.feed(piece.head)
    for chunk in piece.chunks:
        parser.feed(chunk)
        yield from parser.read_events()
    if piece.ends_file():
        parser.close()
        yield from parser.read_events()


def read_wikipedia(stream: BinaryIO, ctx: ReadContext) -> Iterator[Document | Rejection | Skipped]:
    piece = _open_piece(stream, ctx)
    if piece is None:
        return
    base = ""
    files, categories = set(FILE_PREFIXES), set(CATEGORY_PREFIXES)
    page: dict[str, str | bool] = {}
    root = None
    try:
        for event, elem in _events(piece):
            tag = _local(elem.tag)
            if event == "start":
                if root is None:
                    root = elem
                if tag == "page":
                    page = {}
                continue
            if tag == "base":
                base = (elem.text or "").rsplit("/", 1)[0] + "/"
            elif tag == "namespace":
                name = (elem.text or "").strip().lower()
                if elem.get("key") == "6":
                    files.add(name)
                elif elem.get("key") == "14":
                    categories.add(name)
            elif tag in ("title", "ns", "id") and tag not in page:
                page[tag] = elem.text or ""
            elif tag == "redirect":
                page["redirect"] = True
            elif tag == "text":
                page["text"] = elem.text or ""
            elif tag == "page":
                yield _safe_page(page, ctx, base, files, categories)
                elem.clear()
                if root is not None:
                    root.clear()   # drop finished pages: memory stays at one page
    except ET.ParseError as exc:
        if piece.damage is None or piece.damage.error is None:
            yield ctx.error("malformed_xml", _line(piece, exc.position[0]), f"XML error: {exc}")
    except DECOMPRESSION_ERRORS as exc:
        yield ctx.error("corrupt_archive", raw_offset(stream), f"{type(exc).__name__}: {exc}")
    if piece.damage is not None and piece.damage.error is not None:
        yield ctx.error(piece.damage.error[0], piece.damage.error_at, piece.damage.error[1])


def _line(piece: _Piece, line: int) -> str:
    """An XML error's line: in the file, or for a range after the first, counted from the range's first byte."""
    if not piece.first:
        return f"line {line}"
    head_lines = piece.head.decode(_page_tag(piece.head[:4])[1], errors="replace").count("\n")
    return f"{piece.first}+line {line - head_lines}"


def _safe_page(page: dict, ctx: ReadContext, base: str, files: set[str], categories: set[str]
               ) -> Document | Rejection | Skipped:
    """`_page`, with a page past its time budget a `timeout` and anything else it raises a `reader_error`."""
    try:
        return _page(page, ctx, base, files, categories)
    except DocumentTimeout:
        reason, message = "timeout", f"markup removal ran past {ctx.budget.seconds:g} s"
    except Exception as exc:  # noqa: BLE001 - one page's failure is its rejection, never the piece's end
        reason, message = "reader_error", describe(exc)
    size = len(str(page.get("text", "")).encode("utf-8", errors="replace"))
    return ctx.error(reason, f"page {page.get('id') or page.get('title', '')}", message, n_bytes=size)


def _page(page: dict, ctx: ReadContext, base: str, files: set[str], categories: set[str]
          ) -> Document | Rejection | Skipped:
    wikitext = str(page.get("text", ""))
    size = len(wikitext.encode("utf-8"))
    if str(page.get("ns", "0")).strip() != "0":
        return Skipped(ctx.source, f"namespace_{str(page.get('ns')).strip()}", size)
    if page.get("redirect") or REDIRECT.match(wikitext):
        return Skipped(ctx.source, "redirect", size)
    if _is_disambiguation(wikitext):
        return Skipped(ctx.source, "disambiguation", size)
    title = str(page.get("title", ""))
    key = str(page.get("id", "")) or title
    if size > ctx.max_doc_bytes:
        return ctx.error("doc_too_large", f"page {key}", f"{size} bytes of wikitext", n_bytes=size)
    text = ctx.parse(wikitext_to_text, wikitext, files, categories)
    if not text:
        return ctx.error("no_text", f"page {key}", f"nothing left of {title!r} after markup removal", n_bytes=size)
    url = base + quote(title.replace(" ", "_"), safe="/:()'!,*_-.") if base else None
    return make_document(ctx, key, text, url=url, title=title)
