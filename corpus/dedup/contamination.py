"""SPEC stage 9: decontamination against an evaluation set, one document at a time.

Evaluation sets are small (thousands of items), so they are indexed whole and every document is checked where its
text already is (per unit, in parallel) instead of in a global step. Two modes, as Gopher and GPT-3 use them:
`jaccard` (13-gram Jaccard >= threshold: LSH candidates from the same MinHash machinery as stage 8, decided by
the signature estimate or, near the threshold, by the exact Jaccard) and `ngram` (any shared 13-gram).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from corpus.dedup.minhash import (EXACT, MINHASH_SEED, YES, choose_banding, dedup_words, estimated_jaccard,
                                  exact_jaccard,
                                  ngram_keys, shingle_set, short_key, text_signature, verification)



class ContaminationIndex:
    """Built from (id, text) of the evaluation documents; `match(text)` gives the smallest matching evaluation id."""

    def __init__(self, evaluation: Iterable[tuple[str, str]], mode: str, threshold: float, ngram: int,
                 num_perm: int, sigmas: float):
        self.mode, self.threshold, self.ngram = mode, threshold, ngram
        self.num_perm, self.sigmas = num_perm, sigmas
        self.banding = choose_banding(num_perm, threshold)
        self._ngrams: dict[int, str] = {}                       # ngram mode: n-gram key -> smallest eval id
        self._short: dict[bytes, str] = {}                      # jaccard mode, items under one shingle
        self._bands: dict[tuple[int, bytes], list[int]] = {}    # jaccard mode: band key -> eval indexes
        self._items: list[tuple[str, np.ndarray, np.ndarray]] = []   # (id, signature, shingle set)
        for eval_id, text in sorted(evaluation):
            words = dedup_words(text)
            if mode == "ngram":
                for key in ngram_keys(words, ngram):
                    self._ngrams.setdefault(key, eval_id)
            elif 0 < len(words) < ngram:
                self._short.setdefault(short_key(words), eval_id)
            elif words:
                sig = text_signature(words, ngram, num_perm, MINHASH_SEED)
                index = len(self._items)
                self._items.append((eval_id, sig, shingle_set(words, ngram)))
                for key in self._band_keys(sig):
                    self._bands.setdefault(key, []).append(index)

    def _band_keys(self, sig: np.ndarray) -> list[tuple[int, bytes]]:
        r = self.banding.rows
        raw = sig.astype("<u4").tobytes()
        return [(b, raw[b * r * 4:(b + 1) * r * 4]) for b in range(self.banding.bands)]

    def match(self, text: str) -> str | None:
        words = dedup_words(text)
        if self.mode == "ngram":
            hits = [self._ngrams[k] for k in ngram_keys(words, self.ngram) if k in self._ngrams]
            return min(hits) if hits else None
        if 0 < len(words) < self.ngram:
            return self._short.get(short_key(words))
        if not words or not self._items:
            return None
        sig = text_signature(words, self.ngram, self.num_perm, MINHASH_SEED)
        candidates = sorted({i for key in self._band_keys(sig) for i in self._bands.get(key, ())})
        shingles = None
        for i in candidates:    # sorted by evaluation id: the first match is the smallest
            eval_id, eval_sig, eval_set = self._items[i]
            verdict = verification(estimated_jaccard(sig, eval_sig), self.threshold, self.num_perm, self.sigmas)
            if verdict == EXACT:
                shingles = shingle_set(words, self.ngram) if shingles is None else shingles
                verdict = YES if exact_jaccard(shingles, eval_set) >= self.threshold else verdict
            if verdict == YES:
                return eval_id
        return None
