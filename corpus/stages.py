"""SPEC stages 2-6 as plain functions over one document: each returns the document (kept) or a Rejection.

`DocumentRules` is built once per worker from the Config and the loaded language identifier; the Beam layer only
calls its methods. Stage names here are the names used in the funnel (`stats.json`) and in `rejects/`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterator, Mapping

from corpus.config import Config
from corpus.document import Document, Rejection
from corpus.rules.content import domain_verdict, flagged_word_fraction, flagged_words_verdict, url_words_verdict
from corpus.rules.langid import LanguageIdentifier, langid_verdict
from corpus.rules.languages import LanguageRules, language_rules
from corpus.rules.pii import mask_pii
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


# The run's steps as the Beam graph names them (pipelines/build.py), in order: what manifest.json → steps times.
PIPELINE_STEPS = ("ReadAndFilter", "Deduplicate", "TrainTokenizer", "Tokenize", "WriteShards", "WriteRejects")


def _reject(doc: Document, stage: str, verdict: Verdict) -> Rejection:
    return Rejection.of(doc, stage, verdict.reason or "rejected", verdict.value, verdict.threshold,
                        detail=verdict.detail)


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
        return language_rules(lang, self.config.languages.get(lang or ""), self.config.langid.min_lang_score,
                              self.config.langid.per_language_thresholds)

    # -- stage 2
    def normalize(self, doc: Document) -> Document | Rejection:
        result = normalize_text(doc.text)
        if result.invalid_fraction > self.config.normalize.max_invalid_char_fraction:
            return Rejection.of(doc, STAGE_NORMALIZE, "invalid_utf8", result.invalid_fraction,
                                self.config.normalize.max_invalid_char_fraction)
        if not result.text.strip():
            return Rejection.of(doc, STAGE_NORMALIZE, "empty_text")
        return doc.replaced(text=result.text)

    # -- stage 3
    def identify_language(self, doc: Document) -> Document | Rejection:
        assert self.identifier is not None, "language identifier not loaded"
        pred = self.identifier.predict(doc.text)
        doc = doc.replaced(lang=pred.lang, lang_score=pred.score)
        allowed = self._sources[doc.source].languages
        verdict = langid_verdict(pred, allowed, self.rules_for(pred.lang).min_lang_score)
        return doc if verdict.keep else _reject(doc, STAGE_LANGID, verdict)

    def run(self, doc: Document) -> Iterator[tuple[str, Document | Rejection]]:
        """Stages 2-6 in order: (stage, the document it passed on or its rejection), up to the first rejection.
        The words are counted once, after normalization, and handed to every rule that needs them."""
        for stage, rule in ((STAGE_NORMALIZE, self.normalize), (STAGE_LANGID, self.identify_language)):
            result = rule(doc)
            yield stage, result
            if isinstance(result, Rejection):
                return
            doc = result
        text_words = words(doc.text)
        for stage, rule in ((STAGE_QUALITY, self.quality), (STAGE_REPETITION, self.repetition),
                            (STAGE_CONTENT, self.content)):
            result = rule(doc, text_words)
            yield stage, result
            if isinstance(result, Rejection):
                return
            doc = result

    # -- stage 4
    def quality(self, doc: Document, text_words: list[str] | None = None) -> Document | Rejection:
        rules = self.rules_for(doc.lang)
        signals = quality_signals(doc.text, rules, words(doc.text) if text_words is None else text_words)
        doc = doc.replaced(signals={**doc.signals, **signals})
        if not self._sources[doc.source].apply_quality:
            return doc
        verdict = quality_verdict(signals, rules)
        return doc if verdict.keep else _reject(doc, STAGE_QUALITY, verdict)

    # -- stage 5
    def repetition(self, doc: Document, text_words: list[str] | None = None) -> Document | Rejection:
        if not self._sources[doc.source].apply_repetition:
            return doc   # signals are costly on whole books; only measured where the rules apply
        signals = repetition_signals(doc.text, words(doc.text) if text_words is None else text_words)
        doc = doc.replaced(signals={**doc.signals, **signals})
        verdict = repetition_verdict(signals, self.rules_for(doc.lang))
        return doc if verdict.keep else _reject(doc, STAGE_REPETITION, verdict)

    # -- stage 6c (after the filters, so that what is deduped and tokenized is the masked text)
    def mask_pii(self, doc: Document) -> tuple[Document, Mapping[str, int]]:
        """The document with its personal data masked (`pii.enabled`), and how many spans of each kind."""
        masked = mask_pii(doc.text, self.config.pii.placeholders)
        return (doc.replaced(text=masked.text) if masked.counts else doc), masked.counts

    # -- stage 6
    def content(self, doc: Document, text_words: list[str] | None = None) -> Document | Rejection:
        verdict = domain_verdict(doc.url, self.blocklist)
        if not verdict.keep:
            return _reject(doc, STAGE_CONTENT, verdict)
        if self.config.content.url_filter:
            verdict = url_words_verdict(doc.url, self.rules_for(doc.lang).url_words)
            if not verdict.keep:
                return _reject(doc, STAGE_CONTENT, verdict)
        if self.flagged:
            fraction = flagged_word_fraction(words(doc.text) if text_words is None else text_words, self.flagged)
            doc = doc.replaced(signals={**doc.signals, "flagged_word_fraction": fraction})
            verdict = flagged_words_verdict(fraction, self.config.content.max_flagged_word_fraction)
            if not verdict.keep:
                return _reject(doc, STAGE_CONTENT, verdict)
        return doc
