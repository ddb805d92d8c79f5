from corpus.text.words import is_bullet, lines, paragraphs, words
from corpus.rules.languages import language_rules


def test_hyphen_and_apostrophe_join_words():
    assert words("Он пришёл из-за дождя, don't worry.") == ["Он", "пришёл", "из-за", "дождя", "don't", "worry"]


def test_punctuation_is_never_a_word():
    assert words("... — !!! ?? -- ' - …") == []


def test_stress_mark_does_not_split_a_russian_word():
    # "замо́к" with a combining acute accent (U+0301) is one word of 6 code points.
    assert words("Это замо\u0301к на двери") == ["Это", "замо\u0301к", "на", "двери"]


def test_hindi_vowel_signs_stay_inside_words():
    assert words("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]


def test_lines_drop_blank_lines():
    assert lines("a\n\n  \nb\r\nc") == ["a", "b", "c"]


def test_paragraphs_split_on_two_or_more_newlines():
    assert paragraphs("one\ntwo\n\nthree\n \n\n\nfour") == ["one\ntwo", "three", "four"]


DEFAULT_BULLETS = ("•", "‣", "⁃", "◦", "▪", "▫", "■", "□", "▶", "◀", "*", "-")   # SPEC §2a


def test_default_bullets_are_the_spec_list():
    assert language_rules(None).bullets == DEFAULT_BULLETS
    assert language_rules("en").bullets == DEFAULT_BULLETS


def test_bullets_need_a_following_space():
    assert is_bullet("  • item", DEFAULT_BULLETS)
    assert is_bullet("* item", DEFAULT_BULLETS)
    assert not is_bullet("*emphasis*", DEFAULT_BULLETS)
    assert not is_bullet("-5 degrees", DEFAULT_BULLETS)


def test_dialogue_dash_is_not_a_bullet_in_ru():
    ru = language_rules("ru")
    assert not is_bullet("- Привет, — сказал он.", ru.bullets)
    assert not is_bullet("— Привет", ru.bullets)
    assert is_bullet("- item", DEFAULT_BULLETS)
    assert is_bullet("• пункт", ru.bullets)
    assert ru.bullets == tuple(b for b in DEFAULT_BULLETS if b != "-")
