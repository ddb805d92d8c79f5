"""Dedup on key arrays (corpus/dedup/arrays.py): time and peak memory of the global steps for N synthetic documents.

Usage: python bench/dedup_arrays.py [--docs 1000000] [--hot 100000] [--seed 0]

The documents are keys only, shaped like a crawl after filtering: three sources (priorities 2/3/1 in the seed's
62/22/16 proportions), 10% exact copies (groups of 2-6), 4% of the rest in near-duplicate clusters of 2-5 that
share this band's hash, and one boilerplate bucket of `--hot` pages. Ids are made on request, as the pipeline
would read them from the units. Steps: exact dedup over every digest; one LSH band over the exact survivors, and
its merge with an earlier band's pairs; the verification of that band's pairs from 256-slot signatures;
components and survivors of the verified pairs.
Each step is timed once without tracing, then run again under tracemalloc for its peak (numpy's buffers are
traced): the figure is what the step allocates beyond its inputs, in MB and in bytes per document.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np

from corpus.dedup.arrays import (band_candidates, cluster_sizes, duplicate_of_array, estimated_jaccards,
                                 exact_duplicates, local_rows, near_duplicates, unique_pairs, verify)

NUM_PERM, THRESHOLD, SIGMAS = 256, 0.8, 3.0
SOURCES = (("web", 2, 0.62), ("wikipedia", 3, 0.22), ("books", 1, 0.16))


def ids_of(indices: np.ndarray) -> list[str]:
    """Ids as the readers make them (source/file#record), fetched only for the indices asked for."""
    return [f"src/part-{i % 97:03d}.jsonl#{i}" for i in indices.tolist()]


def make_keys(n: int, hot: int, rng: np.random.Generator):
    priority = rng.choice([p for _, p, _ in SOURCES], size=n, p=[s for _, _, s in SOURCES]).astype(np.int8)
    digests = rng.integers(0, 2**63, size=(n, 2), dtype=np.uint64)
    copies = rng.choice(n, n // 10, replace=False)
    digests[copies] = digests[rng.choice(n, n // 40, replace=False)][rng.integers(0, n // 40, n // 10)]
    hashes = rng.integers(0, 2**63, size=n, dtype=np.uint64)
    clustered = rng.choice(n, n // 25, replace=False)
    hashes[clustered] = hashes[clustered[rng.integers(0, len(clustered) // 3, len(clustered))]]
    hashes[rng.choice(n, hot, replace=False)] = np.uint64(12345)
    return priority, digests, hashes


def signatures_of(members: np.ndarray, hashes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Members of one bucket share a base signature with 10% of the slots redrawn (estimated J ~ 0.81): most pairs
    fall in the exact-check band, the harder case for the caller."""
    _, bucket = np.unique(hashes[members], return_inverse=True)
    base = rng.integers(0, 2**32, size=(bucket.max() + 1, NUM_PERM), dtype=np.uint32)
    sigs = base[bucket]
    noise = rng.random(sigs.shape) < 0.1
    sigs[noise] = rng.integers(0, 2**32, size=int(noise.sum()), dtype=np.uint32)
    return sigs


def measure(label: str, n: int, fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{label:<34} {seconds:7.2f} s   peak {peak / 1e6:8.1f} MB   {peak / n:6.1f} B/doc")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--hot", type=int, default=100_000, help="pages in one boilerplate bucket")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n = args.docs
    priority, digests, hashes = make_keys(n, args.hot, rng)
    print(f"{n:,} documents: digests {digests.nbytes / 1e6:.0f} MB, one band {hashes.nbytes / 1e6:.0f} MB")

    exact = measure("exact dedup", n, exact_duplicates, digests, priority, ids_of)
    dup7 = duplicate_of_array(n, exact)
    size7 = cluster_sizes(dup7)
    survivors = np.flatnonzero(dup7 == -1)
    print(f"  removed {len(exact.docs):,} exact copies")

    found = measure("one band: candidates", n, band_candidates, survivors, hashes[survivors], priority, ids_of)
    print(f"  {len(found.pairs):,} pairs, {found.hot_buckets} hot bucket(s) of {found.hot_bucket_members:,}")
    # The next band finds the same pairs again (a boilerplate bucket does, in every band): the merge's worst case.
    measure("merge with an earlier band's pairs", n, unique_pairs, found.pairs, found.pairs)

    members, rows = local_rows(found.pairs)
    sigs = signatures_of(members, hashes, rng)
    print(f"  signatures of {len(members):,} pair members: {sigs.nbytes / 1e6:.0f} MB (the caller's)")
    estimates = measure("verification: estimates", n, estimated_jaccards, rows, sigs)
    sure, uncertain = measure("verification: split", n, verify, found.pairs, estimates, THRESHOLD, NUM_PERM, SIGMAS)
    print(f"  {len(sure):,} verified, {len(uncertain):,} for the exact check")

    # Without texts to check, the uncertain pairs count as verified: the larger graph for the next step.
    edges = np.concatenate([sure, uncertain])
    near = measure("components and survivors", n, near_duplicates, edges, priority, ids_of)
    sizes = cluster_sizes(duplicate_of_array(n, near), weights=size7)
    print(f"  removed {len(near.docs):,} near duplicates; largest cluster {sizes.max():,}")
    print(f"peak RSS of the process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")


if __name__ == "__main__":
    main()
