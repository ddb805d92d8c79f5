"""Near-dedup (SPEC stage 8): quality against brute force, signature speed against datasketch, memory.

Usage: python bench/near_dedup.py [../shared/data] [--scale N]

1. Quality. Real text from ../shared/data (books split into ~500-word passages, web-ru pages, Wikipedia articles)
   plus near-duplicates made by random word substitutions, deletions and insertions aimed at Jaccard levels
   0.5 ... 1.0. The exact 13-gram Jaccard of every pair that shares a shingle is computed by brute force (pairs that
   share none have Jaccard 0). The detector is the pipeline's own code path: datasketch-exact signatures, the
   default banding, bucket pairs (all pairs / heads) and verification by the signature estimate. Prints recall and
   precision for pairs with J >= 0.8 and the detection rate per true-Jaccard bin.
2. Speed. The same documents signed by `text_signature` and by datasketch's fastest documented path
   (`MinHash(num_perm).update_batch(shingles)`, its default SHA-1 hash), side by side; docs/s per core and the
   ratio. Identity is checked with datasketch given our hash (`hashfunc=shingle_hash32`).
3. Memory. Peak RSS growth while signing and banding `--scale` documents (default 100,000), resampled from the
   passages, keeping only what the pipeline's workers keep per document (band keys + signature).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from datasketch import MinHash

from corpus.dedup.minhash import (EXACT, MINHASH_SEED, YES, band_keys, bucket_pairs, choose_banding, dedup_words,
                                  estimated_jaccard, exact_jaccard, shingle_hash32, shingle_set, shingles,
                                  text_signature, verification)
from corpus.document import Document
from corpus.sources import ReadContext, reader_for
from corpus.config import MinHashConfig
from corpus.dedup.arrays import HEADS as BUCKET_HEADS

NGRAM, NUM_PERM, THRESHOLD = 13, 256, 0.8
LEVELS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)


def base_passages(data: Path) -> list[str]:
    texts: list[str] = []
    for kind, pattern in (("books", "books/**/*.txt"), ("text", "web-ru/*.txt")):
        for path in sorted(data.glob(pattern)):
            with path.open("rb") as f:
                docs = [d for d in reader_for(kind)(f, ReadContext(source="b", path=str(path), rel=path.name))
                        if isinstance(d, Document)]
            for d in docs:
                words = d.text.split()
                step = 500 if kind == "books" else len(words) or 1
                texts += [" ".join(words[i:i + step]) for i in range(0, len(words), step)]
    wiki = json.loads((data / "wikipedia/text/cyrillic-wiki-plaintext-10langs.json").read_text(encoding="utf-8"))
    texts += [t for lang in sorted(wiki) for t in wiki[lang]]
    return [t for t in texts if len(t.split()) >= 100]


def make_variant(text: str, target: float, rng: random.Random) -> str:
    """Random word edits (substitute / delete / insert) sized so the 13-gram Jaccard lands near `target`."""
    words = text.split()
    if target >= 1.0:
        return text.upper() if rng.random() < 0.5 else text.replace(" ", "  ", 3)   # same dedup key
    n = max(1, len(words) - NGRAM + 1)
    edits = max(1, round(n * (1 - target) / (NGRAM * (1 + target))))
    for _ in range(edits):
        i = rng.randrange(len(words))
        op = rng.random()
        if op < 0.5:
            words[i] = f"w{rng.randrange(10**6)}"
        elif op < 0.75 and len(words) > NGRAM + 1:
            del words[i]
        else:
            words.insert(i, f"w{rng.randrange(10**6)}")
    return " ".join(words)


def exact_pairs(shingle_sets: list[np.ndarray]) -> dict[tuple[int, int], float]:
    """Exact Jaccard of every pair of documents that shares at least one shingle (inverted index)."""
    index: dict[int, list[int]] = defaultdict(list)
    for doc, hashes in enumerate(shingle_sets):
        for h in hashes.tolist():
            index[h].append(doc)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for docs in index.values():
        for x in range(len(docs)):
            for y in range(x + 1, len(docs)):
                shared[(docs[x], docs[y])] += 1
    return {(a, b): s / (len(shingle_sets[a]) + len(shingle_sets[b]) - s) for (a, b), s in shared.items()}


def detected_pairs(signatures: list[np.ndarray], sets: list[np.ndarray], sigmas: float
                   ) -> tuple[set[tuple[int, int]], int]:
    banding = choose_banding(NUM_PERM, THRESHOLD)
    buckets: dict[tuple[int, bytes], list[tuple[int, str]]] = defaultdict(list)
    for doc, sig in enumerate(signatures):
        for key in band_keys(sig, banding):
            buckets[key].append((0, f"{doc:08d}"))
    candidates = set()
    for members in buckets.values():
        for a, b in bucket_pairs(sorted(members), MinHashConfig().hot_bucket_size, BUCKET_HEADS):
            candidates.add((int(a), int(b)))
    found, exact_checks = set(), 0
    for a, b in candidates:
        verdict = verification(estimated_jaccard(signatures[a], signatures[b]), THRESHOLD, NUM_PERM, sigmas)
        exact_checks += verdict == EXACT
        if verdict == YES or (verdict == EXACT and exact_jaccard(sets[a], sets[b]) >= THRESHOLD):
            found.add((a, b))
    return found, exact_checks


def quality(texts: list[str]) -> None:
    words = [dedup_words(t) for t in texts]
    # 64-bit shingle keys (not the 32-bit MinHash input hashes) so the brute force is exact.
    sets = [shingle_set(w, NGRAM) for w in words]
    t0 = time.perf_counter()
    truth = exact_pairs(sets)
    t_brute = time.perf_counter() - t0
    sigs = [text_signature(w, NGRAM, NUM_PERM, MINHASH_SEED) for w in words]
    positives = {p for p, j in truth.items() if j >= THRESHOLD}
    print(f"documents {len(texts)}; pairs sharing a shingle {len(truth)}; pairs with J>=0.8 {len(positives)}; "
          f"brute force {t_brute:.1f} s")
    results = {}
    for sigmas in (0.0, 3.0):
        found, checks = detected_pairs(sigs, sets, sigmas)
        results[sigmas] = found
        tp = len(found & positives)
        print(f"exact_check_sigmas={sigmas}: verified pairs {len(found)} ({checks} checked exactly); "
              f"recall {tp / max(1, len(positives)):.4f}; precision {tp / max(1, len(found)):.4f}")
    print("detection rate by true Jaccard (signature estimate only | with the exact check, the default):")
    bins = [(0.5, 0.6), (0.6, 0.7), (0.7, 0.75), (0.75, 0.78), (0.78, 0.8), (0.8, 0.82), (0.82, 0.85),
            (0.85, 0.9), (0.9, 0.95), (0.95, 1.0001)]
    for lo, hi in bins:
        in_bin = [p for p, j in truth.items() if lo <= j < hi]
        rates = [sum(p in found for p in in_bin) / len(in_bin) if in_bin else float("nan")
                 for found in results.values()]
        print(f"  J in [{lo:.2f}, {min(hi, 1.0):.2f}{']' if hi > 1 else ')'}: {len(in_bin):5d} pairs, "
              f"detected {rates[0]:.3f} | {rates[1]:.3f}")


def speed(texts: list[str]) -> None:
    words = [dedup_words(t) for t in texts]
    t0 = time.perf_counter()
    ours = [text_signature(w, NGRAM, NUM_PERM, MINHASH_SEED) for w in words]
    t_ours = time.perf_counter() - t0
    # Identity with datasketch given our shingle hash (a pure-Python hashfunc: slow, so on a subset).
    for w, sig in zip(words[:200], ours):
        m = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED, hashfunc=shingle_hash32)
        m.update_batch(shingles(w, NGRAM))
        assert np.array_equal(sig, m.hashvalues), "signatures differ from datasketch"
    # Speed against datasketch's fastest documented path: update_batch with its own default hash (SHA-1).
    t0 = time.perf_counter()
    for w in words:
        m = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED)
        m.update_batch(shingles(w, NGRAM))
    t_ref = time.perf_counter() - t0
    n, mb = len(words), sum(len(t.encode()) for t in texts) / 1e6
    print(f"signatures of {n} documents ({mb:.1f} MB), identical to datasketch with hashfunc=shingle_hash32: "
          f"ours {n / t_ours:.0f} docs/s ({mb / t_ours:.2f} MB/s), datasketch update_batch {n / t_ref:.0f} docs/s "
          f"({mb / t_ref:.2f} MB/s); speed-up {t_ref / t_ours:.1f}x (one core)")


def memory(texts: list[str], scale: int) -> None:
    rng = random.Random(1)
    banding = choose_banding(NUM_PERM, THRESHOLD)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kept = []
    t0 = time.perf_counter()
    for i in range(scale):
        text = texts[rng.randrange(len(texts))]
        sig = text_signature(dedup_words(text), NGRAM, NUM_PERM, MINHASH_SEED)
        kept.append((band_keys(sig, banding), sig.tobytes()))
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{scale} documents signed and banded in {elapsed:.1f} s ({scale / elapsed:.0f} docs/s/core); peak RSS "
          f"grew {(after - before) / 1024:.0f} MB holding every band key and signature "
          f"({(after - before) / 1024 / scale * 1e5:.0f} MB per 100k documents; a Beam worker holds only its "
          f"bundle)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--bases", type=int, default=400)
    args = parser.parse_args()
    rng = random.Random(0)
    passages = base_passages(Path(args.data))
    bases = rng.sample(passages, min(args.bases, len(passages)))
    corpus = list(bases)
    for text in bases:
        for level in rng.sample(LEVELS, 3):
            corpus.append(make_variant(text, level, rng))
    quality(corpus)
    speed(passages[:600])
    memory(passages, args.scale)


if __name__ == "__main__":
    main()
