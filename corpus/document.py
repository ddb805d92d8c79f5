"""The records that flow through the pipeline: a Document, and a Rejection for anything dropped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Document:
    """One document. `signals` holds the rule measurements that end up as float columns."""

    id: str
    source: str
    text: str
    url: str | None = None
    title: str | None = None
    author: str | None = None   # books: from the FictionBook description or the Gutenberg header
    lang: str | None = None
    lang_score: float | None = None
    date: str | None = None
    signals: dict[str, float] = field(default_factory=dict)
    cluster_size: int = 1   # this document plus every duplicate (exact or near) removed in its favour
    tokens: Any = None      # numpy array of token ids once tokenized (stage 11)

    @property
    def n_tokens(self) -> int | None:
        return None if self.tokens is None else len(self.tokens)

    def replaced(self, **changes: Any) -> "Document":
        """A copy with `changes`: what `dataclasses.replace` gives, at a fraction of its cost per stage, and the
        byte count goes along while the text stays the same."""
        new = object.__new__(Document)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    @property
    def n_bytes(self) -> int:
        # Asked for at every funnel count: encoded once per text (a new text, as a part's, is measured anew).
        cached = self.__dict__.get("_n_bytes")
        if cached is None or cached[0] is not self.text:
            cached = self.__dict__["_n_bytes"] = (self.text, len(self.text.encode("utf-8")))
        return cached[1]


@dataclass
class Rejection:
    """A dropped document (or an unreadable input record) with the stage and rule that dropped it."""

    id: str
    source: str
    stage: str
    reason: str
    n_bytes: int
    text: str = ""
    url: str | None = None
    lang: str | None = None    # SPEC §4b: where known (from langid on), so a langid reject names what it saw
    value: float | None = None
    threshold: float | None = None
    duplicate_of: str | None = None
    detail: str | None = None  # e.g. "file.warc.gz@1234: truncated record"

    @classmethod
    def of(cls, doc: Document, stage: str, reason: str, value: float | None = None,
           threshold: float | None = None, duplicate_of: str | None = None, detail: str | None = None) -> "Rejection":
        return cls(id=doc.id, source=doc.source, stage=stage, reason=reason, n_bytes=doc.n_bytes,
                   text=doc.text, url=doc.url, lang=doc.lang, value=value, threshold=threshold,
                   duplicate_of=duplicate_of, detail=detail)
