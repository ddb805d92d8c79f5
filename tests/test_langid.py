"""Language ID on long documents: a bounded, evenly spread sample of whole words decides like the whole text."""

from __future__ import annotations

import pytest

from corpus.rules.langid import LanguageIdentifier, resolve_model_path, sample_windows
from corpus.sources import ReadContext, reader_for


def test_sample_windows_are_whole_words_from_beginning_to_end():
    text = " ".join(f"w{i}" for i in range(50_000))
    sample = sample_windows(text, 5_000)
    words = sample.split(" ")
    assert 4_000 <= len(sample) <= 5_000
    assert all(w.startswith("w") and w[1:].isdigit() for w in words)   # no word cut in half
    numbers = [int(w[1:]) for w in words]
    assert numbers[0] == 0 and numbers[-1] == 49_999                   # both ends are seen
    assert numbers == sorted(numbers)
    middle = [n for n in numbers if 20_000 <= n < 30_000]
    assert middle                                                       # and the middle


def test_a_foreign_preface_does_not_decide_a_long_book():
    preface = "This edition was prepared by the translator with notes on the history of the text. " * 150
    body = "Он вышел из дома рано утром и долго шёл по пустой улице, думая о вчерашнем разговоре. " * 3000
    identifier = LanguageIdentifier(resolve_model_path(None), sample_chars=20_000)
    assert identifier.predict(preface + body).lang == "ru"
    assert identifier.predict(preface).lang == "en"


def test_sampled_and_whole_text_agree_on_shared_books(shared):
    whole = LanguageIdentifier(resolve_model_path(None))
    sampled = LanguageIdentifier(resolve_model_path(None), sample_chars=100_000)
    books = sorted((shared / "books").glob("*/*.txt"))
    assert books
    for path in books:
        with path.open("rb") as f:
            doc = next(iter(reader_for("books")(f, ReadContext(source="b", path=str(path), rel=path.name))))
        assert len(doc.text) > 100_000
        a, b = whole.predict(doc.text), sampled.predict(doc.text)
        assert a.lang == b.lang == path.parent.name
        assert b.score == pytest.approx(a.score, abs=0.01)
