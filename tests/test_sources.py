"""Readers on real files from ../shared/data and on damaged files made here."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.document import Document, Rejection
from corpus.sources import ReadContext, reader_for, relative_name


def read_all(kind: str, path: Path, data: bytes | None = None, **ctx_fields):
    ctx = ReadContext(source="s", path=str(path), rel=path.name, **ctx_fields)
    stream = io.BytesIO(data if data is not None else path.read_bytes())
    items = list(reader_for(kind)(stream, ctx))
    return [i for i in items if isinstance(i, Document)], [i for i in items if isinstance(i, Rejection)]


def test_relative_name_keeps_the_part_below_the_glob():
    assert relative_name("/d/books/**/*.txt", "/d/books/en/a.txt") == "en/a.txt"
    assert relative_name("/d/one.jsonl", "/d/one.jsonl") == "one.jsonl"


def test_gutenberg_header_licence_and_footer_removed(shared):
    for path in sorted((shared / "books" / "en").glob("*.txt")):
        docs, errors = read_all("books", path)
        assert not errors and len(docs) == 1
        text = docs[0].text
        assert "START OF" not in text and "END OF THE PROJECT" not in text.upper()
        assert "Project Gutenberg License" not in text and "gutenberg.org/license" not in text
        assert "\r" not in text and "\ufeff" not in text
        assert docs[0].title


def test_hard_wrapped_book_lines_are_rejoined(shared):
    docs, _ = read_all("books", shared / "books" / "en" / "pg1342-Pride_and_Prejudice.txt")
    text = docs[0].text
    # Wrapped over two lines in the file; one line in the document.
    assert ("It is a truth universally acknowledged, that a single man in possession of a good fortune "
            "must be in want of a wife.") in text
    paragraphs = text.split("\n\n")
    assert sum(len(p) for p in paragraphs) / len(paragraphs) > 150
    lines = text.split("\n")
    assert sum(60 <= len(x) <= 75 for x in lines) / len(lines) < 0.05   # not a line per source line


def test_russian_ebook_site_notice_removed(shared):
    docs, _ = read_all("books", shared / "books" / "ru" / "Dostoevsky-Besy-RU-royallib.txt")
    text = docs[0].text
    assert "royallib" not in text.lower() and "Спасибо, что скачали" not in text
    assert text.startswith("Хоть убей, следа не видно,")


def test_legacy_cyrillic_encodings_give_the_same_text(shared):
    original = (shared / "books" / "ru" / "Dostoevsky-Besy-RU-royallib.txt").read_text("utf-8")[:200_000]
    # Characters a legacy code page cannot hold are replaced in all three versions alike.
    text = original.encode("koi8_r", errors="replace").decode("koi8_r").encode("cp1251", "replace").decode("cp1251")
    utf8 = read_all("books", Path("b.txt"), text.encode("utf-8"))[0][0].text
    cp1251 = read_all("books", Path("b.txt"), text.encode("cp1251"))[0][0].text
    koi8 = read_all("books", Path("b.txt"), text.encode("koi8_r"))[0][0].text
    assert utf8 == cp1251 == koi8
    assert "Степан Трофимович" in utf8


def test_wet_conversion_record_with_url_and_date(shared):
    path = next((shared / "cc" / "wet").glob("*.wet.gz"))
    docs, errors = read_all("wet", path)
    assert not errors and len(docs) == 1
    assert docs[0].url == "https://an.wikipedia.org/wiki/Escopete"
    assert docs[0].date.startswith("2024-05-18")
    assert "Escopete" in docs[0].text


def test_truncated_gzip_yields_records_before_the_cut_and_one_error(shared):
    path = next((shared / "cc" / "text").glob("dolma-*0091.jsonl.gz"))
    data = path.read_bytes()
    docs_full, _ = read_all("jsonl", path)
    docs, errors = read_all("jsonl", path, data[: len(data) // 2])
    assert 0 < len(docs) < len(docs_full)
    # Every line before the cut is kept; the line the cut falls in is the cut's damage, counted once.
    assert [e.reason for e in errors] == ["truncated_archive"]
    assert [d.text for d in docs] == [d.text for d in docs_full[: len(docs)]]


def test_malformed_json_line_is_counted_and_reading_goes_on(tmp_path):
    lines = [json.dumps({"text": "first"}), '{"text": "cut', "not json at all", json.dumps({"text": "last"})]
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(lines))
    docs, errors = read_all("jsonl", path)
    assert [d.text for d in docs] == ["first", "last"]
    assert [e.reason for e in errors] == ["malformed_json", "malformed_json"]
    first_line_bytes = len(lines[0]) + 1
    assert f"x.jsonl@{first_line_bytes}:" in errors[0].detail


def test_jsonl_id_url_title_fields(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"text": "t", "doc": "abc", "link": "https://e.org/"}) + "\n")
    docs, _ = read_all("jsonl", path, id_field="doc", url_field="link")
    assert docs[0].id == "s/x.jsonl#abc" and docs[0].url == "https://e.org/"


def test_parquet_rows_become_documents(tmp_path):
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "url": ["u1", None]}), path)
    docs, errors = read_all("parquet", path)
    assert [(d.id, d.text, d.url) for d in docs] == [("s/x.parquet#1", "a", "u1"), ("s/x.parquet#2", "b", None)]
    assert not errors


def test_corrupt_parquet_is_one_counted_error(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    docs, errors = read_all("parquet", path)
    assert not docs and [e.reason for e in errors] == ["corrupt_file"]


def test_empty_binary_and_huge_files_are_rejected(tmp_path):
    assert read_all("text", tmp_path / "e.txt", b"")[1][0].reason == "empty_file"
    assert read_all("text", tmp_path / "b.txt", b"\x00\x01\x02" * 100)[1][0].reason == "binary_file"
    big = read_all("text", tmp_path / "h.txt", b"word " * 2_000, max_doc_bytes=5_000)[1][0]
    assert big.reason == "doc_too_large" and big.n_bytes == 10_000


def test_truncated_wet_record_is_counted(tmp_path):
    body = b"hello world " * 10
    rec = (b"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: https://a.org/\r\nContent-Length: "
           + str(len(body)).encode() + b"\r\n\r\n" + body + b"\r\n\r\n")
    data = gzip.compress(rec + rec[: len(rec) - 40])
    docs, errors = read_all("wet", tmp_path / "x.wet.gz", data)
    assert len(docs) == 1 and [e.reason for e in errors] == ["truncated_record"]
