"""Stream an output directory into training as fixed-length packed token sequences.

    from corpus.loader import PackedSequences
    data = PackedSequences("out", seq_len=2048, seed=0, rank=rank, world_size=world, worker=w, num_workers=nw)
    for seq in data:            # numpy int32 arrays of seq_len + 1 tokens (inputs = seq[:-1], targets = seq[1:])
        ...
    state = data.state_dict()   # later: PackedSequences(...).load_state_dict(state) resumes exactly there

Documents are concatenated with EOS after each one and cut into consecutive windows of `seq_len + 1` tokens, so
every token appears exactly once per epoch over all streams together (the last window of a stream is shorter
unless `drop_last`). The work unit is a Parquet row group (split into interleaved row slices when there are fewer
row groups than streams): units are shuffled per (seed, epoch) and dealt to the streams (rank x dataloader worker)
round-robin, so streams never share a unit and each reads only its own; rows inside a unit are shuffled per epoch.
`weights` re-weights sources at load time: a document of a source with weight w is taken floor(w) times, plus
once more when hash(seed, epoch, id) falls under the fraction (0 drops the source).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Iterator

import numpy as np
import pyarrow.parquet as pq


def _hash(*parts: object) -> int:
    text = "\x00".join(str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


@dataclass
class LoaderState:
    epoch: int = 0
    unit: int = 0                 # index into this stream's units for the epoch
    row: int = 0                  # next row of that unit (in the epoch's shuffled order)
    carry: list[int] = field(default_factory=list)   # tokens read but not yet yielded (numpy while iterating)
    sequences: int = 0            # sequences yielded so far (for the caller's bookkeeping)


class PackedSequences:
    """An iterable of packed sequences from one output directory; see the module docstring."""

    def __init__(self, out_dir: str, seq_len: int, *, seed: int = 0, rank: int = 0, world_size: int = 1,
                 worker: int = 0, num_workers: int = 1, weights: dict[str, float] | None = None,
                 epochs: int | None = 1, drop_last: bool = False, eos_id: int | None = None):
        if seq_len < 1:
            raise ValueError("seq_len must be >= 1")
        if not 0 <= rank < world_size or not 0 <= worker < num_workers:
            raise ValueError("need 0 <= rank < world_size and 0 <= worker < num_workers")
        self.out_dir = out_dir
        self.seq_len = seq_len
        self.seed = seed
        self.stream = rank * num_workers + worker
        self.streams = world_size * num_workers
        self.weights = dict(weights or {})
        self.epochs = epochs
        self.drop_last = drop_last
        with open(os.path.join(out_dir, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        tokenizer = manifest.get("tokenizer") or {}
        self.eos_id = eos_id if eos_id is not None else tokenizer.get("eos_id")
        if self.eos_id is None:
            raise ValueError("no eos_id in the manifest: pass eos_id=")
        groups: list[tuple[str, int]] = []
        for shard in sorted(manifest["shards"], key=lambda s: s["path"]):
            if shard["rows"]:
                path = os.path.join(out_dir, shard["path"])
                groups += [(shard["path"], rg) for rg in range(pq.ParquetFile(path).metadata.num_row_groups)]
        # Fewer row groups than streams: each is read by several streams, each taking every k-th row.
        slices = max(1, math.ceil(self.streams / max(1, len(groups))))
        self._units: list[tuple[str, int, int, int]] = [(p, rg, k, slices) for p, rg in groups for k in range(slices)]
        self._state = LoaderState()

    # -- state
    def state_dict(self) -> dict:
        state = asdict(self._state)
        state["carry"] = np.asarray(state["carry"], dtype=np.int64).tolist()
        return state

    def load_state_dict(self, state: dict) -> None:
        self._state = LoaderState(**{**state, "carry": list(state.get("carry", []))})

    # -- iteration
    def units_for_epoch(self, epoch: int) -> list[tuple[str, int, int, int]]:
        order = sorted(self._units, key=lambda u: (_hash("unit", self.seed, epoch, *u), u))
        return order[self.stream::self.streams]

    def _copies(self, source: str, doc_id: str, epoch: int) -> int:
        weight = self.weights.get(source, 1.0)
        whole = math.floor(weight)
        fraction = weight - whole
        return whole + (1 if fraction and _hash("weight", self.seed, epoch, doc_id) < fraction * 2**64 else 0)

    def _rows(self, unit: tuple[str, int, int, int], epoch: int):
        """The unit's rows as (ids, sources, offsets, values, order): `order` lists row indexes in the epoch's
        shuffled order (this slice's rows only)."""
        path, rg, k, slices = unit
        table = pq.ParquetFile(os.path.join(self.out_dir, path)).read_row_group(rg, columns=["id", "source", "tokens"])
        tokens = table.column("tokens").combine_chunks()
        offsets = tokens.offsets.to_numpy()
        values = tokens.values.to_numpy().astype(np.int32)
        ids = table.column("id").to_pylist()
        order = sorted(range(k, len(ids), slices), key=lambda j: (_hash("row", self.seed, epoch, ids[j]), j))
        return ids, table.column("source").to_pylist(), offsets, values, order

    def __iter__(self) -> Iterator[np.ndarray]:
        state = self._state
        window = self.seq_len + 1
        while self.epochs is None or state.epoch < self.epochs:
            units = self.units_for_epoch(state.epoch)
            buffer = np.asarray(state.carry, dtype=np.int32)
            while state.unit < len(units):
                ids, sources, offsets, values, order = self._rows(units[state.unit], state.epoch)
                while state.row < len(order):
                    j = order[state.row]
                    doc = values[offsets[j]:offsets[j + 1]]
                    copies = self._copies(sources[j], ids[j], state.epoch)
                    state.row += 1
                    if copies:
                        piece = np.concatenate([doc, np.array([self.eos_id], dtype=np.int32)])
                        buffer = np.concatenate([buffer] + [piece] * copies)
                    while len(buffer) >= window:
                        seq, buffer = buffer[:window], buffer[window:]
                        state.carry = buffer
                        state.sequences += 1
                        yield seq
                    state.carry = buffer
                state.unit += 1
                state.row = 0
            # End of this stream's epoch: the remainder is shorter than a window.
            state.epoch, state.unit, state.row, state.carry = state.epoch + 1, 0, 0, []
            if len(buffer) and not self.drop_last:
                state.sequences += 1
                yield buffer


def torch_dataset(out_dir: str, seq_len: int, **kwargs):
    """A `torch.utils.data.IterableDataset` over PackedSequences that takes its dataloader worker from torch and
    its rank from torch.distributed when initialised (requires torch: `pip install torch`)."""
    import torch
    from torch.utils.data import IterableDataset, get_worker_info

    class PackedDataset(IterableDataset):
        def __iter__(self):
            info = get_worker_info()
            options = dict(kwargs)
            if info is not None:
                options.update(worker=info.id, num_workers=info.num_workers)
            if torch.distributed.is_available() and torch.distributed.is_initialized() and "rank" not in kwargs:
                options.update(rank=torch.distributed.get_rank(), world_size=torch.distributed.get_world_size())
            for seq in PackedSequences(out_dir, seq_len, **options):
                yield torch.from_numpy(seq.astype(np.int64))

    return PackedDataset()
