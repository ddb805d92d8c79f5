"""Stages 2-6 in Beam: one DoFn adapts one `corpus.stages.DocumentRules` method; drops go to `rejected`."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from corpus.config import Config
from corpus.document import Rejection
from corpus.rules.content import parse_list
from corpus.rules.langid import LanguageIdentifier, resolve_model_path
from corpus.stages import STAGE_LANGID, DocumentRules

STAGE_METHODS = {
    "normalize": "normalize",
    "langid": "identify_language",
    "quality": "quality",
    "repetition": "repetition",
    "content": "content",
}


def _read_list(path: str | None) -> frozenset[str]:
    """A one-entry-per-line list file from any Beam filesystem (local, gs://, s3://)."""
    if not path:
        return frozenset()
    with FileSystems.open(path) as f:
        return parse_list(f.read().decode("utf-8").splitlines())


class ApplyStage(beam.DoFn):
    REJECTED = "rejected"

    def __init__(self, config: Config, stage: str, ftlang_cache: str | None = None):
        self._config = config
        self._stage = stage
        self._ftlang_cache = ftlang_cache
        self._fn = None

    def setup(self):
        identifier = None
        if self._stage == STAGE_LANGID:
            # Loaded once per worker, from local disk (never downloaded).
            identifier = LanguageIdentifier(resolve_model_path(self._config.langid.model, self._ftlang_cache),
                                            self._config.langid.sample_chars)
        content = self._config.content
        rules = DocumentRules(self._config, identifier, blocklist=_read_list(content.domain_blocklist),
                              flagged_words=_read_list(content.flagged_words))
        self._fn = getattr(rules, STAGE_METHODS[self._stage])

    def process(self, doc):
        result = self._fn(doc)
        if isinstance(result, Rejection):
            yield beam.pvalue.TaggedOutput(self.REJECTED, result)
        else:
            yield result
