from corpus.text.normalize import normalize_text


def test_nfc_composes_characters():
    assert normalize_text("e\u0301te\u0301").text == "\u00e9t\u00e9"


def test_controls_removed_and_whitespace_tidied():
    result = normalize_text("a\x00b\u200b  c\t\td   \r\nnext line  \r\n\n\n\n\n\nlast")
    assert result.text == "ab c d\nnext line\n\n\nlast"


def test_replacement_characters_are_counted_and_removed():
    result = normalize_text("abc\ufffd\ufffddef")
    assert result.invalid_chars == 2
    assert result.text == "abcdef"
    assert abs(result.invalid_fraction - 2 / 8) < 1e-9


def test_leading_indentation_is_kept():
    assert normalize_text("    verse line\n  other").text == "    verse line\n  other"
