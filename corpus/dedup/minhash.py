"""SPEC stage 8: MinHash near-duplicate detection as pure functions: dedup key, shingles, signatures, LSH bands,
verification, and the resolution of one connected component of verified pairs.

Signatures follow `datasketch.MinHash` exactly (scheme "affine32", the default since datasketch 2.0), with our
shingle hash as its `hashfunc`: each shingle is hashed by `shingle_hash32`, pre-mixed with the MurmurHash3 32-bit
finalizer, then permuted by h -> a*h + b mod 2^32 with datasketch's (a, b) for the seed. A signature computed here
equals `MinHash(num_perm, seed, hashfunc=shingle_hash32).update(shingle)` over the same shingles; the difference is
speed: all shingles of a document go through numpy at once instead of one Python call each.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

from corpus.dedup.exact import survivor_order

# Everything that is neither a word character nor whitespace: punctuation, symbols, and combining marks such as
# the stress accent of Russian Wikipedia (U+0301), so "ко́шка" and "кошка" share shingles.
_NOT_WORD = re.compile(r"[^\w\s]+")
_MAX32 = np.uint32(0xFFFFFFFF)
# datasketch's default seed, so any signature can be checked with datasketch.MinHash(num_perm).
MINHASH_SEED = 1
# Shingles per numpy block: the (shingles x num_perm) uint32 matrix stays within a core's L2 cache (512 KB at 256
# permutations), 20% faster than 4 MB blocks on long documents.
_BLOCK = 512


def dedup_words(text: str) -> list[str]:
    """The dedup key as words: lower-cased, punctuation dropped, whitespace folded, ё→е (SPEC stage 8)."""
    return _NOT_WORD.sub("", text.casefold().replace("ё", "е")).split()


def shingles(words: Sequence[str], n: int) -> list[bytes]:
    """Word n-grams joined by one space, UTF-8 encoded: the exact byte strings fed to the hash."""
    return [" ".join(words[i:i + n]).encode("utf-8") for i in range(len(words) - n + 1)]


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 parameters for (num_perm, seed): taken from datasketch itself, never re-derived."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed).permutations
    return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)


def _fmix32(h: np.ndarray) -> np.ndarray:
    # MurmurHash3 fmix32, the pre-mix datasketch applies before its affine permutations.
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


# The shingle hash: a polynomial over the shingle's UTF-8 bytes mod 2^64 (odd base, so it has an inverse), its byte
# length mixed in, finalized by SplitMix64, top 32 bits. Any function of the bytes alone would do for datasketch;
# this one is computed for every shingle of a document at once in numpy from two running sums (SHA-1 per shingle,
# datasketch's default, took a Python call per shingle: about a quarter of stages 1-6's time).
_BASE = 0x100000001B3                      # FNV-1's 64-bit prime
_INVERSE = pow(_BASE, -1, 1 << 64)
_MASK64 = (1 << 64) - 1
_SPAN_SHINGLES = 1 << 14                   # shingles hashed per numpy pass: bounds the temporaries (~10 MB)


def shingle_hash32(data: bytes) -> int:
    """The 32-bit hash of one shingle, one byte at a time: pass as `datasketch.MinHash(hashfunc=shingle_hash32)`
    to get the signatures this module computes."""
    h = 0
    for byte in data:
        h = (h * _BASE + byte) & _MASK64
    return int(_splitmix64(np.array([h ^ len(data)], dtype=np.uint64))[0] >> np.uint64(32))


_KEPT_POWERS = 1 << 20                     # tables of up to 8 MB stay cached (4 at most)


@lru_cache(maxsize=4)
def _power_table(base: int, size: int) -> np.ndarray:
    powers = np.full(size, base, dtype=np.uint64)
    powers[0] = 1
    np.cumprod(powers, out=powers)                 # uint64 wraps: base^k mod 2^64
    powers.flags.writeable = False
    return powers


def _powers(base: int, count: int) -> np.ndarray:
    """base^0 .. base^(count-1) mod 2^64: a slice of a table that grows in powers of two (built once or twice
    per worker, not per document); a span longer than any text's usual one gets its own, not kept."""
    size = 1 << max(16, (count - 1).bit_length())
    return (_power_table(base, size) if size <= _KEPT_POWERS else _power_table.__wrapped__(base, size))[:count]


def _span_hashes(buf: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """`shingle_hash32(buf[a:b])` for every (a, b), all within one stretch of `buf`.

    With C_k = sum_{j<k} byte_j * INVERSE^j, the polynomial of bytes [a, b) is BASE^(b-1) * (C_b - C_a) mod 2^64,
    because BASE * INVERSE = 1: one cumulative sum gives every shingle's polynomial."""
    lo, hi = int(starts[0]), int(ends[-1])
    data = np.frombuffer(buf, dtype=np.uint8, count=hi - lo, offset=lo).astype(np.uint64)
    running = np.zeros(hi - lo + 1, dtype=np.uint64)
    np.cumsum(data * _powers(_INVERSE, hi - lo), out=running[1:])
    a, b = starts - lo, ends - lo
    poly = _powers(_BASE, hi - lo)[b - 1] * (running[b] - running[a])
    return (_splitmix64(poly ^ (b - a).astype(np.uint64)) >> np.uint64(32)).astype(np.uint32)


def shingle_hashes(items: Iterable[bytes]) -> np.ndarray:
    """`shingle_hash32` of every shingle, as one uint32 array."""
    return np.fromiter((shingle_hash32(s) for s in items), dtype=np.uint32)


def word_shingle_hashes(words: Sequence[str], n: int) -> np.ndarray:
    """`shingle_hashes(shingles(words, n))` without building the shingles: the words are joined and encoded once
    and every shingle is a stretch of that buffer (same bytes, vectorised)."""
    count = len(words) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint32)
    buf = " ".join(words).encode("utf-8")
    # Words hold no whitespace, and byte 0x20 is a space wherever it appears in UTF-8: the spaces of the encoded
    # buffer are exactly the word boundaries.
    spaces = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 0x20)
    starts = np.concatenate(([0], spaces + 1))[:count]
    ends = np.concatenate((spaces, [len(buf)]))[n - 1:]
    return np.concatenate([_span_hashes(buf, starts[i:i + _SPAN_SHINGLES], ends[i:i + _SPAN_SHINGLES])
                           for i in range(0, count, _SPAN_SHINGLES)])


def signature_of_hashes(hashes: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """MinHash signature (uint32[num_perm]) from `shingle_hash32` values; all-max for none, as datasketch."""
    a, b = permutations(num_perm, seed)
    sig = np.full(num_perm, _MAX32, dtype=np.uint32)
    if not len(hashes):
        return sig
    mixed = _fmix32(hashes)
    buf = np.empty((min(len(mixed), _BLOCK), num_perm), dtype=np.uint32)
    for start in range(0, len(mixed), _BLOCK):
        block = mixed[start:start + _BLOCK, None]
        out = buf[:len(block)]
        # uint32 wrap-around is the mod 2^32 of datasketch's affine32 scheme; in place to avoid temporaries.
        np.multiply(block, a, out=out)
        np.add(out, b, out=out)
        np.minimum(sig, out.min(axis=0), out=sig)
    return sig


def signature(items: Sequence[bytes], num_perm: int, seed: int) -> np.ndarray:
    """MinHash signature of a set of shingles (byte strings)."""
    return signature_of_hashes(shingle_hashes(items), num_perm, seed)


def text_signature(words: Sequence[str], n: int, num_perm: int, seed: int) -> np.ndarray:
    """MinHash signature of a document's word n-gram shingles (the fast path the pipeline uses)."""
    return signature_of_hashes(word_shingle_hashes(words, n), num_perm, seed)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """The fraction of equal signature slots: datasketch's `MinHash.jaccard`."""
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


YES, NO, EXACT = "yes", "no", "exact"


def verification(estimate: float, threshold: float, num_perm: int, sigmas: float) -> str:
    """Decide a candidate pair from its signature estimate, or send it to an exact check when the estimate sits
    within `sigmas` standard deviations of the threshold. With 256 slots the estimate's spread at J = 0.8 is
    0.025, so without the exact check pairs just above the threshold are missed and pairs just below are taken
    about as often as not; the exact check touches only that narrow band."""
    low, high = verification_bounds(threshold, num_perm, sigmas)
    if estimate >= high:
        return YES
    if estimate < low:
        return NO
    return EXACT


def verification_bounds(threshold: float, num_perm: int, sigmas: float) -> tuple[float, float]:
    """(low, high) of `verification`: an estimate >= high is a duplicate, one < low is not, one between them
    gets the exact check (shared with the vectorised corpus.dedup.arrays.verify)."""
    margin = sigmas * expected_std(threshold, num_perm)
    return threshold - margin, threshold + margin


def shingle_set(words: Sequence[str], n: int) -> np.ndarray:
    """The document's shingles as sorted unique 64-bit keys, for the exact Jaccard check."""
    return np.array(sorted(ngram_keys(words, n)), dtype=np.uint64)


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted unique key arrays."""
    if not len(a) and not len(b):
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def candidate_probability(jaccard: float, bands: int, rows: int) -> float:
    """The LSH S-curve: the chance that a pair with this Jaccard shares at least one band."""
    return 1.0 - (1.0 - jaccard ** rows) ** bands


@dataclass(frozen=True)
class Banding:
    bands: int
    rows: int

    def midpoint(self) -> float:
        """Where the S-curve crosses 1/2 (approximately (1/b)^(1/r))."""
        return (1.0 / self.bands) ** (1.0 / self.rows)


def choose_banding(num_perm: int, threshold: float, min_recall: float = 0.99) -> Banding:
    """The most selective (bands, rows) with bands*rows <= num_perm that still makes at least `min_recall` of the
    pairs at `threshold` candidates, so the S-curve's midpoint sits below the threshold. Selective means fewer
    candidate pairs to verify; falls back to rows=1 (every shared minimum is a candidate)."""
    best = Banding(num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if bands < 1:
            break
        banding = Banding(bands, rows)
        if candidate_probability(threshold, bands, rows) >= min_recall and banding.midpoint() < threshold:
            best = banding
    return best


def band_keys(sig: np.ndarray, banding: Banding) -> list[tuple[int, bytes]]:
    """(band index, 8-byte digest of the band's rows): documents sharing a key are candidates."""
    r = banding.rows
    raw = sig.astype("<u4").tobytes()
    return [(i, hashlib.blake2b(raw[i * r * 4:(i + 1) * r * 4], digest_size=8).digest())
            for i in range(banding.bands)]


_GOLDEN64 = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    # SplitMix64's increment and finalizer (Steele, Lea, Flood, OOPSLA 2014; Stafford's "Mix13" constants, as in
    # Vigna's splitmix64.c): a bijection on uint64 whose output bits all depend on every input bit. uint64
    # arithmetic wraps, which is the mod 2^64 it wants.
    z = x + _GOLDEN64
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def band_hashes(signatures: np.ndarray, banding: Banding) -> np.ndarray:
    """(N, bands) uint64: one hash per band of each of N signatures (an (N, num_perm) uint32 array), vectorised
    over documents and bands; the per-unit step's counterpart of `band_keys`. Equal band rows give equal hashes;
    distinct ones collide with probability about 2^-64, and a collision only adds a candidate pair that
    verification rejects. Holds one (N, bands) uint64 temporary besides the result."""
    signatures = np.asarray(signatures, dtype=np.uint32)
    used = banding.bands * banding.rows
    if signatures.ndim != 2 or signatures.shape[1] < used:
        raise ValueError(f"band_hashes needs (N, >= {used}) signatures for {banding}, got {signatures.shape}")
    hashes = np.zeros((len(signatures), banding.bands), dtype=np.uint64)
    for row in range(banding.rows):
        # Column row + k*rows is this row of band k. For a given hash so far, distinct row values give distinct
        # results, so two bands that first differ in a row still differ right after it.
        hashes = _splitmix64(hashes + signatures[:, row:used:banding.rows].astype(np.uint64))
    return hashes


def short_key(words: Sequence[str]) -> bytes:
    """Documents with fewer words than one shingle are deduplicated on their whole key (SPEC: exact fallback)."""
    return hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=16).digest()


OrderKey = tuple[int, str]   # survivor_order: (-priority, id); the smaller survives


def bucket_pairs(members: Sequence[OrderKey], full_limit: int, heads: int) -> list[tuple[str, str]]:
    """Candidate pairs (better id, worse id) from one LSH bucket, members sorted best first.

    A small bucket gives all pairs. A large one (shared boilerplate) gives each member a pair with the bucket's
    `heads` best members only, so the pairs grow linearly with the bucket instead of quadratically."""
    ids = [m[1] for m in members]
    if len(ids) <= full_limit:
        return [(ids[i], ids[j]) for i in range(len(ids)) for j in range(i + 1, len(ids))]
    return [(ids[h], ids[j]) for h in range(min(heads, len(ids))) for j in range(h + 1, len(ids))]


def resolve_component(members: Iterable[tuple[OrderKey, str]], edges: Iterable[tuple[str, str]]
                      ) -> list[tuple[str, str | None]]:
    """Greedy maximal independent set in survivor order over one component of verified pairs.

    Walking the documents best first, a document survives unless a verified neighbour already survived; then it is
    removed naming its best surviving neighbour. So no two survivors form a verified pair, every removed document
    names a survivor it was verified against, and a chain A~B~C where A and C differ keeps both A and C (one
    survivor per component would drop C although nothing kept resembles it)."""
    order = {doc_id: key for key, doc_id in members}
    neighbours: dict[str, list[str]] = {doc_id: [] for doc_id in order}
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    decisions: list[tuple[str, str | None]] = []
    survivors: set[str] = set()
    for doc_id in sorted(order, key=order.__getitem__):
        kept = [n for n in neighbours[doc_id] if n in survivors]
        if kept:
            decisions.append((doc_id, min(kept, key=order.__getitem__)))
        else:
            survivors.add(doc_id)
            decisions.append((doc_id, None))
    return decisions


def order_key(priority: int, doc_id: str) -> OrderKey:
    return survivor_order(priority, doc_id)


def expected_std(jaccard: float, num_perm: int) -> float:
    """Standard deviation of the signature estimate of a Jaccard (binomial over num_perm slots)."""
    return math.sqrt(jaccard * (1 - jaccard) / num_perm)


def ngram_keys(words: Sequence[str], n: int) -> set[int]:
    """64-bit keys of a document's word n-grams, for decontamination's shared-n-gram mode (64 bits keep false
    matches negligible even against millions of evaluation n-grams)."""
    blake2b = hashlib.blake2b
    return {int.from_bytes(blake2b(s, digest_size=8).digest(), "little") for s in shingles(words, n)}
