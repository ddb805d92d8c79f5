"""Input units (issue 13 point 2): plan_units packs and splits files by size alone, and reading the units of a file
gives exactly the records of reading it whole, each once, however it is cut."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import os
import re
import subprocess
import sys

import pytest

from corpus.document import Document, Rejection
from corpus.sources import Damaged, ReadContext, Skipped, reader_for
from corpus.sources.units import Piece, Unit, plan_units, read_unit, splittable

# ---------------------------------------------------------------- helpers


def summary(item) -> tuple:
    """Everything a reader decides about a record, comparable across reads."""
    if isinstance(item, Document):
        return ("doc", item.id, item.text, item.url, item.title, item.date)
    if isinstance(item, Rejection):
        return ("rejected", item.id, item.reason, item.detail, item.n_bytes)
    if isinstance(item, Damaged):
        return ("damaged", item.reason, item.detail, item.n_bytes)
    assert isinstance(item, Skipped)
    return ("skipped", item.kind, item.n_bytes)


def read_whole(kind: str, name: str, data: bytes) -> list[tuple]:
    ctx = ReadContext(source="s", path=name, rel=name)
    return [summary(i) for i in reader_for(kind)(io.BytesIO(data), ctx)]


def read_ranges(kind: str, name: str, data: bytes, cuts: list[int]) -> list[list[tuple]]:
    """One list of records per range [cuts[i], cuts[i+1]), each read from its own stream as a worker would."""
    out = []
    for start, end in zip(cuts, cuts[1:]):
        ctx = ReadContext(source="s", path=name, rel=name, start=start, end=end)
        out.append([summary(i) for i in reader_for(kind)(io.BytesIO(data), ctx)])
    return out


def read_units(kind: str, name: str, data: bytes, target_bytes: int) -> list[list[tuple]]:
    units = plan_units("s", kind, [(name, name, len(data))], target_bytes)
    ctx = ReadContext(source="s", path="", rel="")
    return [[summary(i) for i in read_unit(u, kind, lambda _: io.BytesIO(data), ctx)] for u in units]


def assert_splits_read_like_the_whole(kind: str, name: str, data: bytes, targets: list[int],
                                      cuts: list[list[int]] = ()) -> list[tuple]:
    """Units at each target size, and ranges at each list of cut points, concatenated equal the whole read (same
    records, same order), and no document id comes twice. Returns the whole read."""
    whole = read_whole(kind, name, data)
    ids = [r[1] for r in whole if r[0] == "doc"]
    assert ids and len(set(ids)) == len(ids)
    for target in targets:
        parts = read_units(kind, name, data, target)
        assert len(parts) == -(-len(data) // target), target
        assert [r for part in parts for r in part] == whole, f"target_bytes={target}"
    for cut in cuts:
        assert [r for part in read_ranges(kind, name, data, [0, *cut, len(data)]) for r in part] == whole, cut
    return whole


def docs_per_range(parts: list[list[tuple]]) -> list[int]:
    return [sum(r[0] == "doc" for r in part) for part in parts]


# ---------------------------------------------------------------- plan_units


def test_small_files_are_packed_in_path_order_up_to_the_target():
    files = [("/d/c", "c", 30), ("/d/a", "a", 10), ("/d/e", "e", 5), ("/d/b", "b", 20), ("/d/d", "d", 50)]
    units = plan_units("books", "books", files, target_bytes=60)
    assert [[(p.rel, p.start, p.end) for p in u.pieces] for u in units] == [
        [("a", 0, 10), ("b", 0, 20), ("c", 0, 30)],   # 60: exactly the target
        [("d", 0, 50), ("e", 0, 5)],
    ]
    assert all(u.source == "books" for u in units) and [u.n_bytes for u in units] == [60, 55]


def test_a_large_splittable_file_becomes_equal_ranges_one_unit_each():
    units = plan_units("web", "wet", [("/d/x.warc.wet.gz", "x.warc.wet.gz", 250)], target_bytes=100)
    assert [u.pieces for u in units] == [(Piece("/d/x.warc.wet.gz", "x.warc.wet.gz", 0, 83),),
                                         (Piece("/d/x.warc.wet.gz", "x.warc.wet.gz", 83, 166),),
                                         (Piece("/d/x.warc.wet.gz", "x.warc.wet.gz", 166, 250),)]


def test_a_large_file_ends_the_pack_before_it_and_small_files_after_it_start_a_new_one():
    files = [("/d/a.jsonl", "a.jsonl", 10), ("/d/b.jsonl", "b.jsonl", 300), ("/d/c.jsonl", "c.jsonl", 10)]
    units = plan_units("c4", "jsonl", files, target_bytes=100)
    assert [[(p.rel, p.start, p.end) for p in u.pieces] for u in units] == [
        [("a.jsonl", 0, 10)], [("b.jsonl", 0, 100)], [("b.jsonl", 100, 200)], [("b.jsonl", 200, 300)],
        [("c.jsonl", 0, 10)]]


def test_unsplittable_files_stay_whole_however_large():
    for kind, name in [("books", "big.txt"), ("text", "big.txt"), ("parquet", "big.parquet"),
                       ("jsonl", "big.jsonl.gz"), ("jsonl", "big.jsonl.bz2"), ("wikipedia", "big.xml.gz"),
                       ("warc", "big.warc.bz2"), ("wet", "big.warc.wet.xz")]:
        units = plan_units("s", kind, [(name, name, 1000), ("small", "small", 1)], target_bytes=100)
        assert [u.pieces for u in units] == [(Piece(name, name, 0, 1000),), (Piece("small", "small", 0, 1),)], name


def test_which_kinds_and_names_are_splittable():
    assert splittable("warc", "a.warc.gz") and splittable("warc", "a.warc") and splittable("wet", "a.wet.gz")
    assert splittable("jsonl", "a.jsonl") and not splittable("jsonl", "a.jsonl.gz")
    assert splittable("wikipedia", "a.xml.bz2") and splittable("wikipedia", "a.xml")
    assert not splittable("wikipedia", "a.xml.xz") and not splittable("books", "a.txt")


def test_plan_is_deterministic_and_keys_name_units_uniquely():
    files = [(f"/d/{i:03}.jsonl", f"{i:03}.jsonl", 37 * i % 101) for i in range(60)]
    units = plan_units("c4", "jsonl", files, target_bytes=200)
    again = plan_units("c4", "jsonl", list(reversed(files)), target_bytes=200)
    assert units == again and [u.key for u in units] == [u.key for u in again]
    assert len({u.key for u in units}) == len(units)
    assert all(len(u.key) == 16 and int(u.key, 16) >= 0 for u in units)
    assert Unit("c4", units[0].pieces).key != Unit("web", units[0].pieces).key
    # Every byte of every file is in exactly one unit.
    covered = sorted((p.path, p.start, p.end) for u in units for p in u.pieces)
    assert covered == sorted((path, 0, size) for path, _, size in files)


def test_unit_key_does_not_change_between_interpreter_runs():
    # A key names work files that a later run reuses, so it must not come from Python's per-process str hash.
    code = ("from corpus.sources.units import Piece, Unit; "
            "print(Unit('web', (Piece('/d/a.warc.gz', 'a.warc.gz', 0, 10),)).key)")
    keys = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(keys) == 1


def test_target_bytes_must_be_positive():
    with pytest.raises(ValueError, match="target_bytes"):
        plan_units("s", "jsonl", [("a", "a", 1)], target_bytes=0)


# ---------------------------------------------------------------- read_unit


def test_read_unit_reads_each_packed_file_under_its_own_name_and_counts_a_missing_one():
    files = {"/d/a.txt": "Первая книга.".encode(), "/d/c.txt": b"Third book."}
    unit = Unit("books", (Piece("/d/a.txt", "a.txt", 0, 24), Piece("/d/b.txt", "b.txt", 0, 5),
                          Piece("/d/c.txt", "c.txt", 0, 11)))
    items = list(read_unit(unit, "text", lambda path: io.BytesIO(files[path]), ReadContext("books", "", "")))
    assert [(type(i).__name__, i.id) for i in items] == [
        ("Document", "books/a.txt"), ("Rejection", "books/b.txt@0"), ("Document", "books/c.txt")]
    assert [i.text for i in items if isinstance(i, Document)] == ["Первая книга.", "Third book."]
    assert items[1].reason == "unreadable_file" and "KeyError" in items[1].detail


# ---------------------------------------------------------------- WET and WARC


def warc_record(headers: list[tuple[str, str]], body: bytes) -> bytes:
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + f"Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body + b"\r\n\r\n"


def wet_records(n: int = 24) -> list[bytes]:
    """A warcinfo record, then conversion records; every fifth has no WARC-Record-ID, one body quotes a whole
    WARC header (a cut inside it must not be taken for a record start)."""
    records = [warc_record([("WARC-Type", "warcinfo")], b"software: test\r\n")]
    for i in range(n):
        text = f"Документ {i}: " + " ".join(f"слово{j} word{j}" for j in range(i % 7 * 9 + 3))
        if i == 7:
            quoted = warc_record([("WARC-Type", "conversion"), ("WARC-Target-URI", "https://fake.example/")], b"x")
            text += "\nA record looks like this:\n" + quoted.decode() + "and so on."
        headers = [("WARC-Type", "conversion"), ("WARC-Target-URI", f"https://site{i}.example/page"),
                   ("WARC-Date", f"2024-05-{i % 28 + 1:02}T00:00:00Z")]
        if i % 5:
            headers.append(("WARC-Record-ID", f"<urn:uuid:00000000-0000-0000-0000-{i:012}>"))
        records.append(warc_record(headers, text.encode()))
    return records


def test_wet_plain_split_at_every_size_reads_each_record_once():
    records = wet_records()
    data = b"".join(records)
    fake = data.index(b"fake.example")
    header_cut = data.index(b"WARC/1.0", len(records[0]) + len(records[1])) + 3   # inside "WARC/1.0"
    whole = assert_splits_read_like_the_whole("wet", "x.warc.wet", data, [1, 997, 4096, len(data)],
                                              [[header_cut], [fake - 40, fake], [i * 333 for i in range(1, 20)]])
    assert len(whole) == 24


def test_wet_gzip_per_record_split_at_every_size_reads_each_record_once():
    members = [gzip.compress(r, mtime=0) for r in wet_records()]
    data = b"".join(members)
    inside_gzip_header = len(members[0]) + len(members[1]) + 5
    assert_splits_read_like_the_whole("wet", "x.warc.wet.gz", data, [1, 997, 4096],
                                      [[inside_gzip_header], [len(members[0])]])
    parts = read_units("wet", "x.warc.wet.gz", data, 997)
    assert sum(n > 0 for n in docs_per_range(parts)) > 3   # records really spread over the units


def test_gzip_members_that_do_not_start_a_record_are_no_boundaries():
    # A writer that flushes a member every 700 bytes, whatever the records: each record stays with the range where
    # the member holding its first byte starts.
    raw = b"".join(wet_records())
    data = b"".join(gzip.compress(raw[i:i + 700], mtime=0) for i in range(0, len(raw), 700))
    assert_splits_read_like_the_whole("wet", "x.warc.wet.gz", data, [1, 313, 2000])


def test_whole_file_gzip_gives_every_record_to_the_first_range():
    data = gzip.compress(b"".join(wet_records()), mtime=0)
    whole = assert_splits_read_like_the_whole("wet", "x.warc.wet.gz", data, [1, 999])
    assert docs_per_range(read_units("wet", "x.warc.wet.gz", data, 999))[0] == len(whole)


def test_wet_ids_are_record_ids_or_offsets_in_the_raw_file():
    records = wet_records(6)
    offset_of_5 = sum(len(r) for r in records[:6])   # record 5 (after warcinfo and records 0-4) has no id
    plain = [r[1] for r in read_whole("wet", "x.wet", b"".join(records))]
    assert plain[1] == "s/x.wet#urn:uuid:00000000-0000-0000-0000-000000000001"
    assert plain[0] == f"s/x.wet#{len(records[0])}" and plain[5] == f"s/x.wet#{offset_of_5}"
    members = [gzip.compress(r, mtime=0) for r in records]
    per_record = [r[1] for r in read_whole("wet", "x.wet.gz", b"".join(members))]
    assert per_record[0] == f"s/x.wet.gz#{len(members[0])}"                       # the record's gzip member
    assert per_record[5] == f"s/x.wet.gz#{sum(len(m) for m in members[:6])}"
    one_member = [r[1] for r in read_whole("wet", "x.wet.gz", gzip.compress(b"".join(records)))]
    assert one_member[0] == f"s/x.wet.gz#0+{len(records[0])}"                      # bytes into member 0


def html_page(i: int) -> bytes:
    words = " ".join(f"sentence{j} about topic {i} with several ordinary words" for j in range(12))
    html = (f"<html><head><title>Page {i}</title></head><body><nav>Home | About</nav><article><h1>Page {i}</h1>"
            f"<p>{words}.</p><p>Second paragraph of page {i}, long enough to be kept as main text by the "
            f"extractor, with more ordinary words in it.</p></article></body></html>").encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html)


def warc_records(n: int = 12) -> list[bytes]:
    records = [warc_record([("WARC-Type", "warcinfo")], b"software: test\r\n")]
    for i in range(n):
        uri = f"https://site{i}.example/"
        records.append(warc_record([("WARC-Type", "request"), ("WARC-Target-URI", uri)], b"GET / HTTP/1.1\r\n\r\n"))
        body = html_page(i) if i % 4 else b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n\x89PNG\x00\x01"
        headers = [("WARC-Type", "response"), ("WARC-Target-URI", uri), ("WARC-Date", "2024-05-18T00:00:00Z")]
        if i % 3:
            headers.append(("WARC-Record-ID", f"<urn:uuid:{i:08}-0000-0000-0000-000000000000>"))
        records.append(warc_record(headers, body))
    return records


def test_warc_plain_and_gzip_per_record_split_reads_each_page_once():
    records = warc_records()
    for name, data in [("x.warc", b"".join(records)), ("x.warc.gz", b"".join(gzip.compress(r) for r in records))]:
        whole = assert_splits_read_like_the_whole("warc", name, data, [1, 1001, 6007])
        assert sum(r[0] == "doc" for r in whole) == 9 and sum(r[0] == "skipped" for r in whole) == 1 + 12 + 3


def test_a_corrupt_member_costs_its_record_only():
    # Reading resumes at the next member that starts a record, in a whole read and in a range read alike.
    members = [gzip.compress(r, mtime=0) for r in wet_records(8)]
    members[3] = members[3][:12] + bytes(b ^ 0xFF for b in members[3][12:40]) + members[3][40:]
    data = b"".join(members)
    cut = sum(len(m) for m in members[:5])
    before, after = read_ranges("wet", "x.warc.wet.gz", data, [0, cut, len(data)])
    assert [r[0] for r in before] == ["doc", "doc", "doc", "rejected"]      # member 0 is the warcinfo record
    assert before[-1][2] == "corrupt_archive" and before[-1][1].endswith(f"@{sum(len(m) for m in members[:3])}")
    record_id = "s/x.warc.wet.gz#urn:uuid:00000000-0000-0000-0000-{:012}".format
    record_5_at = sum(len(m) for m in members[:6])   # record 5 has no WARC-Record-ID
    assert [r[1] for r in after] == [record_id(4), f"s/x.warc.wet.gz#{record_5_at}", record_id(6), record_id(7)]


def test_truncated_last_member_is_reported_once_by_the_range_it_starts_in():
    members = [gzip.compress(r, mtime=0) for r in wet_records(8)]
    data = b"".join(members)[:-30]
    whole = assert_splits_read_like_the_whole("wet", "x.warc.wet.gz", data, [1, 500])
    # The last record is cut by the archive's end: one error, the archive's (a WET record cut off is not kept).
    assert [r[2] for r in whole if r[0] == "rejected"] == ["truncated_archive"]


# ---------------------------------------------------------------- JSONL


def jsonl_lines() -> list[bytes]:
    lines = []
    for i in range(40):
        row = {"text": f"строка {i} " + "ё" * (i % 9), "url": f"https://e{i}.example/"}
        if i % 3 == 0:
            row["doc_id"] = f"d{i}"
        lines.append(json.dumps(row, ensure_ascii=i % 2 == 0).encode() + b"\n")
    lines[11] = b'{"text": "cut\n'          # malformed: counted where it starts
    lines[20] = b"\n"                        # blank lines are not records
    lines[-1] = lines[-1].rstrip(b"\n")      # the last line has no newline
    return lines


def test_jsonl_split_at_line_boundaries_reads_each_line_once():
    lines = jsonl_lines()
    data = b"".join(lines)
    starts = [sum(len(x) for x in lines[:i]) for i in range(len(lines))]
    cuts = [[starts[5]], [starts[5] - 1], [starts[5] + 1], [starts[20], starts[21]]]   # at, before, after a start
    whole = assert_splits_read_like_the_whole("jsonl", "x.jsonl", data, [1, 7, 333, 2048], cuts)
    assert len(whole) == 39 and [r[2] for r in whole if r[0] == "rejected"] == ["malformed_json"]


def test_jsonl_rows_without_an_id_are_named_by_their_byte_offset():
    lines = ['{"text": "один"}\n', '{"text": "два", "doc_id": "b"}\n', '\n', '{"text": "три"}\n']
    ctx = ReadContext(source="s", path="x.jsonl", rel="x.jsonl", id_field="doc_id")
    docs = list(reader_for("jsonl")(io.BytesIO("".join(lines).encode()), ctx))
    third_row_at = sum(len(line.encode()) for line in lines[:3])   # bytes, not characters
    assert third_row_at == 21 + 34 + 1
    assert [d.id for d in docs] == ["s/x.jsonl#0", "s/x.jsonl#b", "s/x.jsonl#56"]


def test_compressed_jsonl_is_read_whole_by_the_range_at_zero():
    data = gzip.compress(b"".join(jsonl_lines()), mtime=0)
    parts = read_ranges("jsonl", "x.jsonl.gz", data, [0, 10, 20, len(data)])
    assert parts[0] == read_whole("jsonl", "x.jsonl.gz", data) and parts[1:] == [[], []]


# ---------------------------------------------------------------- Wikipedia

SITEINFO = ('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" xml:lang="fr">\n  <siteinfo>\n'
            '    <sitename>Wikipédia</sitename>\n    <base>https://fr.wikipedia.org/wiki/Accueil</base>\n'
            '    <namespaces>\n      <namespace key="0" />\n      <namespace key="6">Fichier</namespace>\n'
            '      <namespace key="14">Catégorie</namespace>\n    </namespaces>\n  </siteinfo>\n')


def wiki_page(i: int) -> str:
    ns, text = 0, (f"'''Article {i}''' parle de [[sujet {i}|sujets]] et de {{{{modèle}}}} choses.\n\n"
                   f"== Histoire ==\nTexte de la section {i} avec é, ü et ж.\n[[Catégorie:Liste {i}]]\n"
                   f"[[Fichier:Image{i}.png|vignette|légende]]")
    if i % 7 == 3:
        text = f"#REDIRECTION [[Article {i + 1}]]"
    if i % 7 == 5:
        ns, text = 4, f"Page de projet {i}"
    extra = "<redirect title=\"x\" />" if i % 7 == 3 else ""
    body = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (f"  <page>\n    <title>Article {i}</title>\n    <ns>{ns}</ns>\n    <id>{1000 + i}</id>\n    {extra}"
            f"<revision><text xml:space=\"preserve\">{body}</text></revision>\n  </page>\n")


def multistream(streams: list[str], encoding: str = "utf-8") -> bytes:
    return b"".join(bz2.compress(s.encode(encoding)) for s in streams)


def wiki_streams(n: int = 20, per_stream: int = 3) -> list[str]:
    """The siteinfo and two pages in the first stream, then `per_stream` pages per stream, then the closing tag
    in a stream of its own (as Wikimedia ends its multistream dumps)."""
    pages = [wiki_page(i) for i in range(n)]
    return ([SITEINFO + "".join(pages[:2])] + ["".join(pages[i:i + per_stream]) for i in range(2, n, per_stream)]
            + ["</mediawiki>\n"])


def test_multistream_bz2_split_at_stream_boundaries_reads_each_page_once():
    streams = wiki_streams()
    data = multistream(streams)
    sizes = [len(bz2.compress(s.encode())) for s in streams]
    second = sizes[0]
    whole = assert_splits_read_like_the_whole("wikipedia", "x.xml.bz2", data, [1, 777, 2001],
                                              [[second], [second + 4], [second - 1, second + 1]])
    docs = [r for r in whole if r[0] == "doc"]
    assert len(docs) == 14 and all(r[3].startswith("https://fr.wikipedia.org/wiki/Article_") for r in docs)
    assert not any("Catégorie" in r[2] or "Fichier" in r[2] for r in docs)   # namespace names from the siteinfo
    parts = read_ranges("wikipedia", "x.xml.bz2", data, [0, second, len(data)])
    assert docs_per_range(parts) == [2, 12]


def test_utf16_multistream_bz2_split_reads_each_page_once():
    streams = wiki_streams(10)
    streams[0] = '\ufeff<?xml version="1.0" encoding="UTF-16"?>\n' + streams[0]
    data = multistream(streams, "utf-16-le")
    whole = assert_splits_read_like_the_whole("wikipedia", "x.xml.bz2", data, [1, 501, 1333])
    assert sum(r[0] == "doc" for r in whole) == 8 and "ж" in whole[0][2]


def test_plain_xml_split_at_page_starts_reads_each_page_once():
    data = "".join(wiki_streams()).encode()
    page_7 = data.index(b"<page>\n    <title>Article 7<")
    whole = assert_splits_read_like_the_whole("wikipedia", "x.xml", data, [1, 777, 2001],
                                              [[page_7], [page_7 + 1], [page_7 - 1, page_7 + 2]])
    assert sum(r[0] == "doc" for r in whole) == 14


def test_utf16_plain_xml_splits_on_aligned_page_tags():
    xml = '<?xml version="1.0" encoding="UTF-16"?>\n' + "".join(wiki_streams(8))
    data = xml.encode("utf-16")   # with a BOM
    whole = assert_splits_read_like_the_whole("wikipedia", "x.xml", data, [1, 333, 1111])
    assert sum(r[0] == "doc" for r in whole) == 6


def test_pages_cut_across_bz2_streams_stay_with_the_stream_they_start_in():
    # pbzip2 cuts streams at arbitrary bytes: a stream that does not begin with <page> is no boundary.
    text = "".join(wiki_streams(10))
    data = multistream([text[i:i + 500] for i in range(0, len(text), 500)])
    assert_splits_read_like_the_whole("wikipedia", "x.xml.bz2", data, [1, 401, 1500])


def test_single_stream_bz2_gives_every_page_to_the_first_range():
    data = bz2.compress("".join(wiki_streams()).encode())
    whole = assert_splits_read_like_the_whole("wikipedia", "x.xml.bz2", data, [1, 999])
    assert docs_per_range(read_units("wikipedia", "x.xml.bz2", data, 999))[0] == 14 == sum(
        r[0] == "doc" for r in whole)


def test_truncated_multistream_dump_reports_the_cut_once():
    data = multistream(wiki_streams())[:-60]   # the closing-tag stream and part of the last page stream
    whole = assert_splits_read_like_the_whole("wikipedia", "x.xml.bz2", data, [1, 700])
    assert [r[2] for r in whole if r[0] == "rejected"] == ["truncated_archive"]


def test_malformed_page_in_a_later_range_is_located_from_the_range_start():
    streams = wiki_streams()
    streams[3] = streams[3].replace("</title>", "</titl>", 1)
    data = multistream(streams)
    start = sum(len(bz2.compress(s.encode())) for s in streams[:3])
    parts = read_ranges("wikipedia", "x.xml.bz2", data, [0, start, len(data)])
    errors = [r for r in parts[1] if r[0] == "rejected"]
    assert [(e[1], e[2]) for e in errors] == [(f"s/x.xml.bz2@{start}+line 2", "malformed_xml")]
    assert docs_per_range(parts)[0] == 6   # pages 0-7 but for a redirect and a project page: kept


# ---------------------------------------------------------------- the shared real files


def test_shared_warc_files_split_read_like_whole(shared):
    for path in sorted((shared / "cc/warc").glob("*.warc.gz")):
        data = path.read_bytes()
        assert_splits_read_like_the_whole("warc", path.name, data, [4099, 65_537, 1_000_003][:1 + (len(data) > 1e6)])


def test_shared_wet_file_splits_read_like_whole(shared):
    path = next((shared / "cc/wet").glob("*.wet.gz"))
    assert_splits_read_like_the_whole("wet", path.name, path.read_bytes(), [1, 501])


def test_shared_wikipedia_dumps_split_read_like_whole(shared):
    for path in sorted((shared / "wikipedia/xml").glob("*.bz2")):
        assert_splits_read_like_the_whole("wikipedia", path.name, path.read_bytes(), [3001, 100_003])


def test_shared_dump_rewritten_as_multistream_splits_read_like_whole(shared):
    """The 206-page enwiki excerpt recompressed as Wikimedia does it: the header stream, then streams of pages."""
    path = shared / "wikipedia/xml/enwiki-2016-pages-articles1-p10p30302-shortened-206pages.xml.bz2"
    xml = bz2.decompress(path.read_bytes())
    starts = [m.start() for m in re.finditer(rb"  <page>", xml)][::10]
    end = xml.rindex(b"</mediawiki>")
    streams = [xml[a:b] for a, b in zip([0, *starts, end], [*starts, end, len(xml)])]
    data = b"".join(bz2.compress(s) for s in streams)
    whole = read_whole("wikipedia", path.name, path.read_bytes())
    for target in (50_001, 200_003):
        parts = read_units("wikipedia", path.name, data, target)
        assert [r for part in parts for r in part] == whole, target
        assert sum(n > 0 for n in docs_per_range(parts)) >= 5   # pages really spread over the units


def test_shared_utf16_dump_as_plain_xml_splits_read_like_whole(shared):
    path = shared / "wikipedia/xml/bgwiki-shortened-3pages-UTF16LE.xml.bz2"
    data = bz2.decompress(path.read_bytes())
    assert assert_splits_read_like_the_whole("wikipedia", "bg.xml", data, [10_001, 60_001]) == read_whole(
        "wikipedia", "bg.xml", data)


def test_shared_jsonl_splits_read_like_whole(shared):
    for path in sorted((shared / "cc/text").glob("*.jsonl")):
        assert_splits_read_like_the_whole("jsonl", path.name, path.read_bytes(), [1001, 8191])


def test_all_cuts_of_a_small_real_file_agree(shared):
    """Every single cut point of the WET file (about 3 KB, two gzip members) in turn."""
    data = next((shared / "cc/wet").glob("*.wet.gz")).read_bytes()
    whole = read_whole("wet", "x.warc.wet.gz", data)
    for cut in range(1, len(data)):
        parts = read_ranges("wet", "x.warc.wet.gz", data, [0, cut, len(data)])
        assert parts[0] + parts[1] == whole, cut
