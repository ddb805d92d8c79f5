"""Plain-text books (`books`) and one-document-per-file text (`text`).

Books: Project Gutenberg header, licence and footer removed; e-book-site notices at the top and bottom removed;
the body only (`keep_book_body`): tables of contents, annotations, publishers' imprints, front-matter separators and
illustration markers dropped, chapter headings kept as lines; hard-wrapped lines re-joined into paragraphs (verse
and other short-line blocks keep their lines); UTF-8/UTF-16, windows-1251 and KOI8-R detected (`encoding.py`);
FictionBook files go to `fb2.py`, and their text through the same `keep_book_body`.
"""

from __future__ import annotations

import itertools
import re
from typing import BinaryIO, Iterator

from corpus.document import Document, Rejection
from corpus.sources.base import (DECOMPRESSION_ERRORS, Damaged, ReadContext, looks_binary, make_document,
                                 open_decompressed, open_salvaging, read_capped)
from corpus.sources.budget import DocumentTimeout, describe
from corpus.sources.encoding import decode_text_file, utf16_without_bom
from corpus.sources.fb2 import read_fb2
from corpus.sources.languages import reader_data

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


# ---------------------------------------------------------------- the body only: front and back matter
# Issue 15 §4: tables of contents, annotations, publishers' imprints and illustration markers are not the book.
# The words that name them, per language, are data: languages/book_words.yaml (every language's words are looked for in
# every book, since stage 3 decides a book's language only after it is read).
BOOK_WORDS: dict[str, dict[str, list[str]]] = reader_data("book_words")


def _words(kind: str) -> set[str]:
    return {word for table in BOOK_WORDS.values() for word in table.get(kind, ())}


def _alternation(kind: str) -> str:
    # Longest first, so that "table of contents" is tried before "table".
    return "|".join(re.escape(word) for word in sorted(_words(kind), key=len, reverse=True))


_CONTENTS_HEADINGS = _words("contents")
_ANNOTATION_HEADINGS = _words("annotation")
_PAGE_HEADERS = _words("page_headers")
# A longer line is none of them (a cheap test before the key: most lines of a book are longer).
_LISTED_MAX = max(len(word) for word in _CONTENTS_HEADINGS | _ANNOTATION_HEADINGS | _PAGE_HEADERS) + 8
_ORDINAL = rf"(?:{_alternation('ordinal_stems')})\w{{0,4}}"
_NUMBER = rf"(?:\d{{1,4}}|[ivxlcdm]+|{_ORDINAL}(?:[\s-]+{_ORDINAL})?)"
_WORD_END = r"(?=$|[\s.:,;)\]—–-])"
# "CHAPTER I", "Chapter 1. Title", "BOOK ONE: 1805", "ЧАСТЬ ПЕРВАЯ", "Глава первая"; "Первая часть", "FIRST EPILOGUE".
_DIVISION_HEADING = re.compile(
    rf"^(?:{_alternation('divisions')})\.?\s+(?:the\s+)?(?:№\s*)?{_NUMBER}{_WORD_END}"
    rf"|^{_ORDINAL}\s+(?:{_alternation('divisions')}|{_alternation('named_parts')}){_WORD_END}", re.I)
# "EPILOGUE", "Preface.", "Notes": the word alone or with a short title.
_NAMED_HEADING = re.compile(rf"^(?:{_alternation('named_parts')})[.:]?(?:\s.{{0,60}})?$", re.I)
# "I", "IV.", "I.     A Scandal in Bohemia", "12. Title": upper-case Roman numerals only ("I had" is no heading).
_ROMAN = r"(?=[IVXLCDM])M{0,4}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
_NUMERAL_HEADING = re.compile(rf"^(?:{_ROMAN}|\d{{1,3}})(?:[.)]?$|[.)]\s+\S|\s{{2,}}\S)")
# A contents entry's page number: after a dotted leader, or after a gap of spaces (arabic or lower-case Roman).
_PAGE_NUMBER = re.compile(r"(?:\s*(?:\.\s?){2,}|\s*…+)\s*(?:\d{1,4}|[ivxlcdmIVXLCDM]{1,7})$"
                          r"|\s{2,}(?:\d{1,4}|[ivxlc]{1,7})$")
_SEPARATOR = re.compile(r"^(?:⁂|(?:[*•·~=—–-]\s*){3,})$")
_IMPRINT = re.compile("|".join(f"(?:{p})" for p in sorted(_words("imprint"))), re.I)
_ILLUSTRATION_OPEN = re.compile(rf"\[\s*(?:{_alternation('illustrations')})\b", re.I)
_HEADING_MAX = 150        # a heading longer than this is prose that happens to start like one
_SHORT_LINE = 80          # a contents entry without a number, a title line
_FRONT_LINES = 2000       # where a table of contents or list of illustrations may start
_FRONT_ENTRIES = 300      # non-blank lines in which a contents block without a heading may start
_BACK_LINES = 1500        # where a table of contents at the end may start
_MAX_CONTENTS_LINES = 4000
_TITLE_PAGE_LINES = 15    # non-blank lines of a title page above a table of contents
_FRONT_MATTER_LINES = 60  # non-blank lines in which an annotation or an imprint may stand
_MAX_ILLUSTRATION = 3000  # characters of one caption; an unclosed bracket further on is left alone


def _folded(line: str) -> str:
    """The line with whitespace folded and Gutenberg's italics marks (`_..._`) taken off."""
    return " ".join(line.split()).strip("_* ")


_PAGE_TAIL = 40           # characters at a line's end the page-number pattern reads


def _without_page_number(line: str) -> str:
    stripped = line.strip()
    if not (stripped[-1:].isdigit() or stripped[-1:] in "ivxlcdmIVXLCDM"):
        return stripped
    # The pattern reads the line's end only: on a run of thousands of dots or spaces it would be quadratic. A
    # leader longer than that end loses its remaining dots here.
    head, tail = stripped[:-_PAGE_TAIL], stripped[-_PAGE_TAIL:]
    entry = _PAGE_NUMBER.sub("", tail)
    if entry == tail:
        return stripped
    return (head + entry).rstrip(" \t.…") if not entry else head + entry


def heading_key(line: str) -> str:
    """What a contents entry and the body's heading share: case, spacing, page number and end stop aside."""
    return _folded(_without_page_number(line)).casefold().replace("ё", "е").rstrip(".:;,")


def is_chapter_heading(line: str) -> bool:
    """A line naming a division with its number: "CHAPTER I", "Part one", "ЧАСТЬ ПЕРВАЯ", "Первая часть"."""
    folded = _folded(line)
    return len(folded) <= _HEADING_MAX and bool(_DIVISION_HEADING.match(folded))


def is_heading(line: str) -> bool:
    """A chapter heading, a named part ("Epilogue", "Предисловие") or a numbered section ("IV.", "12. Title")."""
    stripped = line.strip().strip("_*")
    folded = _folded(line)
    return (0 < len(folded) <= _HEADING_MAX
            and bool(_DIVISION_HEADING.match(folded) or _NAMED_HEADING.match(folded)
                     or _NUMERAL_HEADING.match(stripped)))


def _is_listed(line: str, words: set[str]) -> bool:
    """The line is one of `words` ("Contents", "CONTENTS.", "Содержание")."""
    return len(line.strip()) <= _LISTED_MAX and heading_key(line) in words


def _is_paged_entry(line: str) -> bool:
    """A contents line that ends in its page number ("Heading to Chapter I.        1", "Глава 1 ........ 5")."""
    entry = _without_page_number(line)
    return len(entry) < len(line.strip()) and any(c.isalpha() for c in entry)


# The role of a line in a contents block.
_NEUTRAL, _ENTRY, _OTHER, _PROSE = "neutral", "entry", "other", "prose"


def _contents_role(line: str) -> str:
    """What a line is to a contents block: neutral (blank, separator, "Contents", "PAGE"), an entry, another short
    line, or prose (which no contents block holds)."""
    stripped = line.strip()
    if (not stripped or _SEPARATOR.match(stripped) or _is_listed(stripped, _CONTENTS_HEADINGS)
            or _is_listed(stripped, _PAGE_HEADERS)):
        return _NEUTRAL
    if _is_paged_entry(stripped) or is_heading(stripped):
        return _ENTRY
    return _OTHER if len(stripped) <= _SHORT_LINE else _PROSE


def _contents_run(lines: list[str], start: int, stop: int, recurs=None) -> tuple[list[int], int, bool]:
    """(entries, end, ended_by_prose) of the run of contents-like lines from `start`: headings, page-numbered
    lines and blanks, with at most two short other lines in a row (a wrapped entry, a title). `recurs(i)` says
    whether a short line also stands later in the text: such a line counts as an entry (a contents list of titles
    only, as "A Scandal in Bohemia")."""
    entries: list[int] = []
    others = 0
    i = start
    while i < stop:
        role = _contents_role(lines[i])
        if role == _OTHER and recurs is not None and recurs(i):
            role = _ENTRY
        if role == _PROSE:
            return entries, i, True
        if role == _OTHER:
            others += 1
            if others > 2:
                return entries, i, True
        elif role == _ENTRY:
            entries.append(i)
            others = 0
        i += 1
    return entries, i, False


def _key_positions(lines: list[str]) -> dict[str, list[int]]:
    """The line numbers of the lines that stand alone (blank lines around them, as headings do), by heading key:
    what a contents entry is looked up in. Lines inside paragraphs are no headings and are not keyed (most of a
    book: this keeps the look-up cheap)."""
    positions: dict[str, list[int]] = {}
    last = len(lines) - 1
    for i, line in enumerate(lines):
        if (len(line) <= _HEADING_MAX + 40 and (i == 0 or not lines[i - 1].strip())
                and (i == last or not lines[i + 1].strip()) and line.strip()):
            positions.setdefault(heading_key(line), []).append(i)
    return positions


def _front_contents_span(lines: list[str], heading: int | None, first: int, min_entries: int,
                         min_entry_share: float, positions: dict[str, list[int]]) -> tuple[int, int] | None:
    """[start, body) of a table of contents whose first entry is line `first`, or None.

    The body begins where one of the first entries comes back as a heading just above the first prose; the lines in
    between must be mostly entries, and most entries must come back in the body (a book that merely opens with
    its chapter heading has nothing that comes back)."""
    def recurs_later(i: int) -> bool:
        return positions.get(heading_key(lines[i]), [i])[-1] > i

    entries, end, ended_by_prose = _contents_run(lines, first, min(len(lines), first + _MAX_CONTENTS_LINES),
                                                 recurs_later if heading is not None else None)
    if not ended_by_prose or not entries:
        return None
    body = None
    for k in entries[:3]:
        again = [j for j in positions.get(heading_key(lines[k]), []) if k < j < end]
        # The body's own headings are the few just above its first prose; a repeat further up is the contents'.
        if again and sum(1 for e in entries if e >= again[-1]) <= 4:
            body = again[-1]
            break
    if body is None:
        return None
    listed = [e for e in entries if e < body]
    start = heading if heading is not None else first
    counted = sum(1 for i in range(start, body) if _contents_role(lines[i]) != _NEUTRAL)
    keys = {heading_key(lines[e]) for e in listed}
    found = sum(1 for key in keys if positions.get(key, [-1])[-1] >= body)
    if (len(listed) < min_entries or len(listed) < min_entry_share * counted
            or found < (0.5 if heading is not None else 0.8) * len(keys)):
        return None
    return start, body


def _first_contents_span(lines: list[str]) -> tuple[int, int] | None:
    """[start, body) of the table of contents near the start: under a "Contents" line, or else a block of headings
    (an e-book's "ЧАСТЬ ПЕРВАЯ … ЧАСТЬ ВОСЬМАЯ"); None when there is none."""
    window = min(len(lines), _FRONT_LINES)
    headings = [i for i in range(window) if _is_listed(lines[i], _CONTENTS_HEADINGS)]
    starts = [i for i, line in enumerate(lines[:window]) if line.strip()][:_FRONT_ENTRIES]
    if not headings and not any(is_heading(lines[i]) for i in starts):
        return None
    positions = _key_positions(lines)
    for heading in headings:
        first = next((i for i in range(heading + 1, window) if _contents_role(lines[i]) != _NEUTRAL), None)
        span = first is not None and _front_contents_span(lines, heading, first, 2, 0.6, positions)
        if span:
            return span
    # No "Contents" line: a block of headings that comes back as the body's headings.
    past = -1
    for i in starts:
        if i > past and is_heading(lines[i]):
            span = _front_contents_span(lines, None, i, 3, 0.8, positions)
            if span:
                return span
            past = _contents_run(lines, i, min(len(lines), i + _MAX_CONTENTS_LINES))[1]
    return None


def _last_contents_span(lines: list[str]) -> tuple[int, int] | None:
    """[start, len) of a table of contents at the end of the book (e-books often put "Содержание" last): from a
    contents heading, or from the first of a trailing block of headings, to the end; its entries are headings of
    the body above it."""
    back = max(0, len(lines) - _BACK_LINES)
    heading = next((i for i in range(len(lines) - 1, back - 1, -1) if _is_listed(lines[i], _CONTENTS_HEADINGS)),
                   None)
    if heading is not None:
        above = _key_positions(lines[:heading])
        entries, end, _ = _contents_run(lines, heading + 1, len(lines),
                                        lambda i: heading_key(lines[i]) in above)
        start, min_entries, share = heading, 2, 0.5
    else:
        start = len(lines)
        while start > back and _contents_role(lines[start - 1]) in (_NEUTRAL, _ENTRY):
            start -= 1
        entries, end, _ = _contents_run(lines, start, len(lines))
        if len(entries) < 3:
            return None
        above = _key_positions(lines[: entries[0]])
        # The block starts at its first entry that is one of the body's headings ("1871" under the last line is not).
        start = next((e for e in entries if heading_key(lines[e]) in above), len(lines))
        entries = [e for e in entries if e >= start]
        min_entries, share = 3, 0.8
    if end < len(lines) or len(entries) < min_entries:
        return None
    keys = {heading_key(lines[e]) for e in entries}
    if sum(1 for key in keys if key in above) < share * len(keys):
        return None
    return start, len(lines)


def _title_page_start(lines: list[str], contents: int) -> int:
    """Where the front matter above a table of contents starts: at the top when all of it is a title page (a few
    short lines: title, author, translator, publisher), else at the contents (a preface above it stays)."""
    above = [line.strip() for line in lines[:contents] if line.strip()]
    return 0 if len(above) <= _TITLE_PAGE_LINES and all(len(x) <= _SHORT_LINE for x in above) else contents


def drop_table_of_contents(text: str) -> str:
    """Drop a table of contents at the start (PG: "Contents / PART ONE … PART EIGHT") and one at the end.

    The entries of a table of contents come back later as the body's headings: that is the signal, so a book that
    opens with "CHAPTER I" keeps it, and chapter headings inside the body stay."""
    lines = text.split("\n")
    span = _first_contents_span(lines)
    if span:
        lines = lines[: _title_page_start(lines, span[0])] + lines[span[1]:]
    span = _last_contents_span(lines)
    if span:
        lines = lines[: span[0]]
    return "\n".join(lines)


def drop_paged_contents(text: str) -> str:
    """Drop a front list whose lines end in page numbers (a printed book's contents or list of illustrations, as
    Pride and Prejudice's): at least five such lines, with its heading or "PAGE" column header above it."""
    lines = text.split("\n")
    window = min(len(lines), _FRONT_LINES)
    i = 0
    while i < window:
        if not _is_paged_entry(lines[i]):
            i += 1
            continue
        entries, end, _ = _contents_run(lines, i, min(len(lines), i + _MAX_CONTENTS_LINES))
        paged = [e for e in entries if _is_paged_entry(lines[e])]
        if not paged:    # the numbered line was a column header ("PAGE   1"), not an entry
            i = end + 1
            continue
        counted = sum(1 for j in range(i, paged[-1] + 1) if _contents_role(lines[j]) != _NEUTRAL)
        if len(paged) >= 5 and len(paged) >= 0.6 * counted:
            start = i
            while start > 0 and _contents_role(lines[start - 1]) == _NEUTRAL:
                start -= 1
            while start < i and not lines[start].strip():
                start += 1   # the blank lines above the heading stay: they part it from what precedes
            return "\n".join(lines[:start] + lines[paged[-1] + 1:])
        i = end + 1
    return text


# Spaces before a line end; the look-behind makes only a run's first space a match start (linear on long runs).
_TRAILING_BLANKS = re.compile(r"(?<![ \t])[ \t]+\n")


def _closing_bracket(text: str, start: int) -> int | None:
    """The index of the bracket that closes the one at `start` (captions nest `[_Copyright_]`), or None."""
    depth = 0
    for i in range(start, min(len(text), start + _MAX_ILLUSTRATION)):
        if text[i] == "[":
            depth += 1
        elif text[i] == "]":
            depth -= 1
            if depth == 0:
                return i
    return None


def drop_illustration_markers(text: str) -> str:
    """Drop `[Illustration]`, `[Illustration: caption]` (over several lines too) and `[Frontispiece: ...]`.

    A caption that holds the chapter heading (Pride and Prejudice: "[Illustration: ... Chapter I.]") gives the
    heading back as a line of its own: chapter headings are the body's."""
    parts: list[str] = []
    pos = 0
    for match in _ILLUSTRATION_OPEN.finditer(text):
        if match.start() < pos:
            continue
        close = _closing_bracket(text, match.start())
        if close is None:
            continue
        caption = text[match.end():close].lstrip(":").split("\n")
        kept = [_folded(line).rstrip("]") for line in caption if is_chapter_heading(line.strip().rstrip("]"))]
        parts.append(text[pos:match.start()])
        parts.append("".join(f"\n\n{line}\n\n" for line in kept))
        pos = close + 1
    if not parts:
        return text
    parts.append(text[pos:])
    # Lines the markers stood on alone are left as blank lines, which part paragraphs as before.
    return _TRAILING_BLANKS.sub("\n", "".join(parts))


def _paragraphs(lines: list[str], start: int, stop: int) -> Iterator[tuple[int, int]]:
    """[first, end) of each paragraph from `start`: blank-line separated, and one per line where a line is a whole
    paragraph (e-books that do not wrap) or starts indented (lib.ru)."""
    i = start
    while i < stop:
        if not lines[i].strip():
            i += 1
            continue
        j = i + 1
        while (j < stop and lines[j].strip() and not lines[j][:1].isspace()
               and len(lines[j - 1].rstrip()) <= 100):
            j += 1
        yield i, j
        i = j


def _nonblank(lines: list[str], n: int) -> list[int]:
    """The indices of the first `n` non-blank lines."""
    return list(itertools.islice((i for i, line in enumerate(lines) if line.strip()), n))


def _ends_front_matter(line: str) -> bool:
    stripped = line.strip()
    return bool(_SEPARATOR.match(stripped) or is_heading(stripped) or _is_listed(stripped, _CONTENTS_HEADINGS))


def drop_annotation(text: str) -> str:
    """Drop an e-book's annotation: the "Annotation"/"Аннотация" line near the start and the publisher's blurb
    paragraphs under it, up to a separator or a heading.

    Where the blurb ends otherwise (a short line: the title, an epigraph, or a line of the body's dialogue) or no
    end comes within six paragraphs, only its first paragraph goes: the body is never taken for a blurb."""
    lines = text.split("\n")
    heading = next((i for i in _nonblank(lines, _FRONT_MATTER_LINES) if _is_listed(lines[i], _ANNOTATION_HEADINGS)),
                   None)
    if heading is None:
        return text
    ends: list[int] = []
    marked = False
    for first, stop in _paragraphs(lines, heading + 1, len(lines)):
        paragraph = " ".join(x.strip() for x in lines[first:stop])
        if _ends_front_matter(lines[first]) or len(paragraph) < _SHORT_LINE:
            marked = _ends_front_matter(lines[first])
            break
        ends.append(stop)
        if len(ends) > 6 or sum(len(x) for x in lines[heading:stop]) > 6000:
            break
    if not ends:
        return "\n".join(lines[:heading] + lines[heading + 1:])
    end = ends[-1] if marked and len(ends) <= 6 else ends[0]
    return "\n".join(lines[:heading] + lines[end:])


def drop_imprint(text: str) -> str:
    """Drop the publisher's imprint near the start: ISBN, © and rights lines, "Издательство …", series lines. A
    short paragraph holding one goes whole (translator and cover credits stand with it); a long one is prose that
    mentions them and stays whole (cutting a wrapped line out would break its sentences)."""
    lines = text.split("\n")
    front = _nonblank(lines, _FRONT_MATTER_LINES)
    if not front or not any(_IMPRINT.search(_folded(lines[i])) for i in front):
        return text
    drop: set[int] = set()
    for first, stop in _paragraphs(lines, 0, front[-1] + 1):
        hits = [i for i in range(first, stop) if _IMPRINT.search(_folded(lines[i]))]
        if hits and stop - first <= 5 and sum(len(x) for x in lines[first:stop]) <= 600:
            drop.update(range(first, stop))
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


def drop_front_separators(text: str) -> str:
    """Drop "* * *" lines of the front matter (before the first heading and the first line of prose) and at the
    very end. A separator inside the body is a scene break and stays."""
    lines = text.split("\n")
    drop: set[int] = set()
    for i in _nonblank(lines, 40):
        stripped = lines[i].strip()
        if _SEPARATOR.match(stripped):
            drop.add(i)
        elif is_heading(stripped) or len(stripped) >= 60:
            break
    last = len(lines) - 1
    while last >= 0 and (not lines[last].strip() or _SEPARATOR.match(lines[last].strip())):
        if lines[last].strip():
            drop.add(last)
        last -= 1
    return "\n".join(line for i, line in enumerate(lines) if i not in drop) if drop else text


# In this order: markers first (a caption is no contents entry); the annotation and imprint before the contents
# (an e-book's contents list follows them), the separators left between them last.
BOOK_MATTER_STEPS = (drop_illustration_markers, drop_annotation, drop_imprint, drop_table_of_contents,
                     drop_paged_contents, drop_front_separators)


def keep_book_body(text: str) -> str:
    """The body of a book: front and back matter that is not the author's text taken off (`BOOK_MATTER_STEPS`)."""
    body = text
    for step in BOOK_MATTER_STEPS:
        body = step(body)
    # A safety net, not a rule: front and back matter is a small part of a book, so a cut of more than half is taken
    # for a misreading and the book is kept as read.
    if body == text or len(body.strip()) < 0.5 * len(text.strip()):
        return text
    return body.strip()   # the blank lines a cut leaves at either end


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


def _book_body(text: str, ctx: ReadContext) -> tuple[str, Damaged | None]:
    """`keep_book_body` within the per-document time budget. A cleaning that raises or runs past it keeps the
    text as read (a book is worth more than its front matter), with a `book_cleaning_failed` note."""
    try:
        return ctx.parse(keep_book_body, text), None
    except DocumentTimeout:
        message = f"body cleaning ran past {ctx.budget.seconds:g} s; the text is kept as read"
    except Exception as exc:  # noqa: BLE001 - a heuristic's bug must not cost the book
        message = f"{describe(exc)}; the text is kept as read"
    return text, ctx.damaged("book_cleaning_failed", 0, message, len(text.encode("utf-8")))


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
        for item in read_fb2(data, ctx, name):
            # A FictionBook's body can hold what a plain-text book does (a contents section, an annotation).
            if isinstance(item, Document):
                body, note = _book_body(item.text, ctx)
                yield item.replaced(text=body)
                if note:
                    yield note
            else:
                yield item
        return
    text, error, damage = _read_whole(stream, ctx)
    if error:
        yield error
    else:
        author_match = _PG_AUTHOR.search(text[:5000])
        text, title = strip_gutenberg(text)
        body, note = _book_body(strip_site_notices(text), ctx)
        yield make_document(ctx, None, rejoin_paragraphs(body), title=title,
                            author=author_match.group(1).strip() if author_match else None)
        if note:
            yield note
    if damage:
        yield damage if error else kept_despite(damage)


def read_text(stream: BinaryIO, ctx: ReadContext) -> Iterator[Document | Rejection]:
    """One document per file, text as is (web pages saved as text, articles)."""
    text, error, damage = _read_whole(stream, ctx)
    yield error or make_document(ctx, None, text)
    if damage:
        yield damage if error else kept_despite(damage)
