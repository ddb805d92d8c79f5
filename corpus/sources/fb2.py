"""FictionBook (`.fb2`, `.fb2.zip`): the format most Russian e-books circulate in.

The text is the main `<body>`: section titles, paragraphs, subtitles, verse lines and epigraphs, one paragraph per
`<p>` (verse stanzas keep their lines). Left out: bodies of notes and comments, note references, annotations,
binary images and the rest of the description. Title, author and language come from `<title-info>` (the language is informative: stage 3 decides). The XML's declared
encoding is honoured (windows-1251 fb2 files are common); a damaged file is read with lxml's recovering parser and
counted as `malformed_xml` only when nothing readable is left.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Iterator

from corpus.document import Document, Rejection
from corpus.sources.base import ReadContext, make_document

# Block elements whose text is a paragraph of its own.
_PARAGRAPHS = {"p", "v", "subtitle", "text-author"}
_SKIP = {"binary", "annotation", "description", "image"}
_XML_SPACE = re.compile(r"[ \t\r\n]+")


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _inline_text(elem) -> str:
    """Text of a paragraph without note references (`<a type="note">`)."""
    parts = [elem.text or ""]
    for child in elem:
        is_note = _local(child.tag) == "a" and (child.get("type") == "note")
        if not is_note:
            parts.append(_inline_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _squash(text: str) -> str:
    """Fold XML line breaks and indentation; no-break spaces are the author's and stay."""
    return _XML_SPACE.sub(" ", text).strip(" \t\r\n")


def _blocks(elem, out: list[str]) -> None:
    for child in elem:
        tag = _local(child.tag)
        if tag in _SKIP:
            continue
        if tag in _PARAGRAPHS:
            text = _squash(_inline_text(child))
            if text:
                out.append(text)
        elif tag == "stanza":
            lines = [_squash(_inline_text(v)) for v in child if _local(v.tag) == "v"]
            if any(lines):
                out.append("\n".join(x for x in lines if x))
        else:
            _blocks(child, out)


def fb2_text(data: bytes) -> tuple[str, str | None, str | None, str | None]:
    """(text, title, author, language) of a FictionBook file."""
    from lxml import etree

    parser = etree.XMLParser(recover=True, huge_tree=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(data, parser=parser)
    if root is None:
        return "", None, None, None
    title = lang = author = None
    paragraphs: list[str] = []
    for child in root:
        tag = _local(child.tag)
        if tag == "description":
            for node in child.iter():
                name = _local(node.tag)
                if name == "book-title" and title is None and node.text:
                    title = " ".join(node.text.split())
                elif name == "lang" and lang is None and node.text:
                    lang = node.text.strip()
                elif name == "author" and author is None and _local(node.getparent().tag) == "title-info":
                    parts = [(n.text or "").strip() for n in node if _local(n.tag) in ("first-name", "middle-name",
                                                                                       "last-name")]
                    author = " ".join(p for p in parts if p) or None
        elif tag == "body" and child.get("name") not in ("notes", "comments", "footnotes"):
            _blocks(child, paragraphs)
    return "\n\n".join(paragraphs), title, author, lang


def read_fb2(data: bytes, ctx: ReadContext, name: str) -> Iterator[Document | Rejection]:
    if name.lower().endswith(".zip"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = sorted(n for n in archive.namelist() if n.lower().endswith(".fb2"))
                if not members:
                    yield ctx.error("empty_archive", 0, "no .fb2 inside the zip", n_bytes=len(data))
                    return
                for member in members:
                    yield from _one(archive.read(member), ctx, member if len(members) > 1 else None)
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            yield ctx.error("corrupt_archive", 0, f"{type(exc).__name__}: {exc}", n_bytes=len(data))
        return
    yield from _one(data, ctx, None)


def _one(data: bytes, ctx: ReadContext, key: str | None) -> Iterator[Document | Rejection]:
    try:
        text, title, author, _lang = fb2_text(data)   # the language is left to language ID
    except Exception as exc:  # noqa: BLE001 - lxml raises several types on hopeless input; all are counted
        yield ctx.error("malformed_xml", 0, f"{type(exc).__name__}: {exc}", n_bytes=len(data))
        return
    if not text.strip():
        yield ctx.error("malformed_xml" if b"<FictionBook" not in data[:4096] else "empty_file", 0,
                        "no readable FictionBook body", n_bytes=len(data))
        return
    yield make_document(ctx, key, text, title=title, author=author)
