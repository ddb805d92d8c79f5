"""SPEC stages 2-6 as plain functions over one document: each returns the document (kept) or a Rejection.

`DocumentRules` is built once per worker from the Config and the loaded language identifier; the Beam layer only
calls its methods. Stage names here are the names used in the funnel (`stats.json`) and in `rejects/`.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

from corpus.config import Config
from corpus.document import Document, Rejection
from corpus.rules.content import domain_verdict, flagged_word_fraction, flagged_words_verdict
from corpus.rules.langid import LanguageIdentifier, langid_verdict
from corpus.rules.languages import LanguageRules, language_rules
from corpus.rules.quality import quality_signals, quality_verdict
from corpus.rules.repetition import repetition_signals, repetition_verdict
from corpus.rules.verdict import Verdict
from corpus.text.normalize import normalize_text
from corpus.text.words import words

STAGE_READ = "read"
STAGE_NORMALIZE = "normalize"
STAGE_LANGID = "langid"
STAGE_QUALITY = "quality"
STAGE_REPETITION = "repetition"
STAGE_CONTENT = "content"
STAGE_EXACT_DEDUP = "exact_dedup"
STAGE_NEAR_DEDUP = "near_dedup"
STAGE_DECONTAMINATE = "decontaminate"
STAGE_TOKENIZE = "tokenize"     # adds parts: long documents split into `ID#k`
STAGE_MIX = "mix"               # drops units a source does not need, adds repeats of those it needs again
# The funnel's stages, in pipeline order (SPEC §2). Counts are of documents (units after tokenize); a stage may
# add rows (`added`: parts, repeats) as well as drop them: in + added = out + dropped.
FUNNEL_STAGES = (STAGE_READ, STAGE_NORMALIZE, STAGE_LANGID, STAGE_QUALITY, STAGE_REPETITION, STAGE_CONTENT,
                 STAGE_EXACT_DEDUP, STAGE_NEAR_DEDUP, STAGE_DECONTAMINATE, STAGE_TOKENIZE, STAGE_MIX)


# The last text whose words were counted, with its words: one (text, words) tuple, swapped whole.
_LAST_WORDS: tuple[str | None, list[str]] = (None, [])


def words_of(text: str) -> list[str]:
    """`words(text)`, remembered for the next call with the very same string.

    Quality, repetition and content all count words. Beam gives each stage its own DoFn (and its own
    DocumentRules), but in a fused stage one document passes through them back to back as the same `str` object,
    so a process-wide identity check (never equality) saves two of three passes. The tuple is read and replaced
    whole, so threads cannot pair one text with another's words.
    """
    global _LAST_WORDS
    last = _LAST_WORDS
    if last[0] is text:
        return last[1]
    result = words(text)
    _LAST_WORDS = (text, result)
    return result


def _reject(doc: Document, stage: str, verdict: Verdict) -> Rejection:
    return Rejection.of(doc, stage, verdict.reason or "rejected", verdict.value, verdict.threshold)


class DocumentRules:
    """Per-worker state for stages 2-6: config, language data cache, lists, the language identifier."""

    def __init__(self, config: Config, identifier: LanguageIdentifier | None = None,
                 blocklist: frozenset[str] = frozenset(), flagged_words: frozenset[str] = frozenset()):
        """`blocklist` and `flagged_words` come already parsed (`rules.content.parse_list`); the caller reads
        the configured files, so this class never touches a filesystem."""
        self.config = config
        self.identifier = identifier
        self.blocklist = blocklist
        self.flagged = flagged_words
        self._sources = {s.name: s for s in config.sources}

    @lru_cache(maxsize=256)
    def rules_for(self, lang: str | None) -> LanguageRules:
        return language_rules(lang, self.config.languages.get(lang or ""), self.config.langid.min_lang_score)

    # -- stage 2
    def normalize(self, doc: Document) -> Document | Rejection:
        result = normalize_text(doc.text)
        if result.invalid_fraction > self.config.normalize.max_invalid_char_fraction:
            return Rejection.of(doc, STAGE_NORMALIZE, "invalid_utf8", result.invalid_fraction,
                                self.config.normalize.max_invalid_char_fraction)
        if not result.text.strip():
            return Rejection.of(doc, STAGE_NORMALIZE, "empty_text")
        return dataclasses.replace(doc, text=result.text)

    # -- stage 3
    def identify_language(self, doc: Document) -> Document | Rejection:
        assert self.identifier is not None, "language identifier not loaded"
        pred = self.identifier.predict(doc.text)
        doc = dataclasses.replace(doc, lang=pred.lang, lang_score=pred.score)
        allowed = self._sources[doc.source].languages
        verdict = langid_verdict(pred, allowed, self.rules_for(pred.lang).min_lang_score)
        return doc if verdict.keep else _reject(doc, STAGE_LANGID, verdict)

    # -- stage 4
    def quality(self, doc: Document) -> Document | Rejection:
        rules = self.rules_for(doc.lang)
        signals = quality_signals(doc.text, rules, words_of(doc.text))
        doc = dataclasses.replace(doc, signals={**doc.signals, **signals})
        if not self._sources[doc.source].apply_quality:
            return doc
        verdict = quality_verdict(signals, rules)
        return doc if verdict.keep else _reject(doc, STAGE_QUALITY, verdict)

    # -- stage 5
    def repetition(self, doc: Document) -> Document | Rejection:
        if not self._sources[doc.source].apply_repetition:
            return doc   # signals are costly on whole books; only measured where the rules apply
        signals = repetition_signals(doc.text, words_of(doc.text))
        doc = dataclasses.replace(doc, signals={**doc.signals, **signals})
        verdict = repetition_verdict(signals, self.rules_for(doc.lang))
        return doc if verdict.keep else _reject(doc, STAGE_REPETITION, verdict)

    # -- stage 6
    def content(self, doc: Document) -> Document | Rejection:
        verdict = domain_verdict(doc.url, self.blocklist)
        if not verdict.keep:
            return _reject(doc, STAGE_CONTENT, verdict)
        if self.flagged:
            fraction = flagged_word_fraction(words_of(doc.text), self.flagged)
            doc = dataclasses.replace(doc, signals={**doc.signals, "flagged_word_fraction": fraction})
            verdict = flagged_words_verdict(fraction, self.config.content.max_flagged_word_fraction)
            if not verdict.keep:
                return _reject(doc, STAGE_CONTENT, verdict)
        return doc
