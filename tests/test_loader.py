"""corpus.loader on the bundled sample's output: coverage, full-length sequences, disjoint streams, resume,
weights, S3, and the torch dataset and resumable DataLoader (the README snippets run as written)."""

from __future__ import annotations

import itertools
import json
import os
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from corpus.loader import PackedSequences
from test_remote import s3_server  # noqa: F401  (fixture: a local moto S3 server)

README = Path(__file__).resolve().parents[1] / "README.md"


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


def readme_snippets() -> list[str]:
    """The python blocks of the README section "Stream shards into training"."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("Stream shards into training"):]
    section = section[:section.index("\nOn a terminal")]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_every_token_exactly_once_per_epoch_without_drop_last(sample_out):
    eos = json.loads((sample_out / "manifest.json").read_text())["tokenizer"]["eos_id"]
    got = streams(sample_out, world_size=2, num_workers=2, drop_last=False)
    assert all(len(s) > 0 for s in got.values())
    seen: Counter = Counter()
    for seqs in got.values():
        assert all(len(q) == 65 for q in seqs[:-1])     # fixed length; only a stream's last one is shorter
        for q in seqs:
            seen.update(q.tolist())
    assert seen == corpus_tokens(sample_out, eos)


def test_by_default_every_sequence_is_full_length_and_only_each_streams_tail_is_dropped(sample_out):
    kept = streams(sample_out, world_size=1, num_workers=3)
    every = streams(sample_out, world_size=1, num_workers=3, drop_last=False)
    for key, seqs in kept.items():
        assert seqs and all(len(q) == 65 for q in seqs)
        assert len(every[key][-1]) < 65
        assert len(seqs) == len(every[key]) - 1
        assert all(np.array_equal(a, b) for a, b in zip(seqs, every[key]))


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
    assert state["sequences"] == 37
    resumed = PackedSequences(str(sample_out), 32, seed=3, epochs=2)
    resumed.load_state_dict(state)
    tail = list(resumed)
    assert len(head) + len(tail) == len(full)
    assert all(np.array_equal(a, b) for a, b in zip(head + tail, full))


def test_resume_across_an_epoch_boundary(sample_out):
    full = list(PackedSequences(str(sample_out), 500, seed=1, epochs=3, drop_last=False))
    per_epoch = len(full) // 3
    first = PackedSequences(str(sample_out), 500, seed=1, epochs=3, drop_last=False)
    head = list(itertools.islice(iter(first), per_epoch + 1))
    resumed = PackedSequences(str(sample_out), 500, seed=1, epochs=3, drop_last=False)
    resumed.load_state_dict(first.state_dict())
    assert all(np.array_equal(a, b) for a, b in zip(head + list(resumed), full))


def test_a_state_of_another_shape_is_refused(sample_out):
    data = PackedSequences(str(sample_out), 32)
    with pytest.raises(ValueError, match="not a PackedSequences state"):
        data.load_state_dict({"epoch": 0, "unit": 0, "row": 0, "carry": [], "sequences": 0})


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
    for q in PackedSequences(str(sample_out), 64, weights=weights, drop_last=False):
        seen.update(q.tolist())
    assert seen == corpus_tokens(sample_out, eos, weights)


def test_a_folder_without_manifest_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path}: no manifest.json"):
        PackedSequences(str(tmp_path), 64)


def test_reads_an_output_on_s3(sample_out, s3_server, monkeypatch):  # noqa: F811
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    s3.create_bucket(Bucket="corpus-out")
    for path in sample_out.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), "corpus-out", f"run/{path.relative_to(sample_out)}")
    host = s3_server.removeprefix("http://")
    remote = list(PackedSequences(f"s3://corpus-out/run?endpoint_override={host}&scheme=http&region=us-east-1",
                                  64, seed=2, num_workers=2, worker=1))
    local = list(PackedSequences(str(sample_out), 64, seed=2, num_workers=2, worker=1))
    assert len(remote) == len(local) > 10
    assert all(np.array_equal(a, b) for a, b in zip(remote, local))


# -- torch

def test_plain_dataloader_with_two_workers_batches_full_length_sequences(sample_out):
    torch = pytest.importorskip("torch", reason="torch is an optional extra (pip install '.[torch]')")
    from corpus.loader import torch_dataset

    loader = torch.utils.data.DataLoader(torch_dataset(str(sample_out), 64), batch_size=8, num_workers=2)
    batches = list(loader)
    assert len(batches) > 4
    assert all(b.dtype == torch.int64 and b.shape[1] == 65 for b in batches)


def test_readme_snippets_run_as_written(sample_out, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch", reason="torch is an optional extra (pip install '.[torch]')")
    from corpus.loader import ResumableDataLoader

    numpy_snippet, torch_snippet = readme_snippets()
    os.symlink(sample_out, tmp_path / "out")
    monkeypatch.chdir(tmp_path)
    exec(numpy_snippet, {})
    names: dict = {}
    exec(torch_snippet, names)
    assert names["step"] == 100 and names["batch"].dtype == torch.int64
    assert tuple(names["batch"].shape) == (8, 2049)
    uninterrupted = list(itertools.islice(ResumableDataLoader(names["dataset"], batch_size=8, num_workers=2), 103))
    assert torch.equal(uninterrupted[100], names["batch"])
    resumed = list(itertools.islice(names["resumed"], 2))
    assert torch.equal(resumed[0], uninterrupted[101]) and torch.equal(resumed[1], uninterrupted[102])


def resumable_batches(sample_out, state=None, **kw):
    """Every batch of a 3-worker ResumableDataLoader over two epochs of uneven streams (4 units for 3 streams),
    with the loader's state after each batch."""
    from corpus.loader import ResumableDataLoader, torch_dataset

    loader = ResumableDataLoader(torch_dataset(str(sample_out), 64, seed=5, epochs=2), batch_size=3,
                                 num_workers=3, **kw)
    if state is not None:
        loader.load_state_dict(state)
    return [(batch, json.loads(json.dumps(loader.state_dict()))) for batch in loader]


@pytest.mark.filterwarnings("ignore:This DataLoader will create 3 worker processes")
def test_resumable_loader_resumes_exactly_after_any_batch(sample_out):
    torch = pytest.importorskip("torch", reason="torch is an optional extra (pip install '.[torch]')")
    lengths = [len(list(PackedSequences(str(sample_out), 64, seed=5, epochs=2, worker=w, num_workers=3)))
               for w in range(3)]
    assert len(set(lengths)) == 3      # the streams end at different batches, most on a partial one
    full = resumable_batches(sample_out)
    assert len(full) == sum(-(-n // 3) for n in lengths)
    # Every fourth batch covers all three workers in turn, before and after each stream has ended.
    for k in [*range(0, len(full) - 1, 4), len(full) - 2]:
        rest = resumable_batches(sample_out, state=full[k][1])
        assert len(rest) == len(full) - k - 1, k
        assert all(torch.equal(a, b) for (a, _), (b, _) in zip(rest, full[k + 1:])), k


def test_resumable_loader_refuses_a_state_from_another_worker_count(sample_out):
    pytest.importorskip("torch", reason="torch is an optional extra (pip install '.[torch]')")
    from corpus.loader import ResumableDataLoader, torch_dataset

    loader = ResumableDataLoader(torch_dataset(str(sample_out), 64), batch_size=4, num_workers=1)
    with pytest.raises(ValueError, match="num_workers=3, this loader has 1"):
        loader.load_state_dict({"num_workers": 3, "next_worker": 0, "workers": [None, None, None]})


def test_resumable_loader_works_with_spawned_workers(sample_out):
    torch = pytest.importorskip("torch", reason="torch is an optional extra (pip install '.[torch]')")
    from corpus.loader import ResumableDataLoader, torch_dataset

    loader = ResumableDataLoader(torch_dataset(str(sample_out), 64), batch_size=4, num_workers=1,
                                 multiprocessing_context="spawn")
    first = next(iter(loader))
    assert first.dtype == torch.int64 and tuple(first.shape) == (4, 65)
    assert loader.state_dict()["workers"][0]["sequences"] == 4
