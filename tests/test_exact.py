"""Exact dedup decisions from folded group summaries: the same survivor whatever order members arrive in."""

from __future__ import annotations

import itertools

from corpus.dedup.exact import exact_decision, exact_key, merge_summaries, summarize


def test_survivor_is_highest_priority_then_smallest_id_in_any_merge_order():
    members = [(1, "books/a"), (3, "wiki/z"), (3, "wiki/b"), (2, "web/a")]
    results = set()
    for order in itertools.permutations(members):
        # fold as a combiner would: pairwise, in uneven partial groups
        left = merge_summaries(summarize(*m) for m in order[:1])
        right = merge_summaries(summarize(*m) for m in order[1:])
        results.add(merge_summaries([left, right]))
    assert results == {((-3, "wiki/b"), 4)}
    summary = results.pop()
    assert exact_decision("wiki/b", summary) == (None, 4)
    assert exact_decision("books/a", summary) == ("wiki/b", 4)
    assert exact_decision("lonely", None) == (None, 1)


def test_empty_accumulators_merge_in_any_position():
    from corpus.dedup.exact import EMPTY_SUMMARY
    one = summarize(2, "web/x")
    assert merge_summaries([EMPTY_SUMMARY, one, EMPTY_SUMMARY]) == ((-2, "web/x"), 1)
    assert merge_summaries([one, EMPTY_SUMMARY, summarize(5, "wiki/y")]) == ((-5, "wiki/y"), 2)
    assert merge_summaries([EMPTY_SUMMARY, EMPTY_SUMMARY]) == EMPTY_SUMMARY


def test_keys_equal_only_for_equal_texts():
    assert exact_key("Привет, мир") == exact_key("Привет, мир")
    assert exact_key("Привет, мир") != exact_key("Привет, мир ")
    assert len(exact_key("x")) == 16
