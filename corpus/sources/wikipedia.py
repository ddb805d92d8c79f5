"""MediaWiki `pages-articles` XML dumps (.xml, .xml.bz2, multistream too) -> one plain-text document per article.

Streaming: pages are parsed with `iterparse` and cleared as soon as they are read, so memory stays at one page
whatever the dump size; the XML's own declaration or BOM decides the encoding (UTF-16 dumps read as such).
Skipped and counted by kind: redirects (the `<redirect>` element or a localized `#REDIRECT` line), pages outside the
article namespace, and disambiguation pages. A dump cut off in its compressed stream gives every page before the
cut plus one `truncated_archive` error; malformed XML gives the pages before it plus one `malformed_xml` error.

Wikitext -> text (`wikitext_to_text`): paragraphs and section headings keep their own lines, list items become
lines; templates (infoboxes included), references, tables, galleries, math, HTML comments and tags, files/images
and categories in their localized names, interlanguage links and behaviour switches are dropped; links keep their
visible text.
"""

from __future__ import annotations

import re
from functools import lru_cache
import xml.etree.ElementTree as ET
from typing import BinaryIO, Iterator
from urllib.parse import quote

from corpus.document import Document, Rejection
from corpus.sources.base import DECOMPRESSION_ERRORS, ReadContext, Skipped, make_document, open_salvaging

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


def _drop_links_to(text: str, prefixes: set[str]) -> str:
    """[[File:...]] and [[Category:...]] links with nested links in their captions."""
    pattern = re.compile(r"\[\[\s*(" + "|".join(re.escape(p) for p in sorted(prefixes)) + r")\s*:", re.I)
    while (m := pattern.search(text)) is not None:
        depth, i = 0, m.start()
        while i < len(text):
            if text.startswith("[[", i):
                depth += 1
                i += 2
            elif text.startswith("]]", i):
                depth -= 1
                i += 2
                if depth == 0:
                    break
            else:
                i += 1
        text = text[:m.start()] + text[i:]
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
    text = _TAG.sub("", _PLAIN_LINK.sub(r"\1", _drop_balanced(text, "{{", "}}")))
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


def read_wikipedia(stream: BinaryIO, ctx: ReadContext) -> Iterator[Document | Rejection | Skipped]:
    f, damage = open_salvaging(stream, ctx.path)
    base = ""
    files, categories = set(FILE_PREFIXES), set(CATEGORY_PREFIXES)
    page: dict[str, str | bool] = {}
    root = None
    try:
        for event, elem in ET.iterparse(f, events=("start", "end")):
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
                yield _page(page, ctx, base, files, categories)
                elem.clear()
                if root is not None:
                    root.clear()   # drop finished pages: memory stays at one page
    except ET.ParseError as exc:
        if damage is None or damage.error is None:
            yield ctx.error("malformed_xml", f"line {exc.position[0]}", f"XML error: {exc}")
    except DECOMPRESSION_ERRORS as exc:
        yield ctx.error("corrupt_archive", "end", f"{type(exc).__name__}: {exc}")
    if damage is not None and damage.error is not None:
        yield ctx.error(damage.error[0], "end", damage.error[1])


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
    text = wikitext_to_text(wikitext, files, categories)
    if not text:
        return ctx.error("no_text", f"page {key}", f"nothing left of {title!r} after markup removal", n_bytes=size)
    url = base + quote(title.replace(" ", "_"), safe="/:()'!,*_-.") if base else None
    return make_document(ctx, key, text, url=url, title=title)
