"""Plain-text books (`books`) and one-document-per-file text (`text`).

Books: Project Gutenberg header, licence and footer removed; e-book-site notices at the top and bottom removed;
hard-wrapped lines re-joined into paragraphs (verse and other short-line blocks keep their lines); UTF-8/UTF-16,
windows-1251 and KOI8-R detected (`encoding.py`); FictionBook files go to `fb2.py`.
"""

from __future__ import annotations

import re
from typing import BinaryIO, Iterator

from corpus.document import Document, Rejection
from corpus.sources.base import (DECOMPRESSION_ERRORS, Damaged, ReadContext, looks_binary, make_document,
                                 open_decompressed, open_salvaging, read_capped)
from corpus.sources.encoding import decode_text_file, utf16_without_bom
from corpus.sources.fb2 import read_fb2

_PG_START = re.compile(r"^\s*\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG.*$", re.I | re.M)
_PG_END = re.compile(r"^\s*(?:\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG|End of (?:the )?Project Gutenberg)"
                     r".*$", re.I | re.M)
_PG_TITLE = re.compile(r"^\s*Title:\s*(.+)$", re.M)
_PG_AUTHOR = re.compile(r"^\s*Author:\s*(.+)$", re.M)
# Transcriber credits that PG puts right after the START line.
_PG_CREDITS = re.compile(r"^(?:Produced by|Transcribed by|E-text prepared by|This e-?book was produced)", re.I)

# Notices that e-book sites (royallib, litres, flibusta, lib.ru, ...) put around a book: a line with a link,
# or one of these phrases. Only looked for in the first and last few lines, never in the body.
_SITE_NOTICE = re.compile(
    r"(https?://|www\.|\b[\w-]+\.(?:ru|com|net|org|su|info)\b|спасибо, что скачали|приятного чтения|"
    r"все книги автора|эта же книга в других форматах|электронн\w+ библиотек|скачать книгу|"
    r"текст предоставлен|ознакомительный фрагмент|купить книгу|thank you for downloading)", re.I)
_EDGE_LINES = 25
# Phrases only a site notice uses: removed wherever they stand (royallib puts its footer before the end notes).
_NOTICE_PHRASE = re.compile(r"(спасибо, что скачали книгу|оставить отзыв о книге|все книги автора:|"
                            r"эта же книга в других форматах|приятного чтения!)", re.I)


def strip_gutenberg(text: str) -> tuple[str, str | None]:
    """Keep what lies between PG's START and END markers; return (text, title from the header)."""
    title_match = _PG_TITLE.search(text[:5000])
    title = title_match.group(1).strip() if title_match else None
    start = _PG_START.search(text)
    if start:
        text = text[start.end():]
        end = _PG_END.search(text)
        if end:
            text = text[:end.start()]
        lines = text.split("\n")
        head = 0
        while head < min(len(lines), 40) and (not lines[head].strip() or _PG_CREDITS.match(lines[head].strip())):
            if _PG_CREDITS.match(lines[head].strip()):
                # A credits paragraph runs to the next blank line.
                while head < len(lines) and lines[head].strip():
                    head += 1
            head += 1
        text = "\n".join(lines[head:])
    return text, title


def strip_site_notices(text: str) -> str:
    """Drop e-book-site notice lines: links and notices among the first and last lines, notice phrases anywhere."""
    lines = text.split("\n")
    idx = [i for i, line in enumerate(lines) if line.strip()]
    drop = {i for i in idx[:_EDGE_LINES] + idx[-_EDGE_LINES:] if _SITE_NOTICE.search(lines[i])}
    # One search over the whole text, not one per line: line numbers are only worked out for the few hits.
    drop |= {text.count("\n", 0, m.start()) for m in _NOTICE_PHRASE.finditer(text)}
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


def _wrap_width(lines: list[str]) -> int:
    lengths = sorted(len(x.rstrip()) for x in lines if x.strip())
    return lengths[int(len(lengths) * 0.9)] if lengths else 0


def rejoin_paragraphs(text: str) -> str:
    """Re-join hard-wrapped lines; paragraphs end up separated by one blank line.

    A file is hard-wrapped when its long lines stop at a fixed width (PG: ~70-78 chars). In such a file a line
    joins the next when it reaches most of that width; shorter lines (verse, headings, the end of a paragraph)
    keep their break. A file that is not hard-wrapped keeps its lines.
    """
    blocks = re.split(r"\n[ \t]*\n", text)
    all_lines = [x for b in blocks for x in b.split("\n")]
    width = _wrap_width(all_lines)
    multi_line_blocks = sum(1 for b in blocks if b.strip().count("\n") >= 1)
    hard_wrapped = 40 <= width <= 100 and multi_line_blocks >= max(1, len([b for b in blocks if b.strip()]) // 4)
    # A file with (almost) no blank lines puts one paragraph per line.
    line_per_paragraph = not hard_wrapped and len(blocks) < len(all_lines) / 10
    paragraphs: list[str] = []
    for block in blocks:
        lines = [x.rstrip() for x in block.split("\n") if x.strip()]
        if not lines:
            continue
        if line_per_paragraph:
            paragraphs.extend(x.strip() for x in lines)
            continue
        if not hard_wrapped:
            paragraphs.append("\n".join(x.strip() for x in lines))
            continue
        out: list[str] = [lines[0].strip()]
        for prev, line in zip(lines, lines[1:]):
            if len(prev) >= 0.6 * width:
                out[-1] = out[-1] + " " + line.strip()
            else:
                out.append(line.strip())
        paragraphs.append("\n".join(out))
    return "\n\n".join(paragraphs)


def _read_whole(stream: BinaryIO, ctx: ReadContext) -> tuple[str, Rejection | None, Rejection | None]:
    """(text, the rejection of the file, damage): a compressed file cut off or damaged keeps every byte before
    the damage (the text), and the damage is reported beside it (`truncated_archive`, `corrupt_archive`)."""
    f, salvaging = open_salvaging(stream, ctx.path)
    try:
        data, too_large, total = read_capped(f, ctx.max_doc_bytes)
    except DECOMPRESSION_ERRORS as exc:
        return "", ctx.error("corrupt_archive", 0, f"{type(exc).__name__}: {exc}"), None
    damage = None
    if salvaging is not None and salvaging.error is not None:
        damage = ctx.error(salvaging.error[0], salvaging.error_at, salvaging.error[1])
    if too_large:
        return "", ctx.error("doc_too_large", 0, f"{total} bytes > read.max_doc_bytes", n_bytes=total), damage
    if not data.strip():
        return "", damage or ctx.error("empty_file", 0, "no text", n_bytes=len(data)), None
    if looks_binary(data) and not data.startswith((b"\xff\xfe", b"\xfe\xff")) and not utf16_without_bom(data):
        return "", ctx.error("binary_file", 0, "binary content", n_bytes=len(data)), damage
    text, _encoding = decode_text_file(data)
    return text.replace("\r\n", "\n").replace("\r", "\n"), None, damage


def kept_despite(damage: Rejection) -> Damaged:
    """The damage of a file whose document was kept (the text before a cut): a note, not a second input."""
    return Damaged(damage.source, damage.reason, damage.detail or "", damage.n_bytes)


def read_book(stream: BinaryIO, ctx: ReadContext) -> Iterator[Document | Rejection]:
    """A plain-text book (any supported encoding) or a FictionBook (`.fb2`, `.fb2.zip`, `.fb2.gz`)."""
    name = ctx.path.lower()
    if ".fb2" in name.rsplit("/", 1)[-1]:
        f = open_decompressed(stream, ctx.path)
        try:
            data, too_large, total = read_capped(f, ctx.max_doc_bytes)
        except DECOMPRESSION_ERRORS as exc:
            yield ctx.error("corrupt_archive", 0, f"{type(exc).__name__}: {exc}")
            return
        if too_large:
            yield ctx.error("doc_too_large", 0, f"{total} bytes > read.max_doc_bytes", n_bytes=total)
            return
        yield from read_fb2(data, ctx, name)
        return
    text, error, damage = _read_whole(stream, ctx)
    if error:
        yield error
    else:
        author_match = _PG_AUTHOR.search(text[:5000])
        text, title = strip_gutenberg(text)
        text = rejoin_paragraphs(strip_site_notices(text))
        yield make_document(ctx, None, text, title=title,
                            author=author_match.group(1).strip() if author_match else None)
    if damage:
        yield damage if error else kept_despite(damage)


def read_text(stream: BinaryIO, ctx: ReadContext) -> Iterator[Document | Rejection]:
    """One document per file, text as is (web pages saved as text, articles)."""
    text, error, damage = _read_whole(stream, ctx)
    yield error or make_document(ctx, None, text)
    if damage:
        yield damage if error else kept_despite(damage)
