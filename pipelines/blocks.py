"""Large records between two steps through the work directory: the shuffle moves where a block is, not the block.

Every runner's shuffle holds what it moves in memory somewhere. The local runner's driver holds all of it (the
dedup bench at 6M documents: 13.5 GB), and a Dask worker holds it until it spills; Dask counts a block once for
every list that refers to it, so spilling one list freed nothing and at 20M documents the workers paused at their
limit for good. The dedup steps' blocks grow with the corpus (the 32 band hashes alone are 512 B a document), so a
step writes each element's blocks into one file and the shuffle carries (file, offset, length) references; the
partition that groups them reads back its own blocks only. A retried element rewrites the same bytes whole.
"""

from __future__ import annotations

import pickle
from collections import defaultdict
from typing import Any, Iterable, NamedTuple

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipelines.workdir import write_bytes


class BlockRef(NamedTuple):
    """Where one block lies: `length` bytes at `offset` of `path`."""

    path: str
    offset: int
    length: int


def write_blocks(path: str, keyed: Iterable[tuple[Any, Any]]) -> list[tuple[Any, BlockRef]]:
    """(key, block) pairs -> the same keys with references to their blocks, all written to `path` at once."""
    chunks: list[bytes] = []
    refs: list[tuple[Any, BlockRef]] = []
    offset = 0
    for key, block in keyed:
        data = pickle.dumps(block, protocol=pickle.HIGHEST_PROTOCOL)
        refs.append((key, BlockRef(path, offset, len(data))))
        chunks.append(data)
        offset += len(data)
    if refs:
        write_bytes(path, b"".join(chunks))
    return refs


def read_blocks(refs: Iterable[BlockRef]) -> list[Any]:
    """The blocks of `refs`, in their order; each file is opened once and read only where its blocks are."""
    refs = list(refs)
    by_path: dict[str, list[int]] = defaultdict(list)
    for at, ref in enumerate(refs):
        by_path[ref.path].append(at)
    blocks: list[Any] = [None] * len(refs)
    for path, ats in by_path.items():
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            for at in sorted(ats, key=lambda i: refs[i].offset):
                f.seek(refs[at].offset)
                data = f.read(refs[at].length)
                if len(data) != refs[at].length:
                    raise IOError(f"{path}: {len(data)} of {refs[at].length} bytes at {refs[at].offset}")
                blocks[at] = pickle.loads(data)
    return blocks
