"""Exact dedup keys (the decisions are tested on arrays in test_dedup_arrays.py)."""

from __future__ import annotations

from corpus.dedup.exact import exact_key


def test_keys_equal_only_for_equal_texts():
    assert exact_key("Привет, мир") == exact_key("Привет, мир")
    assert exact_key("Привет, мир") != exact_key("Привет, мир ")
    assert len(exact_key("x")) == 16
