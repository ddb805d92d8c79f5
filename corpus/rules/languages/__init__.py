"""Per-language rule data: thresholds, stop words and bullet markers, loaded from the YAML files beside this module.

Lookup order for a language: `default.yaml` (Gopher), then `<lang>.yaml` if shipped, then the run config's
`languages.<lang>` overrides. A language with no stop words skips only the stop-word rule. `lid176.yaml` holds the
language-ID data: lid.176's confusable groups and the per-language thresholds of languages it is less sure of.
"""

from __future__ import annotations

import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

from corpus.rules.boilerplate import BoilerplatePatterns

_HERE = Path(__file__).parent


@lru_cache(maxsize=None)
def _read(name: str) -> dict[str, Any]:
    path = _HERE / f"{name}.yaml"
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


QUALITY_KEYS: tuple[str, ...] = tuple(_read("default")["quality"])
REPETITION_KEYS: tuple[str, ...] = tuple(_read("default")["repetition"])


# Code points with a nonzero canonical combining class (what `unicodedata.combining` flags), to delete after NFD.
_COMBINING = dict.fromkeys(cp for cp in range(sys.maxunicode + 1) if unicodedata.combining(chr(cp)))


def _fold(word: str) -> str:
    word = word.casefold()
    if not word.isascii():
        word = unicodedata.normalize("NFC", unicodedata.normalize("NFD", word).translate(_COMBINING)).replace("ё", "е")
    return word


class _FoldedWords(dict):
    """Words folded before: words repeat (Zipf), so most are a plain dict lookup (a third cheaper than
    `lru_cache`); emptied when full, so memory stays bounded."""

    def __missing__(self, word: str) -> str:
        if len(self) >= 1 << 17:
            self.clear()
        folded = self[word] = _fold(word)
        return folded


# fold_word(word): case-folded, combining marks (stress accents) dropped, ё→е, for matching words against lists.
fold_word = _FoldedWords().__getitem__


@dataclass(frozen=True)
class UrlWords:
    """A language's URL word lists, folded as `fold_word` folds (`url_words` in the YAML; rules/content.py)."""
    banned: frozenset[str] = frozenset()
    banned_subwords: tuple[str, ...] = ()
    soft: frozenset[str] = frozenset()
    soft_threshold: int = 2


@dataclass(frozen=True)
class LanguageRules:
    lang: str
    min_lang_score: float
    bullets: tuple[str, ...]
    stop_words: frozenset[str]
    quality: Mapping[str, float]
    repetition: Mapping[str, float]
    boilerplate: BoilerplatePatterns
    url_words: UrlWords


_NOT_LANGUAGES = ("default", "lid176")


def shipped_languages() -> list[str]:
    return sorted(p.stem for p in _HERE.glob("*.yaml") if p.stem not in _NOT_LANGUAGES)


@lru_cache(maxsize=None)
def confusable_groups() -> dict[str, frozenset[str]]:
    """lid.176 label -> the labels of its confusable group (itself included), for the labels that have one."""
    groups: dict[str, frozenset[str]] = {}
    for members in _read("lid176").get("confusable_groups", []):
        group = frozenset(str(m) for m in members)
        groups.update(dict.fromkeys(group, group))
    return groups


@lru_cache(maxsize=None)
def lid_thresholds() -> dict[str, float]:
    """The shipped per-language lid.176 thresholds (of the languages it is less sure of)."""
    return {str(lang): float(value) for lang, value in _read("lid176").get("min_lang_score", {}).items()}


def lid_threshold(lang: str) -> float | None:
    """The shipped per-language lid.176 threshold of `lang`, or None where `langid.min_lang_score` applies."""
    return lid_thresholds().get(lang)


def language_rules(lang: str | None, override: Any = None, default_min_lang_score: float | None = None,
                   per_language_thresholds: bool = True) -> LanguageRules:
    """Merge default, shipped and configured data for `lang` (an lid.176 code; None for unknown). The language-ID
    threshold: the config's `languages.<lang>`, else the language's file, else `default_min_lang_score`
    (`langid.min_lang_score`) or, where lower and unless switched off, the language's `lid176.yaml` value."""
    base = _read("default")
    shipped = _read(lang) if lang and lang not in _NOT_LANGUAGES else {}
    quality = {**base["quality"], **shipped.get("quality", {})}
    repetition = {**base["repetition"], **shipped.get("repetition", {})}
    min_score = default_min_lang_score if default_min_lang_score is not None else base["min_lang_score"]
    relaxed = lid_threshold(lang) if per_language_thresholds and lang else None
    if relaxed is not None:
        min_score = min(min_score, relaxed)     # it relaxes the threshold, never tightens it
    min_score = shipped.get("min_lang_score", min_score)
    stop_words = shipped.get("stop_words", base["stop_words"])
    # A language names the default markers it does not take (`not_bullets`) rather than repeating the list.
    bullets = [b for b in shipped.get("bullets", base["bullets"]) if b not in shipped.get("not_bullets", ())]
    boilerplate = _boilerplate(lang or "")
    if override is not None:
        quality.update(override.quality)
        repetition.update(override.repetition)
        if override.min_lang_score is not None:
            min_score = override.min_lang_score
        if override.stop_words is not None:
            stop_words = override.stop_words
    return LanguageRules(
        lang=lang or "",
        min_lang_score=float(min_score),
        bullets=tuple(bullets),
        stop_words=frozenset(fold_word(w) for w in stop_words),
        quality={k: float(v) for k, v in quality.items()},
        repetition={k: float(v) for k, v in repetition.items()},
        boilerplate=boilerplate,
        url_words=_url_words(lang or ""),
    )


@lru_cache(maxsize=None)
def _boilerplate(lang: str) -> BoilerplatePatterns:
    """Default patterns plus the language's own (compiled once per language)."""
    tables = [_read("default").get("boilerplate", {})]
    if lang:
        tables.append(_read(lang).get("boilerplate", {}))
    return BoilerplatePatterns.from_data(tables)


@lru_cache(maxsize=None)
def _url_words(lang: str) -> UrlWords:
    """The default lists and the language's own, together (its `soft_threshold`, where it has one)."""
    tables = [_read("default").get("url_words", {})]
    if lang and lang not in _NOT_LANGUAGES:
        tables.append(_read(lang).get("url_words", {}))

    def words(key: str) -> list[str]:
        return [fold_word(str(w)) for table in tables for w in table.get(key, ())]

    threshold = next((t["soft_threshold"] for t in reversed(tables) if "soft_threshold" in t), 2)
    return UrlWords(banned=frozenset(words("banned")), banned_subwords=tuple(dict.fromkeys(words("banned_subwords"))),
                    soft=frozenset(words("soft")), soft_threshold=int(threshold))
