"""SPEC stage 7: exact dedup. Documents with identical normalized text keep one copy, chosen by priority then id."""

from __future__ import annotations

import hashlib
from typing import Iterable


def exact_key(text: str) -> str:
    """A 128-bit digest of the normalized text: equal texts, equal keys (collisions are negligible)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def survivor_order(priority: int, doc_id: str) -> tuple[int, str]:
    """Sort key: higher source priority first, then the smaller id. The first member survives."""
    return (-priority, doc_id)


def resolve_exact_group(members: Iterable[tuple[int, str]]) -> list[tuple[str, str | None, int]]:
    """For one group of identical texts, [(id, duplicate_of or None if it survives, group size)]."""
    ordered = sorted(members, key=lambda m: survivor_order(*m))
    survivor = ordered[0][1]
    size = len(ordered)
    return [(doc_id, None if doc_id == survivor else survivor, size) for _, doc_id in ordered]
