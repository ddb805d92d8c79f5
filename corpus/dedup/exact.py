"""SPEC stage 7: exact dedup. Documents with identical normalized text keep one copy, chosen by priority then id."""

from __future__ import annotations

import hashlib
from typing import Iterable


def exact_key(text: str) -> bytes:
    """A 128-bit digest of the normalized text: equal texts, equal keys (collisions are negligible)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def survivor_order(priority: int, doc_id: str) -> tuple[int, str]:
    """Sort key: higher source priority first, then the smaller id. The first member survives."""
    return (-priority, doc_id)


# A group of identical texts, folded into one small value whatever its size (a combiner in Beam): the survivor's
# order key and the member count. Groups of one member need no decision at all.
GroupSummary = tuple[tuple[int, str] | None, int]


def summarize(priority: int, doc_id: str) -> GroupSummary:
    return survivor_order(priority, doc_id), 1


EMPTY_SUMMARY: GroupSummary = (None, 0)   # no member yet (a combiner's fresh accumulator)


def merge_summaries(summaries: Iterable[GroupSummary]) -> GroupSummary:
    best, total = None, 0
    for order, count in summaries:
        if count and (best is None or order < best):
            best = order
        total += count
    return best, total


def exact_decision(doc_id: str, summary: GroupSummary | None) -> tuple[str | None, int]:
    """(duplicate_of or None if the document survives, group size) from its group's summary."""
    if summary is None:
        return None, 1
    (_, survivor), size = summary
    return (None if doc_id == survivor else survivor), size
