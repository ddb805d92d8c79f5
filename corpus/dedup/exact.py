"""SPEC stage 7: exact dedup. Documents with identical normalized text keep one copy, chosen by priority then id."""

from __future__ import annotations

import hashlib


def exact_key(text: str) -> bytes:
    """A 128-bit digest of the normalized text: equal texts, equal keys (collisions are negligible)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def survivor_order(priority: int, doc_id: str) -> tuple[int, str]:
    """Sort key: higher source priority first, then the smaller id. The first member survives."""
    return (-priority, doc_id)
