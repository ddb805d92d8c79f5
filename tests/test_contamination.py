"""Stage 9 per document: the evaluation index finds leaked items by Jaccard or by a shared 13-gram."""

from __future__ import annotations

import random

from corpus.dedup.contamination import ContaminationIndex
from corpus.dedup.minhash import dedup_words, exact_jaccard, shingle_set


def _text(rng: random.Random, n: int) -> str:
    return " ".join(f"w{rng.randrange(100_000)}" for _ in range(n))


def _index(evaluation, mode="jaccard"):
    return ContaminationIndex(evaluation, mode, threshold=0.8, ngram=13, num_perm=256, sigmas=3.0)


def test_a_lightly_edited_evaluation_item_matches_and_an_unrelated_text_does_not():
    rng = random.Random(1)
    item = _text(rng, 400)
    words = item.split()
    edited = " ".join(words[:390] + ["changed"] * 10)   # the last ten words rewritten
    assert exact_jaccard(shingle_set(dedup_words(item), 13), shingle_set(dedup_words(edited), 13)) > 0.85
    index = _index([("evaluation/q#1", item), ("evaluation/q#2", _text(rng, 400))])
    assert index.match(edited) == "evaluation/q#1"
    assert index.match(_text(rng, 400)) is None


def test_a_text_sharing_half_its_shingles_is_not_contamination_by_jaccard():
    rng = random.Random(2)
    item = _text(rng, 300)
    half = " ".join(item.split()[:150] + _text(rng, 150).split())
    assert _index([("evaluation/q#1", item)]).match(half) is None


def test_ngram_mode_matches_one_shared_13_gram_and_names_the_smallest_id():
    rng = random.Random(3)
    sentence = _text(rng, 13)
    a = _text(rng, 50) + " " + sentence
    b = sentence + " " + _text(rng, 50)
    index = _index([("evaluation/z", a), ("evaluation/a", b)], mode="ngram")
    assert index.match(_text(rng, 30) + " " + sentence + " " + _text(rng, 30)) == "evaluation/a"
    twelve = " ".join(sentence.split()[:12])
    assert index.match(_text(rng, 30) + " " + twelve + " " + _text(rng, 30)) is None


def test_short_items_match_on_their_whole_key_ignoring_case_and_punctuation():
    index = _index([("evaluation/s", "What is the capital of France?")])
    assert index.match("what is the capital of france") == "evaluation/s"
    assert index.match("What is the capital of Spain?") is None
