"""Stream an output directory into training as fixed-length packed token sequences.

    from corpus.loader import PackedSequences
    data = PackedSequences("out", seq_len=2048, seed=0, rank=rank, world_size=world, worker=w, num_workers=nw)
    for seq in data:            # numpy int32 arrays of seq_len + 1 tokens (inputs = seq[:-1], targets = seq[1:])
        ...
    state = data.state_dict()   # later: PackedSequences(...).load_state_dict(state) resumes exactly there

Documents are concatenated with EOS after each one and cut into consecutive windows of `seq_len + 1` tokens.
Every window is full length: a stream's shorter last window of an epoch is dropped (`drop_last=True`, what most
trainers do), or with `drop_last=False` yielded as it is, so that every token appears exactly once per epoch over
all streams together. The work unit is a Parquet row group (split into interleaved row slices when there are
fewer row groups than streams): units are shuffled per (seed, epoch) and dealt to the streams (rank x dataloader
worker) round-robin, so streams never share a unit and each reads only its own; rows inside a unit are shuffled
per epoch. `weights` re-weights sources at load time: a document of a source with weight w is taken floor(w)
times, plus once more when hash(seed, epoch, id) falls under the fraction (0 drops the source).

The output may be a local path or any URI `pyarrow.fs.FileSystem.from_uri` opens: `s3://bucket/run` (options
such as `?endpoint_override=host:port&scheme=http` for S3-compatible stores), `gs://bucket/run`.

With torch, `torch_dataset()` is the `IterableDataset` and `ResumableDataLoader` the `DataLoader` that checkpoints
through its workers; see `ResumableDataLoader`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, fields
from typing import Iterator

import numpy as np
import pyarrow.fs as pafs
import pyarrow.parquet as pq


def _hash(*parts: object) -> int:
    text = "\x00".join(str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def output_filesystem(out_dir: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem holding an output and the output's path on it."""
    if "://" in out_dir:
        return pafs.FileSystem.from_uri(out_dir)
    return pafs.LocalFileSystem(), os.path.abspath(out_dir)


@dataclass
class LoaderState:
    """A stream's position: the next sequence starts at token `offset` of row `row` of unit `unit` (the row's
    tokens, EOS and weight copies together). Sequences end exactly at the position, so no tokens are carried."""

    epoch: int = 0
    unit: int = 0                 # index into this stream's units for the epoch
    row: int = 0                  # row of that unit, in the epoch's shuffled order
    offset: int = 0
    sequences: int = 0            # sequences yielded so far (for the caller's bookkeeping)


class PackedSequences:
    """An iterable of packed sequences from one output directory; see the module docstring."""

    def __init__(self, out_dir: str, seq_len: int, *, seed: int = 0, rank: int = 0, world_size: int = 1,
                 worker: int = 0, num_workers: int = 1, weights: dict[str, float] | None = None,
                 epochs: int | None = 1, drop_last: bool = True, eos_id: int | None = None):
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
        self._fs, self._root = output_filesystem(out_dir)
        try:
            with self._fs.open_input_stream(f"{self._root}/manifest.json") as f:
                manifest = json.loads(f.read())
        except FileNotFoundError:
            raise FileNotFoundError(f"{out_dir}: no manifest.json (not a finished corpus output)") from None
        tokenizer = manifest.get("tokenizer") or {}
        if tokenizer.get("enabled") is False:
            raise ValueError(f"{out_dir}: a text-only output (tokenizer.enabled: false) has no tokens to load")
        self.eos_id = eos_id if eos_id is not None else tokenizer.get("eos_id")
        if self.eos_id is None:
            raise ValueError("no eos_id in the manifest: pass eos_id=")
        groups: list[tuple[str, int]] = []
        for shard in sorted(manifest["shards"], key=lambda s: s["path"]):
            if shard["rows"]:
                row_groups = self._parquet(shard["path"]).metadata.num_row_groups
                groups += [(shard["path"], rg) for rg in range(row_groups)]
        # Fewer row groups than streams: each is read by several streams, each taking every k-th row.
        slices = max(1, math.ceil(self.streams / max(1, len(groups))))
        self._units: list[tuple[str, int, int, int]] = [(p, rg, k, slices) for p, rg in groups for k in range(slices)]
        self._state = LoaderState()

    # -- state
    def state_dict(self) -> dict:
        return asdict(self._state)

    def load_state_dict(self, state: dict) -> None:
        names = {f.name for f in fields(LoaderState)}
        if set(state) != names:
            raise ValueError(f"not a PackedSequences state: expected keys {sorted(names)}, got {sorted(state)}")
        self._state = LoaderState(**state)

    # -- iteration
    def units_for_epoch(self, epoch: int) -> list[tuple[str, int, int, int]]:
        order = sorted(self._units, key=lambda u: (_hash("unit", self.seed, epoch, *u), u))
        return order[self.stream::self.streams]

    def _parquet(self, path: str) -> pq.ParquetFile:
        return pq.ParquetFile(self._fs.open_input_file(f"{self._root}/{path}"))

    def _copies(self, source: str, doc_id: str, epoch: int) -> int:
        weight = self.weights.get(source, 1.0)
        whole = math.floor(weight)
        fraction = weight - whole
        return whole + (1 if fraction and _hash("weight", self.seed, epoch, doc_id) < fraction * 2**64 else 0)

    def _rows(self, unit: tuple[str, int, int, int], epoch: int):
        """The unit's rows as (ids, sources, offsets, values, order): `order` lists row indexes in the epoch's
        shuffled order (this slice's rows only)."""
        path, rg, k, slices = unit
        table = self._parquet(path).read_row_group(rg, columns=["id", "source", "tokens"])
        tokens = table.column("tokens").combine_chunks()
        offsets = tokens.offsets.to_numpy()
        values = tokens.values.to_numpy().astype(np.int32)
        ids = table.column("id").to_pylist()
        order = sorted(range(k, len(ids), slices), key=lambda j: (_hash("row", self.seed, epoch, ids[j]), j))
        return ids, table.column("source").to_pylist(), offsets, values, order

    def __iter__(self) -> Iterator[np.ndarray]:
        state = self._state
        window = self.seq_len + 1
        eos = np.array([self.eos_id], dtype=np.int32)
        while self.epochs is None or state.epoch < self.epochs:
            units = self.units_for_epoch(state.epoch)
            parts: list[np.ndarray] = []      # the sequence being filled: empty whenever one is yielded
            filled = 0
            while state.unit < len(units):
                ids, sources, offsets, values, order = self._rows(units[state.unit], state.epoch)
                while state.row < len(order):
                    j = order[state.row]
                    piece = np.tile(np.concatenate([values[offsets[j]:offsets[j + 1]], eos]),
                                    self._copies(sources[j], ids[j], state.epoch))
                    while state.offset < len(piece):
                        take = piece[state.offset:state.offset + window - filled]
                        parts.append(take)
                        filled += len(take)
                        state.offset += len(take)
                        if filled == window:
                            seq, parts, filled = np.concatenate(parts), [], 0
                            state.sequences += 1
                            yield seq
                    state.row, state.offset = state.row + 1, 0
                state.unit, state.row = state.unit + 1, 0
            # End of this stream's epoch: what is left is shorter than a sequence.
            state.epoch, state.unit, state.row, state.offset = state.epoch + 1, 0, 0, 0
            if filled and not self.drop_last:
                state.sequences += 1
                yield np.concatenate(parts)


def torch_dataset(out_dir: str, seq_len: int, **kwargs):
    """A `torch.utils.data.IterableDataset` of int64 tensors over PackedSequences (same keyword arguments), taking
    its dataloader worker from torch and, unless `rank` is given, its rank from torch.distributed when initialised
    (requires torch: `pip install -e '.[torch]'`)."""
    return _torch_class("TorchPackedDataset")(out_dir, seq_len, kwargs)


class _CollateKeepingState:
    """Collates (sequence, position) items into (collated batch, position after the batch's last item), so that
    a worker's position travels with its batch (torchdata's StatefulDataLoader also sends one per batch)."""

    def __init__(self, collate):
        self.collate = collate

    def __call__(self, items):
        return self.collate([seq for seq, _ in items]), items[-1][1]


def _torch_classes() -> dict[str, type]:
    try:
        import torch
        from torch.utils.data import DataLoader, IterableDataset, default_collate, get_worker_info
    except ImportError as e:
        raise ImportError("the torch loader needs torch: pip install -e '.[torch]'") from e

    class TorchPackedDataset(IterableDataset):
        """PackedSequences as int64 tensors for a DataLoader; made by torch_dataset()."""

        def __init__(self, out_dir: str, seq_len: int, options: dict):
            PackedSequences(out_dir, seq_len, **options)    # a bad argument fails here, not in every worker
            self.out_dir, self.seq_len, self.options = out_dir, seq_len, options
            self.with_state = False     # ResumableDataLoader's copy yields (sequence, (stream, state)) items
            self.resume = None          # (state per stream, rotation) for the next iterator only

        def __iter__(self):
            # Not a generator: the resume state is taken when the DataLoader asks for the iterator.
            info = get_worker_info()
            worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
            states, rotation = self.resume or ([None] * workers, 0)
            self.resume = None          # a persistent worker's next iterator starts from the beginning
            stream = (worker + rotation) % workers
            options = {**self.options, "worker": stream, "num_workers": workers}
            if "rank" not in options and torch.distributed.is_available() and torch.distributed.is_initialized():
                options.update(rank=torch.distributed.get_rank(), world_size=torch.distributed.get_world_size())
            data = PackedSequences(self.out_dir, self.seq_len, **options)
            if states[stream] is not None:
                data.load_state_dict(states[stream])
            return self._items(data, stream)

        def _items(self, data: PackedSequences, stream: int):
            for seq in data:
                tensor = torch.from_numpy(seq.astype(np.int64))
                yield (tensor, (stream, data.state_dict())) if self.with_state else tensor

    class ResumableDataLoader(DataLoader):
        """A DataLoader over torch_dataset() with state_dict()/load_state_dict(): a new loader given the state saved
        after any batch yields exactly the batches that would have come next.

        With workers, each holds its own stream: its position comes back with each of its batches (after the
        batch's last sequence) and the loader keeps the latest per worker, plus which worker was due next.
        DataLoader asks workers for batches round-robin from worker 0, so a resumed loader hands worker w the
        stream of worker (w + due) % num_workers. Each rank saves its own state; resume with the same
        num_workers (any batch_size)."""

        def __init__(self, dataset, batch_size: int = 1, *, collate_fn=None, **kwargs):
            if not isinstance(dataset, TorchPackedDataset):
                raise TypeError("ResumableDataLoader reads a torch_dataset(...)")
            if batch_size is None or not kwargs.get("in_order", True):
                raise ValueError("ResumableDataLoader needs a batch_size and in_order=True (it restores the order)")
            dataset = copy.copy(dataset)    # the caller's dataset keeps yielding plain tensors
            dataset.with_state = True
            super().__init__(dataset, batch_size, collate_fn=_CollateKeepingState(collate_fn or default_collate),
                             **kwargs)
            self._streams = max(1, self.num_workers)
            self._positions: list[dict | None] = [None] * self._streams
            self._due = 0
            self._resuming = False

        def state_dict(self) -> dict:
            return {"num_workers": self._streams, "next_worker": self._due, "workers": list(self._positions)}

        def load_state_dict(self, state: dict) -> None:
            if state.get("num_workers") != self._streams:
                raise ValueError(f"state saved with num_workers={state.get('num_workers')}, this loader has "
                                 f"{self._streams}: resume with the same num_workers")
            if self.persistent_workers and self._iterator is not None:
                raise RuntimeError("load_state_dict() must come before the first batch with persistent_workers")
            self._positions, self._due, self._resuming = list(state["workers"]), state["next_worker"], True

        def __iter__(self):
            if not self._resuming:      # like a DataLoader, a new iterator starts from the beginning
                self._positions, self._due = [None] * self._streams, 0
            self.dataset.resume = (list(self._positions), self._due)
            batches = super().__iter__()    # workers start here, each with its own copy of the dataset
            self.dataset.resume, self._resuming = None, False
            return self._tracked(batches)

        def _tracked(self, batches):
            for batch, (stream, position) in batches:
                self._positions[stream] = position
                self._due = (stream + 1) % self._streams
                yield batch

    for cls in (TorchPackedDataset, ResumableDataLoader):
        cls.__qualname__ = cls.__name__     # pickled by module-level name (DataLoader workers started by spawn)
    return {"TorchPackedDataset": TorchPackedDataset, "ResumableDataLoader": ResumableDataLoader}


def _torch_class(name: str) -> type:
    if name not in globals():
        globals().update(_torch_classes())
    return globals()[name]


def __getattr__(name: str):
    # PEP 562: the torch classes are made on first use, so this module imports without torch.
    if name in ("TorchPackedDataset", "ResumableDataLoader"):
        return _torch_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
