"""corpus.dedup.minhash: signatures against datasketch, banding, bucket pairs, survivor choice."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHash

from corpus.dedup.minhash import (EXACT, NO, YES, band_keys, bucket_pairs, candidate_probability, choose_banding,
                                  dedup_words, exact_jaccard, shingle_set, verification,
                                  estimated_jaccard, ngram_keys, order_key, resolve_component, short_key, shingles,
                                  shingle_hash32, signature, text_signature)
from corpus.sample.generate import EN, RU


def datasketch_signature(items, num_perm, seed):
    m = MinHash(num_perm=num_perm, seed=seed, hashfunc=shingle_hash32)
    for item in items:
        m.update(item)
    return m.hashvalues


@pytest.mark.parametrize("text", [" ".join(EN[:3]), " ".join(RU[:3])], ids=["en", "ru"])
@pytest.mark.parametrize("num_perm,seed", [(256, 1), (128, 42)])
def test_signature_equals_datasketch_minhash(text, num_perm, seed):
    items = shingles(dedup_words(text), 13)
    assert len(items) > 50
    expected = datasketch_signature(items, num_perm, seed)
    assert np.array_equal(signature(items, num_perm, seed), expected)
    assert np.array_equal(text_signature(dedup_words(text), 13, num_perm, seed), expected)


def test_signature_of_a_long_document_spans_several_blocks():
    words = " ".join(EN * 60).split()   # > 4096 shingles: the numpy block loop runs more than once
    items = shingles(words, 5)
    assert len(items) > 4096
    assert np.array_equal(text_signature(words, 5, 64, 1), datasketch_signature(items, 64, 1))


def test_dedup_key_folds_case_punctuation_yo_and_stress_marks():
    assert dedup_words("Ёлка, ко\u0301шка!  Don't\tSTOP.") == ["елка", "кошка", "dont", "stop"]


def test_estimated_jaccard_tracks_the_true_jaccard():
    words = " ".join(EN).split()
    edited = list(words)
    for i in range(0, len(edited), 40):   # one edit every 40 words
        edited[i] = f"edit{i}"
    a, b = set(shingles(words, 13)), set(shingles(edited, 13))
    true = len(a & b) / len(a | b)
    est = estimated_jaccard(text_signature(words, 13, 256, 1), text_signature(edited, 13, 256, 1))
    assert 0.3 < true < 0.9
    assert abs(est - true) < 0.1


def test_default_banding_catches_pairs_at_the_threshold():
    banding = choose_banding(256, 0.8)
    assert banding.bands * banding.rows <= 256
    assert candidate_probability(0.8, banding.bands, banding.rows) >= 0.95
    assert banding.midpoint() < 0.8
    # ... and stays selective well below it.
    assert candidate_probability(0.3, banding.bands, banding.rows) < 0.01


def test_banding_for_other_parameters_keeps_the_same_guarantee():
    banding = choose_banding(128, 0.7)
    assert banding.bands * banding.rows <= 128
    assert candidate_probability(0.7, banding.bands, banding.rows) >= 0.95


def test_identical_signatures_share_every_band_and_different_ones_share_none():
    banding = choose_banding(256, 0.8)
    sig = text_signature(" ".join(EN[:2]).split(), 13, 256, 1)
    other = text_signature(" ".join(EN[4:6]).split(), 13, 256, 1)
    assert band_keys(sig, banding) == band_keys(sig.copy(), banding)
    assert not set(band_keys(sig, banding)) & set(band_keys(other, banding))


def test_small_bucket_gives_all_pairs_large_bucket_pairs_with_heads_only():
    members = [order_key(0, f"d{i:03d}") for i in range(10)]
    assert len(bucket_pairs(members, full_limit=64, heads=8)) == 45
    big = [order_key(0, f"d{i:04d}") for i in range(1000)]
    pairs = bucket_pairs(big, full_limit=64, heads=8)
    assert len(pairs) == sum(1000 - h - 1 for h in range(8))
    assert all(a < b for a, b in pairs)


def test_chain_keeps_both_ends():
    # A~B and B~C verified, A and C not similar: B goes (naming A), C stays: nothing kept resembles C.
    members = [(order_key(0, x), x) for x in ("A", "B", "C")]
    decisions = dict(resolve_component(members, [("A", "B"), ("B", "C")]))
    assert decisions == {"A": None, "B": "A", "C": None}


def test_higher_priority_survives_then_smaller_id():
    members = [(order_key(1, "a-low"), "a-low"), (order_key(3, "z-high"), "z-high"), (order_key(3, "y-high"),
                                                                                    "y-high")]
    edges = [("y-high", "a-low"), ("z-high", "a-low"), ("y-high", "z-high")]
    decisions = dict(resolve_component(members, edges))
    assert decisions == {"y-high": None, "z-high": "y-high", "a-low": "y-high"}


def test_removed_documents_name_a_verified_surviving_neighbour():
    ids = [f"d{i}" for i in range(6)]
    edges = [("d0", "d1"), ("d1", "d2"), ("d2", "d3"), ("d3", "d4"), ("d4", "d5"), ("d1", "d5")]
    decisions = dict(resolve_component([(order_key(0, x), x) for x in ids], edges))
    survivors = {d for d, s in decisions.items() if s is None}
    verified = {frozenset(e) for e in edges}
    for doc, survivor in decisions.items():
        if survivor is not None:
            assert survivor in survivors and frozenset((doc, survivor)) in verified
    assert not any(frozenset((a, b)) in verified for a in survivors for b in survivors if a != b)


def test_short_key_ignores_case_and_punctuation_only():
    assert short_key(dedup_words("Click here!")) == short_key(dedup_words("click HERE"))
    assert short_key(dedup_words("Click here!")) != short_key(dedup_words("Click there!"))


def test_estimates_near_the_threshold_go_to_an_exact_check():
    assert verification(0.95, 0.8, 256, 3.0) == YES
    assert verification(0.81, 0.8, 256, 3.0) == EXACT and verification(0.70, 0.8, 256, 3.0) == NO
    assert verification(0.81, 0.8, 256, 0.0) == YES and verification(0.79, 0.8, 256, 0.0) == NO


def test_exact_jaccard_of_shingle_sets():
    a = shingle_set(" ".join(EN[:2]).split(), 13)
    b = shingle_set(" ".join(EN[1:3]).split(), 13)
    inter = len(set(a.tolist()) & set(b.tolist()))
    assert exact_jaccard(a, b) == inter / (len(a) + len(b) - inter)
    assert exact_jaccard(a, a) == 1.0


def test_ngram_keys_find_a_shared_sentence():
    sentence = "the quick brown fox jumps over the lazy dog while the farmer sleeps in the barn"
    doc = dedup_words(EN[0] + " " + sentence + " " + EN[1])
    assert ngram_keys(dedup_words(sentence), 13) <= ngram_keys(doc, 13)
    assert not ngram_keys(dedup_words(EN[5]), 13) & ngram_keys(dedup_words(EN[0]), 13)
