"""MediaWiki `pages-articles` XML dumps (.xml, .xml.bz2, multistream too) -> one plain-text document per article.

Streaming: pages are parsed with `iterparse` and cleared as soon as they are read, so memory stays at one page
whatever the dump size; the XML's own declaration or BOM decides the encoding (UTF-16 dumps read as such).
Skipped and counted by kind: redirects (the `<redirect>` element or a localized `#REDIRECT` line), pages outside the
article namespace, and disambiguation pages (the `__DISAMBIG__` switch or a disambiguation template of any
language in `wikipedia_names.yaml`). A dump cut off in its compressed stream gives every page before the
cut plus one `truncated_archive` error; malformed XML gives the pages before it plus one `malformed_xml` error.

A range of a dump (`ReadContext.start`/`end`) reads the pages that start in it: in a multistream `.xml.bz2`
those of the bz2 streams that begin in the range with a `<page>` (Wikimedia writes 100 pages per stream, the
multistream index points at them), in a plain `.xml` those whose `<page>` tag begins in it. Every range needs the
dump's `<siteinfo>` (base URL, namespace names): a range after the first parses the dump's head (everything
before its first `<page>`, in the first stream) followed by its own pages, as one document. A `.gz` or `.xz` dump
and a single-stream `.bz2` cannot be split: the range that starts at 0 reads all of it. Ids are page ids.

Wikitext -> text (`wikitext_to_text`): paragraphs and section headings keep their own lines, list items become
lines; templates (infoboxes included), references, tables (indented ones too), galleries, math, HTML comments and
tags, bold and italic quotes (balanced or not), files/images and categories under the names and aliases of every
language in `wikipedia_names.yaml` plus the dump's own, interlanguage links and behaviour switches are dropped;
links keep their visible text, HTML entities become characters. Appendix sections ("See also", "Примечания",
"外部リンク", ...) go with their body, and so do list items that are only an external link; separators and
parentheses left empty where templates stood are tidied. `markup_residue` names any markup left in a text.
"""

from __future__ import annotations

import html
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
from corpus.sources.languages import reader_data

# Per-language names (files, categories, disambiguation templates, appendix sections) as data, loaded once.
_NAMES: dict[str, dict[str, list[str]]] = reader_data("wikipedia_names")


def _name_key(name: str) -> str:
    """A name as the cleaner compares it: MediaWiki ignores the case of a namespace and reads `_` as a space."""
    return " ".join(str(name).replace("_", " ").split()).lower()


def _names(key: str) -> set[str]:
    """One kind of name (`file`, `redirect`, ...) over every language of `wikipedia_names.yaml`: a page may use
    the names of any wiki (the English canonical ones work everywhere, markup is pasted across wikis)."""
    return {_name_key(name) for language in _NAMES.values() for name in language.get(key, [])}

# Namespace names of files and categories in the languages we ship (the dump's <siteinfo> adds its own).
FILE_PREFIXES = _names("file")
CATEGORY_PREFIXES = _names("category")
TEMPLATE_PREFIXES = _names("template")
REDIRECT = re.compile(r"^\s*#\s*(" + "|".join(re.escape(word) for word in sorted(_names("redirect"))) + r")\b",
                      re.IGNORECASE)
DISAMBIGUATION_TEMPLATES = _names("disambiguation_templates")
DISAMBIGUATION_SWITCHES = {name.upper() for name in _names("disambiguation_magic")}
APPENDIX_SECTIONS = {name.casefold() for name in _names("appendix_sections")}
APPENDIX_SECTIONS_UNLESS_PROSE = {name.casefold() for name in _names("appendix_sections_unless_prose")}
DROP_TAGS = {"ref", "references", "table", "gallery", "math", "chem", "score", "timeline", "imagemap",
             "syntaxhighlight", "source", "templatedata", "noinclude", "includeonly", "mapframe", "maplink",
             "graph", "hiero", "inputbox", "categorytree"}
LINE_TAGS = {"li", "dt", "dd", "br", "p", "div", "tr"}
# Behaviour switches (`__NOTOC__`, `__БЕЗЗМІСТУ__`, `__目次__`): upper case or caseless, never `__init__`.
_SWITCH = re.compile(r"__([^\W_]+(?:_[^\W_]+)*)__")
# A space a removed template left before punctuation ("word , next"); not before `.NET` or `.png`. From a run's
# start only, so linear.
_SPACE_BEFORE_PUNCT = re.compile(r"(?<![ \t])[ \t]+([,.;:!?])(?!\w)")
_BLANK_LINES = re.compile(r"\n{3,}")
_INTERLANG = re.compile(r"^[a-z]{2,3}(-[a-z]+)*$")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


_COMMENT = re.compile(r"<!--.*?(-->|$)", re.S)
_REF = re.compile(r"<ref\b[^>]*/>|<ref\b[^>]*>.*?(</ref\s*>|$)", re.S | re.I)
_TAG = re.compile(r"</?[a-zA-Z][^>\n]*>")
_PLAIN_LINK = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]]*)\]\]")
# A line the text never starts with: table markup (`{|`, `|}`, `|-`, cells) and template parameters that leaked.
_TABLE_RESIDUE = re.compile(r"^\s*(\{\||\||!)")
# Bold and italic: a run of two or more apostrophes, balanced or not (MediaWiki's doQuotes).
_QUOTE_RUN = re.compile(r"'{2,}")
_HEADING = re.compile(r"^(={1,6})(.+?)(={1,6})\s*$")
# A list item that is an external link (`* [http://... Site]`, `* http://...`): a link line, not prose.
_EXTERNAL_LINK_LINE = re.compile(r"^[*#:;]+[ \t]*\[?(?:(?:https?|ftp):)?//[^\n]*(?:\n|$)", re.M | re.I)
# A line of body text in a section: not a list item, table, template, tag, link, heading or blank.
_PROSE_LINE = re.compile(r"\s*[^\s*#:;|!{}<\[=]")
_FILE_EXTENSIONS = r"(?:jpe?g|png|svg|gif|tiff?|webp|xcf|pdf|djvu|ogg|oga|ogv|webm|mp3|mp4|flac|wav|mid|stl)"
# `Name:Something.jpg`, a link to a file under a namespace name we do not know (a language not in our data).
_FILE_TITLE = re.compile(r"[^:\[\]|]{1,40}:[^\n]*\." + _FILE_EXTENSIONS + r"\s*", re.I)
# A gallery line that reached the text (`File:Flag.svg|caption`, `|Файл:x.jpg|`, `Flag.svg`).
_GALLERY_LINE = re.compile(r"\|?[^|\n]*[^\s|]\." + _FILE_EXTENSIONS + r"\s*(?:\|.*)?$", re.I)   # not ": .png"
_FILE_NAME_WORDS = 6      # a bare line ending in a file name with more words is a sentence ("... as Logo.svg")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_UNCLOSED_LINK = re.compile(r"\[\[[^\[\]|\n]*\|")
_MARKUP_FRAGMENT = re.compile(r"\[\[|\]\]|\{\{|\}\}")
# Separators left where a template stood inside parentheses: "(; born 1990)", "(Akhilleus, )", "（、）", "()".
# A character class's body: spaces within a line (never a newline: the patterns run over the whole text), Latin
# and CJK commas, semicolons, colons.
_SEPARATORS = " \\t\u00a0\u3000,;:、，；"
_SEPARATORS_AFTER_OPENING = re.compile(f"([(（])[{_SEPARATORS}]+")
_SEPARATORS_BEFORE_CLOSING = re.compile(f"(?<![{_SEPARATORS}])[{_SEPARATORS}]+(?=[)）])")   # linear: a run's start
_EMPTY_BRACKETS = re.compile(r"[(（][ \t\u00a0\u3000]*[)）]|\[[ \t\u00a0\u3000]*\]")
_SPACE_RUN = re.compile(r"[ \t]{2,}")
# Two separators in a row where a template stood between them ("Hán:; 19", "Rosenbaum,; born"): the last stays.
# `::` is never one (`std::vector`).
_SEPARATOR_RUN = re.compile(r"[,;:、，；](?:[ \t]*[,;、，；])+")


def _is_gallery_line(line: str) -> bool:
    """A line ending in a file name that has a gallery entry's shape: a `|` (leading, or before a caption), a
    namespace prefix, or nothing but the name."""
    if not _GALLERY_LINE.match(line):
        return False
    stripped = line.strip()
    namespace = stripped.partition(":")[0]
    return ("|" in stripped or len(stripped.split()) < _FILE_NAME_WORDS
            or (len(namespace.split()) <= 2 and _FILE_TITLE.match(stripped) is not None))


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
        stripped = line.lstrip(" \t:")   # `:{|` and `::{|`: a table indented as a definition
        if stripped.startswith("{|"):
            depth += 1
        elif depth and stripped.startswith("|}"):
            depth -= 1
        elif depth == 0:
            out.append(line)
    return "\n".join(out)


_LINK_BRACKETS = re.compile(r"\[\[|\]\]")


@lru_cache(maxsize=16)
def _namespace_link(prefixes: frozenset[str]) -> re.Pattern[str]:
    """`[[` then one of `prefixes` and a colon; a space in a name also matches `_` (`[[Tập_tin:`)."""
    names = "|".join(re.escape(p).replace(r"\ ", r"[ _]+") for p in sorted(prefixes, key=len, reverse=True))
    return re.compile(r"\[\[\s*:?\s*(" + names + r")\s*:", re.I)


def _drop_links_to(text: str, prefixes: set[str]) -> str:
    """[[File:...]] and [[Category:...]] links with nested links in their captions. One pass, so linear in the
    page however many links it has (130,000 `[[File:` links on one page took minutes the quadratic way)."""
    pattern = _namespace_link(frozenset(prefixes))
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
    # references, huge tables, unbalanced bold and italic); mwparserfromhell then handles links, headings,
    # lists and tags.
    text = _COMMENT.sub("", _SWITCH.sub(_drop_switch, wikitext))
    text = _QUOTE_RUN.sub(_quote_run_residue, text)
    text = _REF.sub("", text)
    text = _drop_tables(_drop_balanced(text, "{{", "}}"))
    text = _drop_links_to(text, file_prefixes | category_prefixes)
    text = _EXTERNAL_LINK_LINE.sub("", _drop_appendix_sections(text))
    text = _render(mwparserfromhell.parse(text), file_prefixes, category_prefixes)
    # Anything the parser left as text is cleaned the plain way.
    text = _drop_link_fragments(_unlink(_drop_balanced(text, "{{", "}}")))
    text = _ENTITY.sub(_decode_entity, _TAG.sub("", text))
    text = "\n".join(line for line in text.split("\n")
                     if not (_TABLE_RESIDUE.match(line) or _is_gallery_line(line)))
    # Whole-text passes (none crosses a newline): one call per page, not per line.
    text = _SPACE_RUN.sub(" ", _SPACE_BEFORE_PUNCT.sub(r"\1", _drop_empty_brackets(text)))
    lines = []
    for line in text.split("\n"):
        line = line.strip()
        if line.startswith(("*", "#", ":", ";")):
            line = line.lstrip("*#:; ").strip()
        lines.append(line)
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _drop_switch(match: re.Match[str]) -> str:
    """Switches are upper case (or caseless, as CJK): `__init__` in an article on Python stays."""
    word = match.group(1)
    return "" if word == word.upper() else match.group()


def _quote_run_residue(match: re.Match[str]) -> str:
    """What a run of apostrophes leaves as text: MediaWiki reads 4 as an apostrophe then bold, and more than 5 as
    apostrophes then bold italic; 2, 3 and 5 are all markup."""
    n = len(match.group())
    return "'" if n == 4 else "'" * max(0, n - 5)


def _decode_entity(match: re.Match[str]) -> str:
    """`&amp;`, `&#8212;`, `&mdash;` -> the character; a no-break space becomes a plain one. Unknown names stay."""
    return _plain(html.unescape(match.group()))


def _plain(char: str) -> str:
    """A no-break space is a plain one in the text (the layout it kept together is gone)."""
    return " " if char == "\xa0" else char


def _drop_link_fragments(text: str) -> str:
    """`[[`, `]]`, `{{`, `}}` that belong to no whole link or template (a link cut by a template that held half
    of it, an unclosed link): the brackets go, an unclosed link keeps its label."""
    return _MARKUP_FRAGMENT.sub("", _UNCLOSED_LINK.sub("", text))


def _drop_empty_brackets(text: str) -> str:
    """Separators a removed template left (doubled, or inside parentheses) go, then the parentheses left empty."""
    text = _SEPARATORS_AFTER_OPENING.sub(r"\1", _SEPARATOR_RUN.sub(_last_separator, text))
    return _EMPTY_BRACKETS.sub("", _SEPARATORS_BEFORE_CLOSING.sub("", text))


def _last_separator(match: re.Match[str]) -> str:
    return match.group()[-1]


def _heading_name(title: str) -> str:
    """A heading's title as the appendix lists spell it: markup, entities and a trailing colon gone."""
    title = _ENTITY.sub(_decode_entity, _TAG.sub("", _unlink(title)))
    return " ".join(title.split()).rstrip(":").strip().casefold()


def _drop_appendix_sections(text: str) -> str:
    """Appendix sections ("See also", "Примечания", "外部リンク", ...) with their body, to the next heading of the
    same or a higher level. A section whose name also titles content sections is kept if its body has prose.
    One pass over the lines: a kept-back section is buffered until its end is known."""
    out: list[str] = []
    section: list[str] | None = None    # the lines of the appendix section being read, heading first
    level, unless_prose, has_prose = 0, False, False
    for line in text.split("\n"):
        heading = _HEADING.match(line) if line.startswith("=") else None
        depth = min(len(heading.group(1)), len(heading.group(3))) if heading else 0
        if section is not None:
            if not heading or depth > level:
                section.append(line)
                has_prose = has_prose or (unless_prose and _PROSE_LINE.match(line) is not None)
                continue
            if unless_prose and has_prose:
                out.extend(section)
            section = None
        if heading:
            name = _heading_name(heading.group(2))
            if name in APPENDIX_SECTIONS or name in APPENDIX_SECTIONS_UNLESS_PROSE:
                section, level = [line], depth
                unless_prose, has_prose = name not in APPENDIX_SECTIONS, False
                continue
        out.append(line)
    if section is not None and unless_prose and has_prose:
        out.extend(section)
    return "\n".join(out)


def _render(code, files: set[str], categories: set[str]) -> str:
    from mwparserfromhell import nodes

    out: list[str] = []
    for node in code.nodes:
        if isinstance(node, nodes.Text):
            out.append(str(node))
        elif isinstance(node, (nodes.Template, nodes.Comment, nodes.Argument)):
            continue
        elif isinstance(node, nodes.HTMLEntity):
            out.append(_plain(node.normalize()))
        elif isinstance(node, nodes.Heading):
            out.append("\n\n" + _render(node.title, files, categories).strip() + "\n\n")
        elif isinstance(node, nodes.Wikilink):
            title = str(node.title).strip()
            prefix = _name_key(title.lstrip(":").split(":", 1)[0]) if ":" in title else ""
            if (prefix in files or prefix in categories or _FILE_TITLE.fullmatch(title.lstrip(":"))
                    or (not title.startswith(":") and _INTERLANG.match(prefix) and prefix)):
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


_TEMPLATE_NAME = re.compile(r"\{\{\s*([^|{}]+)")


def _is_disambiguation(wikitext: str) -> bool:
    """A disambiguation page: the `__DISAMBIG__` switch (Disambiguator) or a disambiguation template of any
    language we ship (`{{disambiguation}}`, `{{неоднозначность}}`, `{{aimai}}`, `{{Template:Dab}}`)."""
    if any(m.group(1).upper() in DISAMBIGUATION_SWITCHES for m in _SWITCH.finditer(wikitext)):
        return True
    for match in _TEMPLATE_NAME.finditer(wikitext):
        name = _name_key(match.group(1))
        namespace, colon, rest = name.partition(":")
        if name in DISAMBIGUATION_TEMPLATES or (colon and namespace.strip() in TEMPLATE_PREFIXES
                                                 and rest.strip() in DISAMBIGUATION_TEMPLATES):
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
                name = _name_key(elem.text or "")
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


# ---------------------------------------------------------------- markup residue (what cleaning must never leave)

# Every kind a reader would call leftover markup, by a name the bench and the tests report.
_RESIDUE = {
    "quotes": re.compile(r"''"),
    "[[": re.compile(r"\[\["),
    "]]": re.compile(r"\]\]"),
    "{{": re.compile(r"\{\{"),
    "}}": re.compile(r"\}\}"),
    "{|": re.compile(r"\{\|"),
    "|}": re.compile(r"\|\}"),
    "|- line": re.compile(r"^[ \t]*\|-", re.M),   # [ \t], not \s: `^\s*` rescans every blank line after it
    "entity": re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});"),
    "<ref": re.compile(r"<ref", re.I),
    "tag": re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>\n]*)?/?>"),
    "table cell": re.compile(r"^[ \t]*\||^[ \t]*![^\n]*!!", re.M),
    "image option": re.compile(r"\bthumb(?:nail)?\||\d+(?:px|пкс)\b|\|\s*(?:left|right|center|upright)\s*\|",
                               re.I),
    "file link": re.compile(r"(?:^|[\s|\[])[^\s|:\[\]]{2,12}:[^\n|\]]{0,200}\." + _FILE_EXTENSIONS + r"\b", re.I),
    "gallery line": re.compile(r"^(?:[ \t]*\|)?[^\n|]*\." + _FILE_EXTENSIONS + r"\s*(?:\||$)", re.I | re.M),
    "category link": re.compile(r"^[ \t]*(?:" + "|".join(sorted(re.escape(name) for name in CATEGORY_PREFIXES))
                                + r")\s*:", re.I | re.M),
    "empty parentheses": re.compile(r"[(（][\s,;:、，；]*[)）]|[(（]\s*[,;:、，；]|[,;:、，；]\s*[)）]"),
    "external link": re.compile(r"\[(?:https?:)?//"),
    "magic word": re.compile(r"__[A-Z]{3,}__"),
}


def markup_residue(text: str) -> list[str]:
    """The kinds of wikitext markup left in cleaned `text` (empty: none). The bench and the tests count them."""
    return [kind for kind, pattern in _RESIDUE.items() if pattern.search(text)]
