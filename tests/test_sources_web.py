"""Stage 1 for real-world inputs: WARC with HTML extraction, Wikipedia XML dumps, FictionBook and legacy-encoded
books, and damaged input of every kind."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import sys
import zipfile
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from corpus.document import Document, Rejection
from corpus.rules.langid import LanguageIdentifier, resolve_model_path
from corpus.sources import Damaged, ReadContext, Skipped, reader_for
from corpus.sources.html import decode_html, detect_charset, parse_http_response


def read(kind: str, path: Path | str, data: bytes | None = None, **ctx_kw):
    ctx = ReadContext(source="s", path=str(path), rel=Path(path).name, **ctx_kw)
    stream = io.BytesIO(data) if data is not None else open(path, "rb")
    with stream:
        items = list(reader_for(kind)(stream, ctx))
    docs = [i for i in items if isinstance(i, Document)]
    errors = Counter(i.reason for i in items if isinstance(i, Rejection))
    skipped = Counter(i.kind for i in items if isinstance(i, Skipped))   # Damaged notes are neither
    return docs, errors, skipped


# ---------------------------------------------------------------- WARC


def test_aeb_news_warc_gives_one_document_per_page(shared):
    docs, errors, _ = read("warc", shared / "cc/warc/aeb-news-part1-94pages.warc.gz")
    assert len(docs) == 94 and not errors
    assert all(d.url and d.url.startswith("http") and d.date for d in docs)


def test_cp1251_russian_page_reads_as_russian(shared):
    docs, _, skipped = read("warc", shared / "cc/warc/resiliparse-CC-MAIN-2020-34-excerpt.warc.gz")
    page = next(d for d in docs if "01spb.ru" in d.url)
    assert "пожарной безопасности" in page.text
    identifier = LanguageIdentifier(resolve_model_path(None, None))
    assert identifier.predict(page.text).lang == "ru"
    assert skipped["request"] == 17 and skipped["metadata"] == 16


def test_clipped_warc_yields_the_partial_page_and_counts_the_cut(shared):
    path = shared / "cc/warc/resiliparse-clipped-houstonpress.warc.gz"
    docs, errors, _ = read("warc", path)
    assert len(docs) == 1 and "Chance The Rapper" in docs[0].text
    # The page is kept and the cut noted once (the record is one input, not two): no rejection.
    assert not errors
    ctx = ReadContext(source="s", path=str(path), rel=path.name)
    notes = [i for i in reader_for("warc")(open(path, "rb"), ctx) if isinstance(i, Damaged)]
    assert [n.reason for n in notes] == ["truncated_archive"]


def test_legacy_warc_017_is_read_and_non_html_is_counted_by_kind(shared):
    docs, _, skipped = read("warc", shared / "cc/warc/ukwa-IAH-20080430-blackbook-truncated-warc0.17.warc.gz")
    assert docs and all(d.url.startswith("http://www.archive.org") for d in docs)
    assert skipped["dns"] == 1 and skipped["image/jpeg"] == 1 and skipped["request"] == 7


def test_sopa_blackout_warc_yields_only_its_html_pages(shared):
    docs, errors, skipped = read("warc", shared / "cc/warc/ukwa-wikipedia-sopa-blackout-2012.warc.gz")
    assert [d.url for d in docs] == ["http://en.wikipedia.org/wiki/Main_Page"] and not errors
    assert skipped["image/png"] == 46 and skipped["text/javascript"] == 11 and skipped["text/css"] == 2


def test_every_shared_warc_reads_without_raising(shared):
    for path in sorted((shared / "cc/warc").glob("*.warc.gz")):
        docs, errors, skipped = read("warc", path)
        assert docs, path.name


@pytest.mark.parametrize("encoding,text", [
    ("cp1251", "Съешь же ещё этих мягких французских булок, да выпей чаю. " * 4),
    ("koi8_r", "Широкая электрификация южных губерний даст мощный толчок подъёму сельского хозяйства. " * 4),
    ("euc_jp", "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。" * 4),
    ("shift_jis", "何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。" * 4),
])
def test_undeclared_legacy_charsets_are_detected(encoding, text):
    html = f"<html><body><p>{text}</p></body></html>"
    assert decode_html(html.encode(encoding), None) == html


def test_a_utf8_byte_order_mark_is_not_text_and_a_few_bad_bytes_become_replacement_characters():
    html = "<html><body><p>Привет, мир</p></body></html>"
    assert decode_html(b"\xef\xbb\xbf" + html.encode("utf-8"), None) == html
    assert decode_html(b"\xef\xbb\xbf" + html.encode("utf-8"), "utf-8") == html
    damaged = (html * 2000).encode("utf-8") + b"\xff"          # one bad byte in 100 KB: the label is trusted
    assert decode_html(damaged, "utf-8") == html * 2000 + "\ufffd"


def test_header_charset_wins_and_meta_is_next():
    html = "<html><head><meta charset=\"koi8-r\"></head><body>Привет, мир</body></html>"
    assert detect_charset(html.encode("koi8_r"), None) == ("koi8-r", "meta")
    assert detect_charset(html.encode("cp1251"), "windows-1251")[1] == "header"


def test_http_envelope_chunked_and_gzipped():
    body = gzip.compress("<html><body>Текст</body></html>".encode("utf-8"))
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    raw = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n"
           b"Content-Encoding: gzip\r\n\r\n" + chunked)
    http = parse_http_response(raw)
    assert http.mime == "text/html" and http.charset == "utf-8"
    assert http.body.decode() == "<html><body>Текст</body></html>"


# ---------------------------------------------------------------- Wikipedia


def test_enwiki_excerpt_has_no_markup_and_counts_redirects(shared):
    docs, errors, skipped = read("wikipedia",
                                 shared / "wikipedia/xml/enwiki-2016-pages-articles1-p10p30302-shortened-206pages"
                                          ".xml.bz2")
    assert not errors and len(docs) > 80
    assert skipped["redirect"] == 99 and skipped["disambiguation"] >= 1
    for doc in docs:
        for marker in ("{{", "}}", "[[", "]]", "<ref", "|-", "Category:"):
            assert marker not in doc.text, (doc.title, marker)
    anarchism = next(d for d in docs if d.title == "Anarchism")
    assert anarchism.url == "https://en.wikipedia.org/wiki/Anarchism"
    assert "\nHistory\n" in anarchism.text   # a section heading on its own line


def test_table_heavy_articles_lose_their_tables(shared):
    docs, errors, _ = read("wikipedia", shared / "wikipedia/xml/enwiki-table-markup-5pages.xml.bz2")
    assert len(docs) == 5 and not errors
    assert not any(line.lstrip().startswith(("|", "!", "{|")) for d in docs for line in d.text.split("\n"))


def test_utf16_bulgarian_dump_reads_correctly(shared):
    docs, errors, skipped = read("wikipedia", shared / "wikipedia/xml/bgwiki-shortened-3pages-UTF16LE.xml.bz2")
    assert not errors and [d.title for d in docs] == ["Григориански календар"]
    assert "Григорианският календар" in docs[0].text and docs[0].url.startswith("https://bg.wikipedia.org/wiki/")
    assert skipped["namespace_4"] == 2


def test_bz2_dump_cut_in_the_middle_gives_the_pages_before_and_one_error(shared):
    path = shared / "wikipedia/xml/enwiki-2016-pages-articles1-p10p30302-shortened-206pages.xml.bz2"
    full_docs, _, _ = read("wikipedia", path)
    xml = bz2.decompress(path.read_bytes())
    cut = bz2.compress(xml)[: len(bz2.compress(xml)) // 2]
    docs, errors, _ = read("wikipedia", "cut.xml.bz2", cut)
    assert 0 < len(docs) < len(full_docs)
    assert [d.text for d in docs] == [d.text for d in full_docs[:len(docs)]]
    assert sum(errors.values()) == 1 and errors["truncated_archive"] == 1


def test_malformed_xml_tail_keeps_earlier_pages(shared):
    xml = bz2.decompress((shared / "wikipedia/xml/enwiki-table-markup-5pages.xml.bz2").read_bytes())
    broken = xml[: xml.rindex(b"<page>")] + b"<page><title>Broken</title><ns>0</ns><text>&bogus;</tex></page>"
    docs, errors, _ = read("wikipedia", "broken.xml", broken)
    assert len(docs) == 4 and errors == Counter({"malformed_xml": 1})


# ---------------------------------------------------------------- books: fb2 and legacy encodings


@pytest.fixture(scope="module")
def chapter(shared_path=None):
    from tests.conftest import shared_data

    docs, _, _ = read("books", shared_data() / "books/ru/Dostoevsky-Besy-RU-royallib.txt")
    paragraphs = docs[0].text.split("\n\n")[40:120]   # a chapter's worth of real paragraphs
    # KOI8-R has no guillemets, dashes or ellipsis: books in it use ASCII stand-ins, so the test text does too.
    ascii_stand_ins = str.maketrans({"«": '"', "»": '"', "—": "-", "–": "-", "…": "..."})
    return [p.translate(ascii_stand_ins).encode("koi8_r", "ignore").decode("koi8_r") for p in paragraphs]


def fb2_bytes(paragraphs: list[str], encoding: str) -> bytes:
    # One <p> per paragraph; a block that keeps its line breaks (verse, a list of names) is a stanza of <v> lines.
    body = "".join(f"<p>{escape(p)}</p>" if "\n" not in p else
                   "<poem><stanza>" + "".join(f"<v>{escape(v)}</v>" for v in p.split("\n")) + "</stanza></poem>"
                   for p in paragraphs)
    xml = (f'<?xml version="1.0" encoding="{encoding}"?>\n'
           '<FictionBook xmlns="http://www.gribuser.ru/xml/fictionbook/2.0" '
           'xmlns:l="http://www.w3.org/1999/xlink"><description><title-info><genre>prose</genre>'
           '<author><first-name>Фёдор</first-name><last-name>Достоевский</last-name></author>'
           '<book-title>Бесы</book-title><annotation><p>Аннотация не входит в текст.</p></annotation>'
           '<lang>ru</lang></title-info></description>'
           f'<body><section>{body}<p>Сноска<a l:href="#n1" type="note">[1]</a> здесь.</p></section></body>'
           '<body name="notes"><section id="n1"><p>Текст сноски.</p></section></body>'
           '<binary id="cover.jpg" content-type="image/jpeg">AAAA</binary></FictionBook>')
    return xml.encode(encoding)


def test_fb2_and_legacy_encodings_give_the_same_text(chapter):
    text = "\n\n".join(chapter)
    expected = text + "\n\nСноска здесь."
    plain = "\n\n".join(chapter + ["Сноска здесь."])
    versions = {
        "book.txt": plain.encode("utf-8"),
        "book-1251.txt": plain.encode("cp1251"),
        "book-koi8.txt": plain.encode("koi8_r"),
        "book.fb2": fb2_bytes(chapter, "windows-1251"),
        "book-utf8.fb2": fb2_bytes(chapter, "utf-8"),
    }
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("book.fb2", versions["book.fb2"])
    versions["book.fb2.zip"] = zipped.getvalue()
    texts = {}
    for name, data in versions.items():
        docs, errors, _ = read("books", name, data)
        assert len(docs) == 1 and not errors, name
        texts[name] = docs[0].text
    assert set(texts.values()) == {expected}
    fb2_doc = read("books", "book.fb2", versions["book.fb2"])[0][0]
    assert fb2_doc.title == "Бесы" and fb2_doc.author == "Фёдор Достоевский"
    assert "Аннотация" not in fb2_doc.text and "Текст сноски" not in fb2_doc.text and "[1]" not in fb2_doc.text


# ---------------------------------------------------------------- damaged input


def test_truncated_gzip_member_keeps_the_records_before_it(shared):
    data = (shared / "cc/wet/whirlwind-CC-MAIN-2024-22-an.wikipedia-Escopete.warc.wet.gz").read_bytes()
    raw = gzip.decompress(data)
    two = gzip.compress(raw) + gzip.compress(raw)   # two members, the second cut in half
    docs, errors, _ = read("wet", "x.warc.wet.gz", two[: len(two) - len(gzip.compress(raw)) // 2])
    assert len(docs) == 1 and errors["truncated_archive"] == 1


def test_empty_binary_and_huge_files_are_counted(tmp_path):
    assert read("books", "empty.txt", b"")[1] == Counter({"empty_file": 1})
    assert read("books", "photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 10)[1] == Counter(
        {"binary_file": 1})
    huge = ("Слово " * (50 * 1024 * 1024 // 12)).encode("utf-8")   # about 50 MB
    assert len(huge) > 45_000_000
    assert read("books", "huge.txt", huge)[1] == Counter({"doc_too_large": 1})
    assert read("text", "huge.txt", huge)[1] == Counter({"doc_too_large": 1})


def test_invalid_utf8_in_a_jsonl_line_is_read_and_left_to_normalize():
    data = b'{"text": "ok line"}\n' + '{"text": "caf\\u00e9 '.encode() + b'\xff\xfe' + b'"}\n{"text": "after"}\n'
    docs, errors, _ = read("jsonl", "x.jsonl", data)
    assert [d.text for d in docs][0] == "ok line" and docs[-1].text == "after"
    assert sum(errors.values()) + len(docs) == 3


def test_trafilatura_extractor_is_the_other_choice(shared):
    docs, errors, _ = read("warc", shared / "cc/warc/aeb-news-part1-94pages.warc.gz", html_extractor="trafilatura")
    default = {d.id: d.text for d in read("warc", shared / "cc/warc/aeb-news-part1-94pages.warc.gz")[0]}
    assert len(docs) == 94 and not errors
    assert sum(d.text != default[d.id] for d in docs) > 50   # really a different extractor


# ---------------------------------------------------------------- main-text extraction (issue 15 §1)

ARTICLE = ["The council voted on Tuesday to rebuild the old bridge over the river before the spring floods.",
           "Engineers said the work would take eight months and cost less than the city had feared last year.",
           "Residents who cross it every day welcomed the decision, though some worried about the detours."]


def page(*body: str) -> str:
    return "<html><head><title>t</title></head><body>" + "".join(body) + "</body></html>"


def article(*extra_inside: str) -> str:
    return "<article>" + "".join(f"<p>{p}</p>" for p in ARTICLE) + "".join(extra_inside) + "</article>"


def test_extraction_keeps_the_article_without_its_headline_header_and_footer():
    from corpus.sources.html import extract_main_text

    html = page("<header><a href=/>Home</a> <a href=/news>News</a></header>", "<h1>Bridge to be rebuilt</h1>",
                article(), "<footer><p>Contact the newsroom at any time of day or night for tips.</p></footer>")
    assert extract_main_text(html).splitlines() == ARTICLE


def test_extraction_leaves_comment_sections_out():
    from corpus.sources.html import extract_main_text

    comments = ('<div class="comments"><h3>3 comments</h3>'
                "<p>I have crossed that bridge every morning for twenty years and it was always fine by me.</p>"
                "<p>Another waste of our money by a council that never listens to anyone who lives here.</p></div>")
    assert extract_main_text(page(article(), comments)).splitlines() == ARTICLE


def test_extraction_trims_bylines_dates_and_notices_at_the_edges():
    from corpus.sources.html import extract_main_text

    html = page('<div class="content"><p>By Jane Doe</p><p>November 20, 2019</p>'
                "<p>We use cookies to improve your experience on our site and to show you relevant ads.</p>",
                *(f"<p>{p}</p>" for p in ARTICLE),
                "<p>Sign up for our newsletter to get the best stories delivered to your inbox every day.</p>"
                "<p>Tags: bridge, council</p></div>")
    assert extract_main_text(html).splitlines() == ARTICLE


def test_short_lines_inside_the_body_stay():
    from corpus.sources.html import trim_edges

    lines = [ARTICLE[0], "Costs", ARTICLE[1], "Detours", ARTICLE[2]]
    assert trim_edges(lines) == lines


def test_a_page_of_links_and_tags_has_no_main_text():
    from corpus.sources.html import extract_main_text

    links = "".join(f'<li><a href="/c/{i}">Category {i}</a></li>' for i in range(30))
    html = page(f"<div class=content><ul>{links}</ul><p>Tags: a, b, c</p></div>")
    for extractor in ("hybrid", "trafilatura", "resiliparse"):
        assert extract_main_text(html, extractor) == ""


def test_hybrid_asks_trafilatura_only_where_resiliparse_finds_no_article(monkeypatch):
    from corpus.sources import html as html_module

    calls = []
    monkeypatch.setattr(html_module, "trafilatura_text", lambda h: calls.append(h) or "\n".join(ARTICLE))
    monkeypatch.setattr(html_module, "resiliparse_text", lambda h: ["Menu", ARTICLE[0]])    # one line of prose
    assert html_module.extract_main_text("<p>x</p>") == "\n".join(ARTICLE) and len(calls) == 1
    monkeypatch.setattr(html_module, "resiliparse_text", lambda h: ARTICLE[:2])
    assert html_module.extract_main_text("<p>y</p>") == "\n".join(ARTICLE[:2]) and len(calls) == 1
    monkeypatch.setattr(html_module, "trafilatura_text", lambda h: calls.append(h) or "")
    monkeypatch.setattr(html_module, "resiliparse_text", lambda h: ["Menu", ARTICLE[0]])
    assert html_module.extract_main_text("<p>z</p>") == "Menu\n" + ARTICLE[0] and len(calls) == 2   # what there is


@pytest.mark.parametrize("line, running", [
    ("The council voted on Tuesday to rebuild the old bridge over the river.", True),
    ("It was late.", False), ("It was late at night.", True), ("Read more", False), ("November 20, 2019", False),
    ("吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。", True), ("ホーム", False), ("Совет проголосовал за ремонт моста до весны.", True),
])
def test_running_text_is_told_from_furniture_in_spaced_and_unspaced_scripts(line, running):
    from corpus.sources.html import is_running_text

    assert is_running_text(line) is running


def test_hybrid_extraction_scores_f1_over_095_on_the_benchmark_pages(shared):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from extraction import score

    truth = {k: v["articleBody"] for k, v in json.loads(
        (shared / "eval/extraction/scrapinghub-aeb/ground-truth-part1.json").read_text(encoding="utf-8")).items()}
    docs, errors, _ = read("warc", shared / "cc/warc/aeb-news-part1-94pages.warc.gz")
    assert len(docs) == 94 and not errors
    predictions = {d.id.rsplit("#", 1)[-1].rsplit(":", 1)[-1]: d.text for d in docs}
    assert set(predictions) <= set(truth)
    precision, recall, f1 = score(predictions, truth)
    assert f1 >= 0.95 and precision >= 0.93 and recall >= 0.95


def test_gutenberg_title_and_author_come_from_the_header(shared):
    docs, _, _ = read("books", shared / "books/en/pg11-Alice_in_Wonderland.txt")
    assert docs[0].title.startswith("Alice") and docs[0].author == "Lewis Carroll"


def test_script_and_style_blocks_and_comments_are_cut_before_extraction():
    from corpus.sources.html import drop_script_blocks

    html = ('<p>one</p><SCRIPT type="x">var a = "</p>";</script ><style>p {}</style><!-- <p>hidden</p> -->'
            "<p>two</p><scripting>kept</scripting>")
    assert drop_script_blocks(html) == "<p>one</p><p>two</p><scripting>kept</scripting>"
    unclosed = "<p>one</p><script>never closed <p>two</p>"
    assert drop_script_blocks(unclosed) == unclosed        # left for the parser, not scanned again and again
    # Tag names are ASCII case-insensitive (HTML's rule): "ſcript" (long s) is no script tag.
    assert drop_script_blocks("<p>a</p><ScRiPt>x</sCrIpT><ſcript>kept</ſcript>") == "<p>a</p><ſcript>kept</ſcript>"


def test_a_lede_that_names_a_subscription_or_a_signed_law_is_not_a_notice():
    from corpus.sources.html import trim_edges

    lede = ["Президент России Владимир Путин подписал закон о новых правилах для банков и их клиентов.",
            "Netflix raised the price of its basic subscription plan for the second time this year."]
    for first in lede:
        assert trim_edges([first, *ARTICLE]) == [first, *ARTICLE]
    banner = "We use cookies to give you the best experience. By continuing you accept all cookies."
    assert trim_edges([banner, *ARTICLE, "Copyright @ 2019 The Daily Example."]) == ARTICLE


@pytest.mark.parametrize("css_class", ["entry-content has-social-icons", "post-body unrelated-x",
                                       "story-body js-caption-zoom"])
def test_an_article_whose_class_holds_a_widget_word_is_kept(css_class):
    from corpus.sources.html import extract_main_text

    html = page(f'<div class="{css_class}">' + "".join(f"<p>{p}</p>" for p in ARTICLE) + "</div>",
                '<div class="share-bar"><p>Share this article with your friends on every network you use.</p></div>')
    assert extract_main_text(html).splitlines() == ARTICLE


def test_an_abruptly_closed_comment_hides_nothing():
    from corpus.sources.html import drop_script_blocks

    assert drop_script_blocks("<!--><p>text</p><!-- x --><p>b</p>") == "<!--><p>text</p><p>b</p>"
    assert drop_script_blocks("<!---><p>text</p>") == "<!---><p>text</p>"


def test_edge_notice_phrases_are_strings_and_match_as_phrases():
    from corpus.sources.html import EDGE_NOTICE_PHRASES, trim_edges

    assert EDGE_NOTICE_PHRASES and all(isinstance(p, str) and p for p in EDGE_NOTICE_PHRASES)
    body = ["The council met on Tuesday to discuss the new budget for the city's schools and roads."] * 3
    assert trim_edges(body + ["We use cookies to improve your experience on our site, as described here."]) == body
    assert trim_edges(body + ["Мы используем файлы cookie, чтобы сайт работал лучше для всех наших читателей."]) == body
    reprint = ("This copy is for your personal, non-commercial use only. Distribution and use of this material are "
               "governed by our Subscriber Agreement and by copyright law.")
    assert trim_edges([reprint] + body) == body
