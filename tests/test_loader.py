"""corpus.loader on the bundled sample's output: coverage, disjoint streams, resume, weights, torch wrapper."""

from __future__ import annotations

import itertools
import json
from collections import Counter

import numpy as np
import pyarrow.parquet as pq
import pytest

from corpus.loader import PackedSequences


def corpus_tokens(out, eos: int, weights=None) -> Counter:
    """Every token a full epoch must yield: each document's tokens and one EOS, times its source weight."""
    counts: Counter = Counter()
    for row in pq.read_table(out / "shards", columns=["source", "tokens"]).to_pylist():
        times = (weights or {}).get(row["source"], 1)
        counts.update((row["tokens"] + [eos]) * times)
    return counts


def streams(out, world_size: int, num_workers: int, **kw):
    return {(r, w): list(PackedSequences(str(out), 64, rank=r, world_size=world_size, worker=w,
                                         num_workers=num_workers, **kw))
            for r in range(world_size) for w in range(num_workers)}


def test_every_token_exactly_once_per_epoch_across_ranks_and_workers(sample_out):
    eos = json.loads((sample_out / "manifest.json").read_text())["tokenizer"]["eos_id"]
    got = streams(sample_out, world_size=2, num_workers=2)
    assert all(len(s) > 0 for s in got.values())
    seen: Counter = Counter()
    for seqs in got.values():
        assert all(len(q) == 65 for q in seqs[:-1])     # fixed length; only a stream's last one is shorter
        for q in seqs:
            seen.update(q.tolist())
    assert seen == corpus_tokens(sample_out, eos)


def test_two_ranks_never_see_the_same_sequence(sample_out):
    # Only the sources the sample's mix did not repeat: repeated epochs of a document may legitimately produce
    # equal windows, and this test is about the loader, not the mix.
    no_repeats = {"web": 0, "books": 0, "articles": 0}
    got = streams(sample_out, world_size=2, num_workers=1, weights=no_repeats)
    rank0 = {tuple(q) for q in got[(0, 0)]}
    rank1 = {tuple(q) for q in got[(1, 0)]}
    assert rank0 and rank1 and not rank0 & rank1


def test_resume_yields_exactly_what_an_uninterrupted_run_yields(sample_out):
    full = list(PackedSequences(str(sample_out), 32, seed=3, epochs=2))
    first = PackedSequences(str(sample_out), 32, seed=3, epochs=2)
    head = list(itertools.islice(iter(first), 37))
    state = json.loads(json.dumps(first.state_dict()))   # a checkpoint survives serialisation
    resumed = PackedSequences(str(sample_out), 32, seed=3, epochs=2)
    resumed.load_state_dict(state)
    tail = list(resumed)
    assert len(head) + len(tail) == len(full)
    assert all(np.array_equal(a, b) for a, b in zip(head + tail, full))


def test_resume_across_an_epoch_boundary(sample_out):
    full = list(PackedSequences(str(sample_out), 500, seed=1, epochs=3))
    per_epoch = len(full) // 3
    first = PackedSequences(str(sample_out), 500, seed=1, epochs=3)
    head = list(itertools.islice(iter(first), per_epoch + 1))
    resumed = PackedSequences(str(sample_out), 500, seed=1, epochs=3)
    resumed.load_state_dict(first.state_dict())
    assert all(np.array_equal(a, b) for a, b in zip(head + list(resumed), full))


def test_epochs_reshuffle_and_seeds_differ(sample_out):
    a = list(PackedSequences(str(sample_out), 64, seed=0, epochs=2))
    half = len(a) // 2
    assert not all(np.array_equal(x, y) for x, y in zip(a[:half], a[half:]))
    b = list(PackedSequences(str(sample_out), 64, seed=1))
    assert not all(np.array_equal(x, y) for x, y in zip(a[:half], b))


def test_source_weights_drop_or_repeat_at_load_time(sample_out):
    eos = json.loads((sample_out / "manifest.json").read_text())["tokenizer"]["eos_id"]
    weights = {"web": 0, "books": 2}
    seen: Counter = Counter()
    for q in PackedSequences(str(sample_out), 64, weights=weights):
        seen.update(q.tolist())
    assert seen == corpus_tokens(sample_out, eos, weights)


def test_torch_wrapper_yields_long_tensors(sample_out):
    torch = pytest.importorskip("torch", reason="torch is an optional extra (pip install '.[torch]')")
    from corpus.loader import torch_dataset

    loader = torch.utils.data.DataLoader(torch_dataset(str(sample_out), 64, drop_last=True), batch_size=4)
    batch = next(iter(loader))
    assert batch.dtype == torch.int64 and tuple(batch.shape) == (4, 65)
