"""Blocks passed between steps through files (pipelines/blocks.py): what a step reads back is what was written,
in the order of the references it was given, from several files at once."""

from __future__ import annotations

import numpy as np
import pytest

from corpus.dedup.partitioned import BandBlock, KeyBlock
from pipelines.blocks import BlockRef, read_blocks, write_blocks


def key_block(start: int, k: int) -> KeyBlock:
    numbers = np.arange(start, start + k, dtype=np.int64)
    return KeyBlock(numbers, np.full((k, 16), start % 251, np.uint8), numbers % 3, np.ones(k, np.int64),
                    [f"web/part-{start:05d}.jsonl#{i}" for i in range(k)])


def same(a, b) -> bool:
    return type(a) is type(b) and all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
                                      for x, y in zip(a, b))


def test_references_read_back_their_own_blocks_in_the_order_given(tmp_path):
    first = [(p, key_block(100 * p, p + 1)) for p in range(5)]
    second = [((b, 0), BandBlock(np.arange(b, b + 3, dtype=np.int64), np.full(3, 2**63 + b, np.uint64)))
              for b in range(3)]
    refs = write_blocks(str(tmp_path / "a.bin"), first) + write_blocks(str(tmp_path / "b.bin"), second)
    assert [key for key, _ in refs] == [key for key, _ in first + second]
    # One partition's references arrive in any order, mixed across files.
    order = [6, 0, 3, 7, 1, 5, 4, 2]
    got = read_blocks(refs[i][1] for i in order)
    want = [(first + second)[i][1] for i in order]
    assert all(same(g, w) for g, w in zip(got, want)) and len(got) == len(want)
    assert read_blocks([]) == []


def test_nothing_to_write_writes_no_file(tmp_path):
    assert write_blocks(str(tmp_path / "none.bin"), []) == []
    assert not (tmp_path / "none.bin").exists()


def test_a_file_cut_short_is_an_error_not_a_shorter_block(tmp_path):
    path = tmp_path / "a.bin"
    [(_, ref)] = write_blocks(str(path), [(0, key_block(0, 50))])
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(IOError, match="bytes at 0"):
        read_blocks([ref])
    assert ref == BlockRef(str(path), 0, ref.length)
