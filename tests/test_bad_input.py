"""Issue 14: bad input never stops a run or silently shortens it.

Every case sits between good documents and asserts three things: the run (or the read) goes on, the damage is
counted under a named reason, and the good neighbours survive. The reader-level cases run in milliseconds; one
`corpus run` over all of them at once checks the same through stats.json and the shards.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import uuid
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.config import config_from_dict
from corpus.document import Document, Rejection
from corpus.sample.generate import EN, RU
from corpus.sources import READERS, Damaged, ReadContext, reader_for
from corpus.sources.units import Piece, Unit, read_unit
from pipelines.run import run_corpus


def page(paragraphs: list[str], title: str = "A page") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}</article></body></html>"


def response(url: str, html: bytes, content_type: str = "text/html", length_error: int = 0) -> bytes:
    """One WARC response record; `length_error` makes its Content-Length wrong by that many bytes."""
    http = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\r\n".encode() + html
    head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url)}>\r\n"
            f"WARC-Target-URI: {url}\r\nWARC-Date: 2024-05-18T01:58:10Z\r\n"
            f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http) + length_error}\r\n\r\n")
    return head.encode() + http + b"\r\n\r\n"


def good(i: int) -> bytes:
    return response(f"https://good.example/{i}", page([EN[i % len(EN)]], f"Good page {i}").encode())


def per_record_gzip(records: list[bytes]) -> bytes:
    """Common Crawl's layout: one gzip member per record."""
    return b"".join(gzip.compress(r, mtime=0) for r in records)


def member_offsets(data: bytes) -> list[int]:
    import zlib

    offsets, pos = [], 0
    while pos < len(data):
        offsets.append(pos)
        d = zlib.decompressobj(31)
        d.decompress(data[pos:])
        pos = len(data) - len(d.unused_data)
    return offsets


def flip(data: bytes, at: int, n: int = 16) -> bytes:
    damaged = bytearray(data)
    for i in range(at, at + n):
        damaged[i] ^= 0xFF
    return bytes(damaged)


def read(kind: str, name: str, data: bytes, **ctx_kw):
    """(documents, rejection reasons, rejections, damage notes of kept documents)."""
    ctx = ReadContext(source="s", path=name, rel=name, **ctx_kw)
    items = list(reader_for(kind)(io.BytesIO(data), ctx))
    docs = [i for i in items if isinstance(i, Document)]
    errors = Counter(i.reason for i in items if isinstance(i, Rejection))
    return docs, errors, [i for i in items if isinstance(i, Rejection)], Counter(
        i.reason for i in items if isinstance(i, Damaged))


def urls(docs: list[Document]) -> list[str]:
    return [d.url for d in docs]


# ---------------------------------------------------------------- 1. charset labels that are no text encoding

@pytest.mark.parametrize("label", ["base64", "zlib", "bz2", "hex", "rot13", "uu", "quopri", "idna", "punycode"])
def test_a_charset_that_is_not_a_text_encoding_is_no_label(label):
    html = page([EN[3]], "Labelled").encode()
    in_header = response("https://bad.example/header", html, f"text/html; charset={label}")
    in_meta = response("https://bad.example/meta", html.replace(b"<head>", f'<head><meta charset="{label}">'.encode()))
    docs, errors, _, _ = read("warc", "x.warc", good(0) + in_header + in_meta + good(1))
    assert urls(docs) == ["https://good.example/0", "https://bad.example/header", "https://bad.example/meta",
                          "https://good.example/1"]
    assert not errors
    assert "Labelled" in docs[1].text or EN[3][:40] in docs[1].text


# ---------------------------------------------------------------- 6. a declared charset the body is not in

def test_a_cp1251_body_labelled_utf8_is_detected_not_rejected():
    russian = page([RU[0], RU[1]], "Страница").encode("cp1251")
    mislabelled = response("https://ru.example/1", russian, "text/html; charset=utf-8")
    docs, errors, _, _ = read("warc", "x.warc", good(0) + mislabelled + good(1))
    assert urls(docs) == ["https://good.example/0", "https://ru.example/1", "https://good.example/1"]
    assert RU[0][:30] in docs[1].text and "\ufffd" not in docs[1].text


def test_a_latin1_book_with_few_accents_keeps_them():
    text = ("An English book about the café and its £5 menu. " + EN[0] + "\n\n") * 50
    docs, _, _, _ = read("books", "b.txt", text.encode("latin-1"))
    assert "café" in docs[0].text and "£5" in docs[0].text and "\ufffd" not in docs[0].text


def test_a_few_damaged_bytes_keep_the_declared_charset():
    text = page([RU[2], RU[3]], "Почти").encode("utf-8")
    damaged = text[:200] + b"\xff" + text[200:]          # one bad byte in a long UTF-8 page
    docs, _, _, _ = read("warc", "x.warc", response("https://ru.example/2", damaged, "text/html; charset=utf-8"))
    assert RU[2][:30] in docs[0].text


# ---------------------------------------------------------------- 2. one corrupt gzip member

def test_a_corrupt_member_of_a_per_record_gzip_loses_only_its_record():
    records = [good(i) for i in range(6)]
    data = per_record_gzip(records)
    offsets = member_offsets(data)
    damaged = flip(data, offsets[2] + 40)                 # member 3 of 6
    docs, errors, rejections, _ = read("warc", "x.warc.gz", damaged)
    assert urls(docs) == [f"https://good.example/{i}" for i in (0, 1, 3, 4, 5)]
    assert errors == Counter({"corrupt_archive": 1})
    assert rejections[0].detail.startswith(f"x.warc.gz@{offsets[2]}:")     # the member's compressed offset


def test_a_corrupt_member_of_a_real_common_crawl_excerpt(shared):
    data = (shared / "cc/warc/resiliparse-CC-MAIN-2020-34-excerpt.warc.gz").read_bytes()
    clean, clean_errors, _, _ = read("warc", "cc.warc.gz", data)     # pages without main text among them
    offsets = member_offsets(data)
    lost_one = 0
    for k in range(1, len(offsets) - 1):
        if offsets[k] + 48 >= offsets[k + 1]:
            continue
        docs, errors, _, _ = read("warc", "cc.warc.gz", flip(data, offsets[k] + 40, 8))
        assert errors.pop("corrupt_archive") == 1 and errors <= clean_errors, k
        assert len(docs) >= len(clean) - 1, k                 # at most the damaged record's page is lost
        lost_one += len(docs) == len(clean) - 1
    assert lost_one > 0                                      # some members held a response


@pytest.mark.parametrize("shift", [-5, 0, 1])
def test_a_corrupt_member_at_a_range_boundary_is_counted_by_one_piece(shift):
    data = per_record_gzip([good(i) for i in range(6)])
    offsets = member_offsets(data)
    damaged = flip(data, offsets[2] + 200)        # the member's first bytes decode: the next piece's probe takes it
    cut = offsets[2] + shift
    items = []
    for start, end in ((0, cut), (cut, len(damaged))):
        ctx = ReadContext(source="s", path="x.warc.gz", rel="x.warc.gz", start=start, end=end)
        items += list(reader_for("warc")(io.BytesIO(damaged), ctx))
    assert urls([i for i in items if isinstance(i, Document)]) == [f"https://good.example/{i}" for i in (0, 1, 3, 4, 5)]
    assert [(r.reason, r.id) for r in items if isinstance(r, Rejection)] == [("corrupt_archive",
                                                                            f"s/x.warc.gz@{offsets[2]}")]


def test_a_large_corrupt_member_does_not_swallow_the_next_record():
    # A member bigger than one read: its output before the damage is already out when the damage is found.
    noise = ["".join(hashlib.sha256(f"{i}.{j}".encode()).hexdigest() for j in range(8)) for i in range(400)]
    big = response("https://big.example/", page([f"{EN[i % len(EN)]} {noise[i]}" for i in range(400)]).encode())
    data = per_record_gzip([good(0), big, good(1), good(2)])
    offsets = member_offsets(data)
    assert offsets[2] - offsets[1] > 1 << 16            # more than one read of the decompressor
    docs, errors, _, damaged = read("warc", "x.warc.gz", flip(data, offsets[1] + (offsets[2] - offsets[1]) // 2))
    assert urls(docs) == ["https://good.example/0", "https://good.example/1", "https://good.example/2"]
    assert errors == Counter({"corrupt_archive": 1}) and not damaged


# ---------------------------------------------------------------- 5. a Content-Length that is too long

def test_a_content_length_too_long_does_not_swallow_the_next_record():
    long = response("https://bad.example/long", page([EN[5]], "Too long").encode(), length_error=400)
    for data, name in ((good(0) + long + good(1) + good(2), "x.warc"),
                       (per_record_gzip([good(0), long, good(1), good(2)]), "x.warc.gz")):
        docs, errors, _, damaged = read("warc", name, data)
        # The mis-sized record's page is whole (only its length was wrong): kept, its damage noted once.
        assert urls(docs) == ["https://good.example/0", "https://bad.example/long", "https://good.example/1",
                              "https://good.example/2"], name
        assert not errors and damaged == Counter({"bad_content_length": 1}), name


@pytest.mark.parametrize("error", [20, -7, 10_000_000_000])
def test_a_content_length_a_little_off_or_absurd_is_resynchronised(error):
    bad = response("https://bad.example/off", page([EN[8]], "Off").encode(), length_error=error)
    docs, errors, _, damaged = read("warc", "x.warc", good(0) + bad + good(1), max_doc_bytes=1_000_000)
    assert urls(docs)[0] == "https://good.example/0" and urls(docs)[-1] == "https://good.example/1"
    assert sum(errors.values()) + sum(damaged.values()) == 1
    assert set(errors) | set(damaged) == {"bad_content_length"}


def test_a_page_quoting_a_warc_header_is_not_cut():
    quoted = b"<pre>\r\n\r\nWARC/1.0\r\nWARC-Type: response\r\nContent-Length: 5\r\n\r\nhello</pre>"
    html = page([EN[9]], "About WARC").encode().replace(b"</article>", quoted + b"</article>")
    docs, errors, _, damaged = read("warc", "x.warc", good(0) + response("https://warc.example/", html) + good(1))
    assert urls(docs) == ["https://good.example/0", "https://warc.example/", "https://good.example/1"]
    assert not errors and not damaged


# ---------------------------------------------------------------- 8, 9. empty and cut-off files

@pytest.mark.parametrize("kind,name", [("warc", "x.warc"), ("warc", "x.warc.gz"), ("wet", "x.warc.wet.gz"),
                                       ("jsonl", "x.jsonl"), ("jsonl", "x.jsonl.gz"), ("books", "x.txt")])
def test_a_zero_byte_file_is_counted(kind, name, tmp_path):
    path = tmp_path / name
    path.write_bytes(b"")
    unit = Unit("s", (Piece(str(path), name, 0, 0),))
    items = list(read_unit(unit, kind, lambda p: open(p, "rb"), ReadContext(source="s", path="", rel="")))
    assert [(i.reason, i.id) for i in items] == [("empty_file", f"s/{name}@0")]


def test_a_cut_off_gzipped_book_keeps_the_text_before_the_cut():
    book = "\n\n".join(EN * 20).encode()
    packed = gzip.compress(book, mtime=0)
    docs, errors, _, damaged = read("books", "b.txt.gz", packed[: len(packed) // 2])
    assert len(docs) == 1 and EN[0][:40] in docs[0].text
    assert not errors and damaged == Counter({"truncated_archive": 1})    # one input: the book, noted as cut


def test_a_cut_off_jsonl_gz_keeps_every_line_before_the_cut():
    noise = [hashlib.sha256(str(i).encode()).hexdigest() * 4 for i in range(300)]      # compresses little
    lines = b"".join(json.dumps({"text": f"{i} {noise[i]}"}).encode() + b"\n" for i in range(300))
    packed = gzip.compress(lines, mtime=0)
    docs, errors, _, _ = read("jsonl", "x.jsonl.gz", packed[: len(packed) // 2])
    assert len(docs) > 100 and [d.text.split()[0] for d in docs] == [str(i) for i in range(len(docs))]
    assert errors == Counter({"truncated_archive": 1})       # the line the cut falls in is the archive's damage


# ---------------------------------------------------------------- 1. no exception from one document ends a run

def test_a_reader_that_raises_ends_its_piece_not_the_run(tmp_path, monkeypatch):
    def fragile(stream, ctx):
        yield Document(id=ctx.doc_id(1), source=ctx.source, text="first")
        raise RuntimeError("parser bug")

    monkeypatch.setitem(READERS, "fragile", fragile)
    files = []
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("x")
        files.append(Piece(str(tmp_path / name), name, 0, 1))
    items = list(read_unit(Unit("s", tuple(files)), "fragile", lambda p: open(p, "rb"),
                           ReadContext(source="s", path="", rel="")))
    assert [getattr(i, "reason", i.text if isinstance(i, Document) else None) for i in items] == [
        "first", "reader_error", "first", "reader_error"]
    assert "RuntimeError: parser bug after s/a.txt#1" in items[1].detail


def test_a_rule_that_raises_rejects_its_document_as_rule_error(prepared_unit):
    texts = [" ".join(EN[i:i + 2]) for i in range(0, 6, 2)]
    prepare, element = prepared_unit(texts)
    original = prepare._rules.quality

    def quality(doc, words=None):
        if doc.id.endswith("#1"):
            raise ZeroDivisionError("a rule's bug")
        return original(doc, words)

    prepare._rules.quality = quality
    summary, = prepare.process(element)
    counts = dict(summary.counts)
    assert summary.docs == 2
    assert counts[("funnel", "s", "quality", "rule_error")] == (1, len(texts[1].encode()))
    assert counts[("funnel", "s", "quality", "in")][0] == 3
    rejects = pq.read_table(Path(summary.folder) / "rejects.parquet").to_pylist()
    assert [(r["id"], r["stage"], r["reason"]) for r in rejects] == [("s/d.jsonl#1", "quality", "rule_error")]


# ---------------------------------------------------------------- 4. books in the encodings they circulate in

FR = ("Le vieux château se dressait au-dessus de la vallée, où les élèves étudiaient près de la forêt. Ça leur "
      "plaisait : déjà l'été était là, et l'on entendait les cigales à l'ombre des hêtres. Naïve, elle répondit.")
DE = ("Die Straße führte über die Brücke zum großen Schloss, wo die Bürger ihre Lieder sangen. Müde Männer saßen "
      "vor der Tür und aßen Äpfel; übermorgen würden sie nach Österreich fahren.")
PL = ("W Łodzi, przy ulicy Piotrkowskiej, stał stary dom, w którym mieszkała pani Małgorzata. Każdego ranka piła "
      "kawę i czytała gazetę, a jej córka grała na skrzypcach. Źródło tej opowieści ginie w mrokach dziejów.")
JA = ("吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所でニャーニャー"
      "泣いていた事だけは記憶している。吾輩はここで始めて人間というものを見た。")


def book(paragraph: str, n: int = 20) -> str:
    return "".join(f"{i}. {paragraph}\n\n" for i in range(n))


@pytest.mark.parametrize("text,codec", [
    (FR, "cp1252"), (DE, "latin-1"), (PL, "cp1250"), (JA, "shift_jis"), (JA, "euc_jp"),
    (" ".join(RU[:4]), "koi8-r"), (" ".join(RU[:4]), "cp1251"),
    (" ".join(RU[:4]), "utf-16-le"), (" ".join(RU[:4]), "utf-16-be"),     # UTF-16 without a byte-order mark
])
def test_a_book_in_a_legacy_or_bomless_encoding_reads_as_written(text, codec):
    docs, errors, _, _ = read("books", "b.txt", book(text).encode(codec))
    assert not errors and len(docs) == 1
    assert text[:60] in docs[0].text and text[-40:] in docs[0].text and "\ufffd" not in docs[0].text


def test_one_invalid_byte_leaves_a_utf8_russian_book_utf8():
    data = book(" ".join(RU[:4])).encode("utf-8")
    docs, errors, _, _ = read("books", "b.txt", data[:700] + b"\xff" + data[700:])
    assert not errors
    assert RU[0][:40] in docs[0].text and RU[3][-40:] in docs[0].text     # no KOI8-R mojibake
    assert docs[0].text.count("\ufffd") == 1


def test_one_nul_byte_does_not_make_a_book_binary():
    data = book(EN[0]).encode()
    docs, errors, _, _ = read("books", "b.txt", data[:100] + b"\x00" + data[100:])
    assert not errors and EN[0][:40] in docs[0].text
    _, errors, _, _ = read("books", "b.bin", bytes(range(256)) * 64)
    assert errors == {"binary_file": 1}


# ---------------------------------------------------------------- 7. sizes bounded while streaming

HUGE = 64 << 20     # of `A`, no newline: a 64 KB archive; with read.max_doc_bytes at 1 MB


def _jsonl(*texts: bytes) -> bytes:
    return b"".join(b'{"text": "' + t + b'"}\n' for t in texts)


@pytest.mark.parametrize("kind,name,make,kept", [
    ("warc", "x.warc.gz", lambda: per_record_gzip([good(0), response("https://big.example/", b"A" * HUGE), good(1)]),
     2),
    ("warc", "x.warc.gz", lambda: per_record_gzip([good(0)]) + gzip.compress(b"A" * HUGE, mtime=0)
     + per_record_gzip([good(1)]), 2),
    ("warc", "x.warc.bz2", lambda: __import__("bz2").compress(good(0) + response("https://big.example/", b"A" * HUGE)
                                                             + good(1)), 2),
    ("jsonl", "x.jsonl.gz", lambda: gzip.compress(_jsonl(EN[0].encode(), b"A" * HUGE, EN[1].encode()), mtime=0), 2),
    ("books", "b.txt.gz", lambda: gzip.compress(b"A" * HUGE, mtime=0), 0),
])
def test_a_huge_line_in_a_tiny_archive_is_refused_while_streaming(kind, name, make, kept):
    import tracemalloc

    data = make()
    tracemalloc.start()
    try:
        docs, errors, _, _ = read(kind, name, data, max_doc_bytes=1 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(docs) == kept and sum(errors.values()) == 1
    assert set(errors) <= {"doc_too_large", "malformed_record"}
    assert peak < 16 << 20          # the 64 MB never inflate at once (it was 2.2 GB of RSS for 1 GiB)


def test_a_cut_off_bz2_whose_block_inflates_past_one_read_keeps_its_records():
    import bz2

    lines = [(json.dumps({"text": f"{i} " + " ".join(EN[i % len(EN)].split()[:12])}) + "\n").encode()
             for i in range(20_000)]
    data = bz2.compress(b"".join(lines))            # two 900 KB blocks: more than a megabyte of output each read
    assert len(b"".join(lines)) > 1 << 20
    docs, errors, _, damaged = read("jsonl", "x.jsonl.bz2", data[:-40])     # cut inside the second block
    assert (errors + damaged) == {"truncated_archive": 1}
    assert len(docs) > 5_000                       # the whole first block is kept, not lost


# ---------------------------------------------------------------- 7 and 13. wikitext: linear, and deep links

def test_130000_file_links_and_links_deeper_than_the_parser_are_cleaned_within_a_budget():
    from corpus.sources.budget import TimeBudget
    from corpus.sources.wikipedia import wikitext_to_text

    files = "".join(f"[[File:Pic{i}.jpg|thumb|caption {i}]]\n" for i in range(130_000))      # 5.5 MB
    deep = "[[L|" * 2000 + "inner" + "]]" * 2000
    budget = TimeBudget(60)     # quadratic, the files page alone ran past five minutes
    try:
        flat = budget.run(wikitext_to_text, f"Intro of the page.\n{files}Closing line.")
        nested = budget.run(wikitext_to_text, f"Before. {deep} After.")
    finally:
        budget.close()
    assert flat.split() == ["Intro", "of", "the", "page.", "Closing", "line."]
    assert nested == "Before. inner After."


# ---------------------------------------------------------------- 11. offsets of archive errors

@pytest.mark.parametrize("kind,name,data", [
    ("warc", "x.warc.gz", gzip.compress(good(0) + good(1), mtime=0)),
    ("wet", "x.warc.wet.gz", gzip.compress(b"".join(
        b"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: https://w.example/%d\r\nContent-Length: %d\r\n\r\n%s\r\n\r\n"
        % (i, len(EN[i].encode()), EN[i].encode()) for i in range(2)), mtime=0)),
    ("jsonl", "x.jsonl.gz", gzip.compress(_jsonl(EN[0].encode(), EN[1].encode()), mtime=0)),
    ("books", "b.txt.gz", gzip.compress(book(EN[0]).encode(), mtime=0)),
])
def test_an_archive_error_names_its_raw_offset(kind, name, data):
    cut = len(data) * 3 // 4
    items = list(reader_for(kind)(io.BytesIO(data[:cut]), ReadContext(source="s", path=name, rel=name)))
    # Counted once: a rejection, or a note beside the document kept from before the cut.
    damage = [i for i in items if isinstance(i, (Rejection, Damaged))]
    assert [d.reason for d in damage] == ["truncated_archive"]
    assert damage[0].detail.startswith(f"{name}@{cut}:")            # where the data ends, not `@end`
    assert any(isinstance(i, Document) for i in items)              # what precedes the cut is kept


# ---------------------------------------------------------------- 7. a time budget per document

def deep_page(depth: int = 100_000) -> bytes:
    """No article for trafilatura, so the resiliparse fallback walks 100,000 nested <div> (570 s, issue 14)."""
    return b"<html><body>" + b"<div>" * depth + b"</div>" * depth + b"</body></html>"


def test_a_parse_past_its_budget_is_stopped_and_the_next_one_runs():
    import time

    from corpus.sources.budget import DocumentTimeout, HelperError, TimeBudget

    budget = TimeBudget(0.5)
    try:
        started = time.monotonic()
        with pytest.raises(DocumentTimeout):
            budget.run(time.sleep, 30)
        assert time.monotonic() - started < 10
        assert budget.run(str.upper, "after") == "AFTER"        # a new helper took over
        with pytest.raises(HelperError, match="ValueError"):
            budget.run(int, "not a number")
        assert budget.run(len, "still here") == 10
    finally:
        budget.close()
    assert TimeBudget(0).run(str.upper, "inline") == "INLINE"


def test_a_helper_s_start_and_warm_up_never_count_against_a_document():
    import time

    from corpus.sources.budget import TimeBudget

    budget = TimeBudget(0.5, warm_up=((time.sleep, (2.0,)),))     # a slow import, say
    try:
        assert budget.run(str.upper, "first") == "FIRST"
    finally:
        budget.close()


def test_a_page_past_its_time_budget_is_a_timeout_between_good_pages():
    from corpus.sources import parse_budget

    budget = parse_budget(1.0)      # warmed up: trafilatura's import is not the first page's time
    try:
        data = good(0) + response("https://bad.example/deep", deep_page()) + good(1)
        docs, errors, rejections, _ = read("warc", "x.warc", data, budget=budget)
    finally:
        budget.close()
    assert urls(docs) == ["https://good.example/0", "https://good.example/1"]
    assert errors == {"timeout": 1}
    assert rejections[0].detail.startswith("x.warc@") and "past 1 s" in rejections[0].detail


class _SlowOn:
    """A budget that times out the pages whose markup holds `marker`: the reader's side of a timeout, untimed."""
    seconds = 5.0

    def __init__(self, marker: str):
        self.marker = marker

    def run(self, fn, *args):
        from corpus.sources.budget import DocumentTimeout

        if self.marker in args[0]:
            raise DocumentTimeout()
        return fn(*args)


def test_a_wikipedia_page_past_its_budget_is_a_timeout_and_its_neighbours_stay():
    def wiki(i, text):
        return (f"<page><title>P{i}</title><ns>0</ns><id>{i}</id><revision><text>{text}</text></revision></page>")

    dump = ("<mediawiki>" + wiki(1, EN[0]) + wiki(2, "SLOW " + EN[1]) + wiki(3, EN[2]) + "</mediawiki>").encode()
    docs, errors, rejections, _ = read("wikipedia", "w.xml", dump, budget=_SlowOn("SLOW"))
    assert [d.title for d in docs] == ["P1", "P3"]
    assert errors == {"timeout": 1} and rejections[0].detail.startswith("w.xml@page 2:")


def test_a_wikipedia_page_whose_cleaning_raises_is_a_reader_error_and_its_neighbours_stay(monkeypatch):
    import corpus.sources.wikipedia as wikipedia

    original = wikipedia.wikitext_to_text

    def fragile(text, *args):
        if "BUG" in text:
            raise RecursionError("too deep")
        return original(text, *args)

    monkeypatch.setattr(wikipedia, "wikitext_to_text", fragile)

    def wiki(i, text):
        return (f"<page><title>P{i}</title><ns>0</ns><id>{i}</id><revision><text>{text}</text></revision></page>")

    dump = ("<mediawiki>" + wiki(1, EN[0]) + wiki(2, "BUG " + EN[1]) + wiki(3, EN[2]) + "</mediawiki>").encode()
    docs, errors, rejections, _ = read("wikipedia", "w.xml", dump)
    assert [d.title for d in docs] == ["P1", "P3"]
    assert errors == {"reader_error": 1} and "RecursionError: too deep" in rejections[0].detail


def test_a_normalize_drop_is_counted_and_logged_with_its_id(prepared_unit, caplog):
    import logging

    texts = [EN[0], "\ufffd" * 200 + " a few words", EN[1]]       # the middle one is mostly undecodable bytes
    prepare, element = prepared_unit(texts)
    caplog.set_level(logging.WARNING)
    summary, = prepare.process(element)
    counts = dict(summary.counts)
    assert counts[("funnel", "s", "normalize", "invalid_utf8")][0] == 1
    assert counts[("funnel", "s", "normalize", "out")][0] == 2           # the neighbours go on
    assert any("normalize drop (invalid_utf8) s/d.jsonl#1" in r.getMessage() for r in caplog.records)


def test_a_page_without_an_article_is_counted_not_warned_and_damage_is_warned(tmp_path, caplog):
    import logging

    from corpus.config import config_from_dict
    from pipelines.build import key_settings
    from pipelines.transforms.prepare import PrepareUnit
    from pipelines.transforms.units import planned_units

    links = "".join(f'<li><a href="/c/{i}">Category {i}</a></li>' for i in range(30)).encode()
    cut = response("https://cut.example/", page([EN[2]], "Cut").encode(), length_error=500)   # runs past the end
    (tmp_path / "x.warc").write_bytes(good(0) + response("https://links.example/", b"<ul>" + links + b"</ul>")
                                      + good(1) + cut)
    config = config_from_dict({"sources": [{"name": "web", "kind": "warc", "paths": ["x.warc"]}]},
                              base_dir=str(tmp_path))
    (element,) = planned_units(config, key_settings(config), None)
    prepare = PrepareUnit(config, str(tmp_path / "work"), key_settings(config), None)
    prepare.setup()
    caplog.set_level(logging.WARNING)
    summary, = prepare.process(element)
    counts = dict(summary.counts)
    assert counts[("funnel", "web", "read", "no_main_text")][0] == 1       # counted (and in rejects)
    warned = [r.getMessage() for r in caplog.records]
    assert not any("links.example" in m or "no_main_text" in m for m in warned)
    # Damage still gets its line: the last record's Content-Length runs past the end of the file.
    assert counts[("read_damaged", "web", "truncated_record", "")][0] == 1
    assert [m for m in warned if "truncated_record" in m and "x.warc@" in m]


# ---------------------------------------------------------------- the same through `corpus run`

@pytest.fixture(scope="module")
def damaged_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    (root / "web").mkdir()
    (root / "text").mkdir()
    charset = response("https://bad.example/charset", page([EN[6]], "Base64").encode(), "text/html; charset=base64")
    (root / "web" / "charset.warc").write_bytes(good(0) + charset + good(1))
    data = per_record_gzip([good(2), good(3), good(4), good(5)])
    (root / "web" / "member.warc.gz").write_bytes(flip(data, member_offsets(data)[1] + 40))
    long = response("https://bad.example/long", page([EN[7]], "Long").encode(), length_error=300)
    (root / "web" / "length.warc").write_bytes(long + good(8) + good(9))
    (root / "web" / "empty.warc.gz").write_bytes(b"")
    (root / "web" / "deep.warc").write_bytes(good(10) + response("https://bad.example/deep", deep_page()) + good(11))
    lines = "".join(json.dumps({"text": " ".join(RU[i:i + 2])}, ensure_ascii=False) + "\n" for i in range(0, 10, 2))
    (root / "text" / "good.jsonl").write_text(lines)
    (root / "text" / "empty.jsonl").write_bytes(b"")
    config = config_from_dict({
        "sources": [{"name": "web", "kind": "warc", "paths": ["web/*"], "languages": ["en"]},
                    {"name": "text", "kind": "jsonl", "paths": ["text/*"], "languages": ["ru"]}],
        "read": {"doc_timeout": 1},
        "tokenizer": {"vocab_size": 400}, "mix": {"enabled": False, "weights": {"web": 0.5, "text": 0.5}}},
        base_dir=str(root))
    result = run_corpus(config, str(root / "out"))
    return root / "out", result, config


def test_a_damaged_run_finishes_and_counts_every_case(damaged_run):
    out, result, _ = damaged_run
    stats = json.loads((out / "stats.json").read_text())
    read_stage = {row["stage"]: row for row in stats["funnel"]["web"]}["read"]
    assert read_stage["dropped"] == {"corrupt_archive": 1, "empty_file": 1, "timeout": 1}
    assert stats["read_damaged"] == {"web": {"bad_content_length": 1}}     # kept, and noted
    from corpus.inspect import render_stats

    shown = render_stats(stats)
    assert "damaged records whose documents were kept" in shown and "bad_content_length" in shown
    assert {row["stage"]: row for row in stats["funnel"]["text"]}["read"]["dropped"] == {"empty_file": 1}
    assert stats["conservation"]["ok"]


def test_a_damaged_run_keeps_the_good_neighbours(damaged_run):
    out, _, _ = damaged_run
    rows = [r for path in sorted((out / "shards").glob("*.parquet")) for r in pq.read_table(path).to_pylist()]
    kept = {r["url"] for r in rows if r["source"] == "web"}
    assert {f"https://good.example/{i}" for i in (0, 1, 2, 4, 5, 8, 9, 10, 11)} <= kept
    assert {"https://bad.example/charset", "https://bad.example/long"} <= kept
    assert sum(r["source"] == "text" for r in rows) == 5


# ---------------------------------------------------------------- 3. nothing survives

def test_a_run_where_nothing_survives_ends_with_stats_and_a_warning(tmp_path):
    (tmp_path / "t.jsonl").write_text("".join(json.dumps({"text": EN[i]}) + "\n" for i in range(5)))
    # English documents from a source that only takes Japanese: every one is dropped at language ID.
    config = config_from_dict({"sources": [{"name": "s", "kind": "jsonl", "paths": ["t.jsonl"], "languages": ["ja"]}]},
                              base_dir=str(tmp_path))
    result = run_corpus(config, str(tmp_path / "out"))
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["sources"]["s"]["docs"] == 0
    assert sum(stats["funnel"]["s"][0]["dropped"].values()) + sum(
        sum(row["dropped"].values()) for row in stats["funnel"]["s"][1:]) == 5
    assert any(w.startswith("tokenizer: not trained: no document survived") for w in stats["warnings"])
    assert (tmp_path / "out" / "manifest.json").is_file() and result.manifest["summary"]["docs_out"] == 0


# ---------------------------------------------------------------- 10. a failed rerun keeps the previous output

def test_a_failed_rerun_leaves_the_previous_run_whole(tmp_path, damaged_run, monkeypatch):
    import shutil

    import pipelines.run

    previous, _, config = damaged_run
    out = tmp_path / "out"
    shutil.copytree(previous, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def failing(*args, **kwargs):
        raise RuntimeError("the rerun fails after its pipeline ran")

    monkeypatch.setattr(pipelines.run, "build_stats", failing)
    with pytest.raises(RuntimeError):
        run_corpus(config, str(out))
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before   # manifest included
    assert not (out / "_staging").exists()
