"""Books: the body only (issue 15 §4). Small books written here, read by the books reader; then the shared books.

Every expected output is written out by hand. The paragraphs are one line each (as e-books and the reader's output
keep them), so that what goes in and what comes out can be read side by side.
"""

from __future__ import annotations

import io
import re

import pytest

from corpus.document import Document
from corpus.sources import ReadContext, reader_for
from corpus.sources.books import keep_book_body

PG_HEAD = ("The Project Gutenberg eBook of A Small Book\n\nTitle: A Small Book\n\nAuthor: A. Writer\n\n"
           "*** START OF THE PROJECT GUTENBERG EBOOK A SMALL BOOK ***\n\n\n\n")
PG_TAIL = "\n\n\n*** END OF THE PROJECT GUTENBERG EBOOK A SMALL BOOK ***\n\nSome licence text.\n"

ONE = ("It was a cold morning in the valley, and the river ran grey under the bridge while the miller's son went "
       "down to the water.")
TWO = ("Nobody in the village remembered a winter like it, though the old men talked of one when they were boys "
       "and the snow came up to the eaves.")
THREE = ("By the spring the mill had been sold, the son had gone to the city, and the river ran on under the "
         "bridge as it always had.")
RU_ONE = ("Все счастливые семьи похожи друг на друга, каждая несчастливая семья несчастлива по-своему, и в доме "
          "всё смешалось с самого утра.")
RU_TWO = ("Жена узнала, что муж был в связи с бывшею в их доме француженкою-гувернанткой, и объявила мужу, что не "
          "может жить с ним в одном доме.")
RU_THREE = ("На третий день после ссоры князь Степан Аркадьич Облонский проснулся в обычный час, то есть в восемь "
            "часов утра, не в спальне жены.")


def read_book(text: str, name: str = "book.txt") -> str:
    ctx = ReadContext(source="books", path=name, rel=name)
    items = list(reader_for("books")(io.BytesIO(text.encode("utf-8")), ctx))
    docs = [i for i in items if isinstance(i, Document)]
    assert len(docs) == 1, items
    return docs[0].text


# ---------------------------------------------------------------- tables of contents at the start


def test_gutenberg_contents_of_chapters_is_dropped_and_the_body_kept():
    numerals = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
    contents = "\n".join(f"CHAPTER {n}" for n in numerals)
    body = "\n\n".join(f"CHAPTER {n}\n\n{ONE}" for n in numerals)
    book = PG_HEAD + "A SMALL BOOK\n\nby A. Writer\n\n\nCONTENTS\n\n" + contents + "\n\n\n\n" + body + PG_TAIL
    text = read_book(book)
    assert text == ("CHAPTER I\n\n" + ONE + "\n\nCHAPTER II\n\n" + ONE + "\n\nCHAPTER III\n\n" + ONE
                    + "\n\nCHAPTER IV\n\n" + ONE + "\n\nCHAPTER V\n\n" + ONE + "\n\nCHAPTER VI\n\n" + ONE
                    + "\n\nCHAPTER VII\n\n" + ONE + "\n\nCHAPTER VIII\n\n" + ONE + "\n\nCHAPTER IX\n\n" + ONE
                    + "\n\nCHAPTER X\n\n" + ONE + "\n\nCHAPTER XI\n\n" + ONE + "\n\nCHAPTER XII\n\n" + ONE)


def test_war_and_peace_contents_whose_chapter_numbers_restart_in_every_book_is_dropped():
    contents = ("    Contents\n\n    BOOK ONE: 1805\n\n    CHAPTER I\n\n    CHAPTER II\n\n\n    BOOK TWO: 1805\n\n"
                "    CHAPTER I\n\n    CHAPTER II\n\n\n    FIRST EPILOGUE: 1813 - 20\n\n    CHAPTER I\n\n\n"
                "    SECOND EPILOGUE\n\n    CHAPTER I\n\n\n\n\n\n")
    body = ("BOOK ONE: 1805\n\n\n\nCHAPTER I\n\n" + ONE + "\n\nCHAPTER II\n\n" + TWO + "\n\n\n\nBOOK TWO: 1805\n\n"
            "CHAPTER I\n\n" + THREE + "\n\nCHAPTER II\n\n" + ONE + "\n\n\n\nFIRST EPILOGUE: 1813 - 20\n\n"
            "CHAPTER I\n\n" + TWO + "\n\n\n\nSECOND EPILOGUE\n\nCHAPTER I\n\n" + THREE)
    text = read_book(PG_HEAD + "WAR AND PEACE\n\n\nBy Leo Tolstoy/Tolstoi\n\n\n" + contents + body + PG_TAIL)
    assert text == ("BOOK ONE: 1805\n\nCHAPTER I\n\n" + ONE + "\n\nCHAPTER II\n\n" + TWO + "\n\nBOOK TWO: 1805\n\n"
                    "CHAPTER I\n\n" + THREE + "\n\nCHAPTER II\n\n" + ONE + "\n\nFIRST EPILOGUE: 1813 - 20\n\n"
                    "CHAPTER I\n\n" + TWO + "\n\nSECOND EPILOGUE\n\nCHAPTER I\n\n" + THREE)


def test_nested_contents_with_wrapped_entries_is_dropped():
    contents = ("CONTENTS\n\nPart I\n   Book I. The History Of A Family\n      Chapter I. Fyodor Pavlovitch\n"
                "      Chapter II. He Gets Rid Of His Eldest Son, And Of His\n      Second\n"
                "   Book II. An Unfortunate Gathering\n      Chapter I. They Arrive At The Monastery\nFootnotes\n\n\n")
    body = ("PART I\n\nBook I. The History Of A Family\n\nChapter I. Fyodor Pavlovitch\n\n" + ONE
            + "\n\nChapter II. He Gets Rid Of His Eldest Son, And Of His Second\n\n" + TWO
            + "\n\nBook II. An Unfortunate Gathering\n\nChapter I. They Arrive At The Monastery\n\n" + THREE)
    assert read_book("The Brothers Karamazov\n\n" + contents + body) == body


def test_anna_karenina_opening_of_illustration_title_and_part_list_is_dropped():
    parts = ["ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT"]
    contents = "\n".join(f" PART {p}" for p in parts)
    body = "\n\n".join(f"PART {p}\n\nChapter 1\n\n{TWO}" for p in parts)
    book = ("[Illustration]\n\n\n\n\nANNA KARENINA\n\nby Leo Tolstoy\n\nTranslated by Constance Garnett\n\n"
            "Contents\n\n" + contents + "\n\n\n\n\n" + body)
    text = read_book(book)
    assert text.startswith("PART ONE\n\nChapter 1\n\n" + TWO + "\n\nPART TWO\n\nChapter 1\n\n" + TWO)
    assert text.endswith("PART EIGHT\n\nChapter 1\n\n" + TWO)
    assert text.count("PART ") == 8 and "Contents" not in text and "[Illustration]" not in text


def test_contents_of_titles_without_numbers_is_dropped_when_they_come_back_as_headings():
    book = ("Contents\n\nA Scandal in Bohemia\nThe Red-Headed League\nA Case of Identity\n\n\n"
            "A SCANDAL IN BOHEMIA\n\n" + ONE + "\n\nTHE RED-HEADED LEAGUE\n\n" + TWO
            + "\n\nA CASE OF IDENTITY\n\n" + THREE)
    assert read_book(book) == ("A SCANDAL IN BOHEMIA\n\n" + ONE + "\n\nTHE RED-HEADED LEAGUE\n\n" + TWO
                               + "\n\nA CASE OF IDENTITY\n\n" + THREE)


def test_contents_with_dotted_leaders_and_page_numbers_is_dropped():
    book = ("CONTENTS\n\n                                        PAGE\n"
            "The Mill ........................ 1\nThe Winter ...................... 9\n"
            "The Snow ....................... 17\nThe Sale ....................... 25\n"
            "The City ....................... 33\n\n\n"
            "I. AT THE MILL\n\n" + ONE + "\n\nII. IN WINTER\n\n" + TWO + "\n\nIII. THE SALE\n\n" + THREE)
    assert read_book(book) == ("I. AT THE MILL\n\n" + ONE + "\n\nII. IN WINTER\n\n" + TWO
                               + "\n\nIII. THE SALE\n\n" + THREE)


def test_a_preface_above_the_contents_stays():
    preface = ("This little book was written in the winter of the great snow, and it owes much to the patience "
               "of the miller's family.")
    book = ("PREFACE\n\n" + preface + "\n\nCONTENTS\n\nCHAPTER I\nCHAPTER II\nCHAPTER III\n\n"
            "CHAPTER I\n\n" + ONE + "\n\nCHAPTER II\n\n" + TWO + "\n\nCHAPTER III\n\n" + THREE)
    assert read_book(book) == ("PREFACE\n\n" + preface + "\n\nCHAPTER I\n\n" + ONE + "\n\nCHAPTER II\n\n" + TWO
                               + "\n\nCHAPTER III\n\n" + THREE)


def test_a_body_that_opens_with_its_chapter_heading_keeps_it():
    book = ("ALICE'S ADVENTURES IN WONDERLAND\n\nLewis Carroll\n\nCHAPTER I. Down the Rabbit-Hole\n\n" + ONE
            + "\n\nCHAPTER II. The Pool of Tears\n\n" + TWO + "\n\nCHAPTER III. A Caucus-Race\n\n" + THREE)
    assert read_book(book) == ("ALICE'S ADVENTURES IN WONDERLAND\n\nLewis Carroll\n\nCHAPTER I. Down the Rabbit-Hole"
                               "\n\n" + ONE + "\n\nCHAPTER II. The Pool of Tears\n\n" + TWO
                               + "\n\nCHAPTER III. A Caucus-Race\n\n" + THREE)


def test_a_body_that_opens_with_a_run_of_headings_keeps_them():
    book = "BOOK ONE: 1805\n\nPART I\n\nCHAPTER I\n\n" + ONE + "\n\nCHAPTER II\n\n" + TWO
    assert read_book(book) == "BOOK ONE: 1805\n\nPART I\n\nCHAPTER I\n\n" + ONE + "\n\nCHAPTER II\n\n" + TWO


def test_contents_whose_entries_never_come_back_is_kept():
    # No signal says where the body starts: a kept contents list is better than a cut body.
    book = "Contents\n\nThe Mill\nThe Winter\nThe Sale\n\n" + ONE + "\n\n" + TWO
    assert read_book(book) == "Contents\n\nThe Mill\nThe Winter\nThe Sale\n\n" + ONE + "\n\n" + TWO


def test_chapter_headings_inside_a_hard_wrapped_body_stay_as_lines():
    wrapped = ("It was a cold morning in the valley, and the river ran grey under the\n"
               "bridge while the miller's son went down to the water with his father's\n"
               "old bucket in his hand and a song he could not remember the end of.\n")
    book = ("CONTENTS\n\nCHAPTER I. The Mill\nCHAPTER II. The Snow\n\n\n"
            "CHAPTER I. The Mill\n\n" + wrapped + "\nCHAPTER II. The Snow\n\n" + wrapped)
    paragraph = ("It was a cold morning in the valley, and the river ran grey under the bridge while the miller's "
                 "son went down to the water with his father's old bucket in his hand and a song he could not "
                 "remember the end of.")
    assert read_book(book) == ("CHAPTER I. The Mill\n\n" + paragraph + "\n\nCHAPTER II. The Snow\n\n" + paragraph)


# ---------------------------------------------------------------- illustration markers


def test_illustration_markers_are_dropped_wherever_they_stand():
    book = (ONE + "\n\n[Illustration]\n\n" + TWO + "\n\n[Frontispiece: The miller at his door]\n\n" + THREE
            + "\n\n[Illustration: THE END]")
    assert read_book(book) == ONE + "\n\n" + TWO + "\n\n" + THREE


def test_a_caption_over_several_lines_is_dropped_up_to_its_closing_bracket():
    book = (ONE + "\n\n                [Illustration:\n\n           _The miller and his son_\n"
            "                 _going down to the river_\n\n        [_Copyright 1894 by George Allen._]]\n\n" + TWO)
    assert read_book(book) == ONE + "\n\n" + TWO


def test_a_chapter_heading_inside_a_caption_stays_as_a_line():
    book = ONE + "\n\n[Illustration: ·A SMALL BOOK·\n\n\n\n\nChapter I.]\n\n" + TWO
    assert read_book(book) == ONE + "\n\nChapter I.\n\n" + TWO


def test_an_unclosed_illustration_bracket_is_left_alone():
    book = ONE + "\n\n[Illustration: the mill\n\n" + TWO
    assert read_book(book) == ONE + "\n\n[Illustration: the mill\n\n" + TWO


# ---------------------------------------------------------------- Russian e-book front matter


def test_annotation_and_its_blurb_are_dropped():
    blurb = ("«Анна Каренина» — один из самых знаменитых романов мировой литературы, история любви и гибели "
             "замужней женщины, рассказанная с небывалой силой.")
    blurb_two = ("В книге представлен полный текст романа в редакции, подготовленной по прижизненным изданиям, "
                 "с примечаниями и комментариями.")
    book = ("Лев Толстой\nАнна Каренина\n\nАннотация\n\n" + blurb + "\n\n" + blurb_two + "\n\n"
            "ЧАСТЬ ПЕРВАЯ\n\nI\n\n" + RU_ONE + "\n\n" + RU_TWO)
    assert read_book(book) == "Лев Толстой\nАнна Каренина\n\nЧАСТЬ ПЕРВАЯ\n\nI\n\n" + RU_ONE + "\n\n" + RU_TWO


def test_an_english_annotation_heading_of_a_converted_ebook_is_dropped_too():
    blurb = ("Роман Льва Толстого о любви и долге, о семье и обществе, о поисках смысла жизни и о вере, "
             "написанный в 1873–1877 годах.")
    book = "Annotation\n\n" + blurb + "\n\n* * *\n\nЧАСТЬ ПЕРВАЯ\n\nI\n\n" + RU_ONE
    assert read_book(book) == "ЧАСТЬ ПЕРВАЯ\n\nI\n\n" + RU_ONE


def test_an_annotation_without_an_end_loses_only_its_first_paragraph():
    # Seven long paragraphs and no heading, separator or title: the body is not taken for a long blurb.
    blurb = ("Роман о любви и долге, о семье и обществе, о поисках смысла жизни, написанный в 1873–1877 годах "
             "и впервые изданный отдельной книгой.")
    body = "\n\n".join([RU_ONE, RU_TWO, RU_THREE] * 3)
    book = "Аннотация\n\n" + blurb + "\n\n" + body
    assert read_book(book) == body


def test_publisher_imprint_lines_are_dropped():
    book = ("Федор Достоевский\nБесы\n\nСерия «Эксклюзивная классика»\n\n© ООО «Издательство АСТ», 2017\n"
            "ISBN 978-5-17-098279-3\nВсе права защищены\n\nЧасть первая\n\nГлава первая\n\n" + RU_ONE)
    assert read_book(book) == "Федор Достоевский\nБесы\n\nЧасть первая\n\nГлава первая\n\n" + RU_ONE


def test_a_separator_in_the_front_matter_is_dropped():
    book = "Лев Толстой\nАнна Каренина\n\n* * *\n\nЧАСТЬ ПЕРВАЯ\n\nI\n\n" + RU_ONE + "\n\n" + RU_TWO
    assert read_book(book) == "Лев Толстой\nАнна Каренина\n\nЧАСТЬ ПЕРВАЯ\n\nI\n\n" + RU_ONE + "\n\n" + RU_TWO


def test_a_scene_break_in_the_body_stays():
    book = "ЧАСТЬ ПЕРВАЯ\n\nI\n\n" + RU_ONE + "\n\n* * *\n\n" + RU_TWO + "\n\n***\n\n" + RU_THREE
    assert read_book(book) == "ЧАСТЬ ПЕРВАЯ\n\nI\n\n" + RU_ONE + "\n\n* * *\n\n" + RU_TWO + "\n\n***\n\n" + RU_THREE


def test_russian_part_list_without_a_heading_is_dropped():
    parts = ["ПЕРВАЯ", "ВТОРАЯ", "ТРЕТЬЯ", "ЧЕТВЕРТАЯ", "ПЯТАЯ", "ШЕСТАЯ", "СЕДЬМАЯ", "ВОСЬМАЯ"]
    contents = "\n".join(f"ЧАСТЬ {p}" for p in parts)
    body = "\n\n".join(f"ЧАСТЬ {p}\n\nI\n\n{RU_ONE}" for p in parts)
    text = read_book(contents + "\n\n* * *\n\n" + body)
    assert text.startswith("ЧАСТЬ ПЕРВАЯ\n\nI\n\n" + RU_ONE + "\n\nЧАСТЬ ВТОРАЯ\n\nI\n\n" + RU_ONE)
    assert text.endswith("ЧАСТЬ ВОСЬМАЯ\n\nI\n\n" + RU_ONE)
    assert text.count("ЧАСТЬ ") == 8 and "* * *" not in text


def test_a_whole_russian_ebook_front_comes_off():
    # Annotation, blurb and imprint, "* * *", the part list: the body starts at its first part.
    parts = ["ПЕРВАЯ", "ВТОРАЯ", "ТРЕТЬЯ", "ЧЕТВЕРТАЯ", "ПЯТАЯ", "ШЕСТАЯ", "СЕДЬМАЯ", "ВОСЬМАЯ"]
    blurb = ("«Анна Каренина» — один из самых знаменитых романов мировой литературы, история любви и гибели "
             "замужней женщины, рассказанная с небывалой силой.")
    book = ("Лев Николаевич Толстой\nАнна Каренина\n\nAnnotation\n\n" + blurb + "\n\n"
            "© ООО «Издательство АСТ», 2017\nISBN 978-5-17-000000-0\n\n* * *\n\n"
            + "\n".join(f"ЧАСТЬ {p}" for p in parts) + "\n\n* * *\n\n"
            + "\n\n".join(f"ЧАСТЬ {p}\n\nI\n\n{RU_ONE}" for p in parts))
    text = read_book(book)
    assert text.startswith("ЧАСТЬ ПЕРВАЯ\n\nI\n\n" + RU_ONE + "\n\nЧАСТЬ ВТОРАЯ")
    assert text.count("ЧАСТЬ ") == 8
    assert "Annotation" not in text and "ISBN" not in text and "©" not in text and "* * *" not in text


# ---------------------------------------------------------------- tables of contents at the end


def test_contents_at_the_end_is_dropped():
    book = ("ЧАСТЬ ПЕРВАЯ\n\nГлава первая\n\n" + RU_ONE + "\n\nГлава вторая\n\n" + RU_TWO
            + "\n\nЧАСТЬ ВТОРАЯ\n\nГлава первая\n\n" + RU_THREE
            + "\n\nСодержание\n\nЧАСТЬ ПЕРВАЯ\nГлава первая\nГлава вторая\nЧАСТЬ ВТОРАЯ\nГлава первая\n")
    assert read_book(book) == ("ЧАСТЬ ПЕРВАЯ\n\nГлава первая\n\n" + RU_ONE + "\n\nГлава вторая\n\n" + RU_TWO
                               + "\n\nЧАСТЬ ВТОРАЯ\n\nГлава первая\n\n" + RU_THREE)


def test_a_trailing_part_list_without_a_heading_is_dropped():
    book = ("ЧАСТЬ ПЕРВАЯ\n\n" + RU_ONE + "\n\nЧАСТЬ ВТОРАЯ\n\n" + RU_TWO + "\n\nЧАСТЬ ТРЕТЬЯ\n\n" + RU_THREE
            + "\n\nЧАСТЬ ПЕРВАЯ\nЧАСТЬ ВТОРАЯ\nЧАСТЬ ТРЕТЬЯ\n")
    assert read_book(book) == ("ЧАСТЬ ПЕРВАЯ\n\n" + RU_ONE + "\n\nЧАСТЬ ВТОРАЯ\n\n" + RU_TWO
                               + "\n\nЧАСТЬ ТРЕТЬЯ\n\n" + RU_THREE)


def test_a_book_that_ends_with_a_date_and_place_keeps_them():
    book = "ЧАСТЬ ПЕРВАЯ\n\n" + RU_ONE + "\n\n" + RU_TWO + "\n\n1873–1877\n\nЯсная Поляна"
    assert read_book(book) == "ЧАСТЬ ПЕРВАЯ\n\n" + RU_ONE + "\n\n" + RU_TWO + "\n\n1873–1877\n\nЯсная Поляна"


# ---------------------------------------------------------------- FictionBook and the safety net


def test_a_fictionbook_contents_section_at_the_end_is_dropped():
    sections = "".join(f"<section><title><p>Глава {n}</p></title><p>{p}</p></section>"
                       for n, p in (("первая", RU_ONE), ("вторая", RU_TWO), ("третья", RU_THREE)))
    contents = ("<section><title><p>Оглавление</p></title><p>Глава первая</p><p>Глава вторая</p>"
                "<p>Глава третья</p></section>")
    fb2 = ('<?xml version="1.0" encoding="utf-8"?><FictionBook xmlns="http://www.gribuser.ru/xml/fictionbook/2.0">'
           "<description><title-info><book-title>Повесть</book-title><lang>ru</lang></title-info></description>"
           f"<body>{sections}{contents}</body></FictionBook>")
    assert read_book(fb2, "book.fb2") == ("Глава первая\n\n" + RU_ONE + "\n\nГлава вторая\n\n" + RU_TWO
                                          + "\n\nГлава третья\n\n" + RU_THREE)


def test_a_book_without_front_or_back_matter_is_left_as_it_is():
    text = "A SMALL BOOK\n\n" + ONE + "\n\n* * *\n\n" + TWO + "\n\n" + THREE
    assert keep_book_body(text) == text


# ---------------------------------------------------------------- the shared books (../shared/data)

# The body's first and last words in each source file, found by reading it.
SHARED_BODIES = {
    "en/pg11-Alice_in_Wonderland.txt": ("CHAPTER I. Down the Rabbit-Hole", "the happy summer days. THE END"),
    "en/pg1342-Pride_and_Prejudice.txt": ("It is a truth universally acknowledged",
                                          "had been the means of uniting them."),
    "en/pg1661-Adventures_of_Sherlock_Holmes.txt": ("I. A SCANDAL IN BOHEMIA",
                                                    "where I believe that she has met with considerable success."),
    "en/pg28054-Brothers_Karamazov-EN-Garnett.txt": ("PART I Book I. The History Of A Family", "9 Gogol is meant."),
    "ru/Dostoevsky-Besy-RU-royallib.txt": ("Хоть убей, следа не видно,", "Я лгал всю свою жизнь (фр.)."),
}


def fold(text: str) -> str:
    return " ".join(text.split())


def read_shared(shared, rel: str) -> tuple[str, str]:
    """(the source text, the reader's text) of a shared book."""
    path = shared / "books" / rel
    data = path.read_bytes()
    ctx = ReadContext(source="books", path=str(path), rel=rel)
    doc = next(i for i in reader_for("books")(io.BytesIO(data), ctx) if isinstance(i, Document))
    return data.decode("utf-8-sig"), doc.text


@pytest.mark.parametrize("rel", sorted(SHARED_BODIES))
def test_shared_book_keeps_the_first_and_last_300_characters_of_its_body(shared, rel):
    source, text = read_shared(shared, rel)
    first, last = (fold(x) for x in SHARED_BODIES[rel])
    folded_source, folded_text = fold(source), fold(text)
    body_start = folded_source[folded_source.index(first):][:300]
    body_end = folded_source[: folded_source.rindex(last) + len(last)][-300:]
    assert body_start in folded_text
    assert body_end in folded_text
    # After the body at most a printer's line (Pride and Prejudice: "CHISWICK PRESS:--CHARLES WHITTINGHAM AND CO.").
    assert len(folded_text) - folded_text.rindex(body_end) - len(body_end) <= 100


@pytest.mark.parametrize("rel", sorted(SHARED_BODIES))
def test_shared_book_opens_without_a_contents_block(shared, rel):
    _, text = read_shared(shared, rel)
    opening = text.split("\n\n")[:40]
    assert not {"Contents", "CONTENTS", "Содержание", "Оглавление"} & set(opening)
    # Before the first paragraph of prose, no more than the body's own few headings.
    first_prose = next(i for i, p in enumerate(opening) if len(p) > 200)
    headings = [p for p in opening[:first_prose]
                if re.match(r"(CHAPTER|Chapter|PART|Part|BOOK|Book|ЧАСТЬ|Часть|Глава|[IVXLC]+\.)", p)]
    assert len(headings) <= 3, headings


def test_pride_and_prejudice_loses_its_list_of_illustrations_and_keeps_its_preface(shared):
    # The list's lines end in page numbers: "Heading to Chapter I.         1", "“He came down to see the place”   2".
    _, text = read_shared(shared, "en/pg1342-Pride_and_Prejudice.txt")
    assert "Heading to Chapter" not in text and "Tailpiece to Chapter" not in text
    assert "PREFACE.\n\n_Walt Whitman has somewhere a fine and just distinction" in text
    assert "_GEORGE SAINTSBURY._\n\nChapter I.\n\nIt is a truth universally acknowledged" in text


# ---------------------------------------------------------------- what must never happen (review of issue 15)

def test_a_page_column_header_without_entries_is_no_contents_list():
    text = f"A Book\n\nPAGE    1\n\n{ONE}\n\n{TWO}\n\n{THREE}"
    assert keep_book_body(text) == text


def test_an_imprint_word_inside_a_long_wrapped_paragraph_cuts_nothing():
    wrapped = ("When this translation was first printed, the publisher of the\nedition, who holds "
               "all rights reserved for it, asked the translator\nto say in a preface that the notes are the "
               "editor's own, that the\ntext follows the first edition of the novel and not the revised one,\n"
               "and that where the two differ the reader will find the later\nwording in the notes at the end of "
               "each chapter, set in a smaller\ntype, with the page of the first edition where it stood, so that\n"
               "nothing of what the author wrote is lost to the reader.")
    text = f"{wrapped}\n\n{ONE}\n\n{TWO}"
    assert keep_book_body(text) == text


def test_an_annotation_followed_by_the_body_without_a_separator_takes_one_paragraph():
    blurb = ("Роман о семье, в которой всё смешалось: издательство представляет новое издание классического "
             "произведения в новом переводе и с комментариями.")
    text = f"Аннотация\n\n{blurb}\n\n{RU_ONE}\n\n{RU_TWO}\n\n— Да.\n\n{RU_THREE}"
    assert keep_book_body(text) == f"{RU_ONE}\n\n{RU_TWO}\n\n— Да.\n\n{RU_THREE}"


def test_long_runs_of_dots_and_spaces_clean_in_linear_time():
    import time

    for run in (" " * 200_000, "." * 200_000, ". " * 100_000):
        started = time.perf_counter()
        keep_book_body(f"Contents\n\nChapter 1{run}v\n\n{ONE}\n\n[Illustration]{run}\nx\n\n{TWO}")
        assert time.perf_counter() - started < 5     # quadratically it took minutes


def test_a_cleaning_that_fails_keeps_the_book_as_read_and_notes_it(monkeypatch):
    from corpus.sources import books
    from corpus.sources.base import Damaged

    def broken(text):
        raise IndexError("a heuristic's bug")

    monkeypatch.setattr(books, "keep_book_body", broken)
    ctx = ReadContext(source="books", path="b.txt", rel="b.txt")
    items = list(reader_for("books")(io.BytesIO(f"{ONE}\n\n{TWO}".encode()), ctx))
    assert [type(i) for i in items] == [Document, Damaged]
    assert items[0].text == f"{ONE}\n\n{TWO}"
    assert items[1].reason == "book_cleaning_failed" and "IndexError: a heuristic's bug" in items[1].detail


def test_the_book_words_data_is_lists_of_words_per_language():
    from corpus.sources.books import BOOK_WORDS

    # A YAML 1.1 boolean (an unquoted `no:` key, `- on`) would load as True/False, not as a word.
    assert {"en", "ru"} <= set(BOOK_WORDS)
    for lang, table in BOOK_WORDS.items():
        assert isinstance(lang, str) and table and all(isinstance(kind, str) for kind in table)
        assert all(isinstance(w, str) and w for words in table.values() for w in words), lang
