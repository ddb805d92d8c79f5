"""`corpus export`: the shards' token stream in the formats trainers read (SPEC §4, issue 16).

- `megatron`: Megatron-LM's indexed dataset, what `megatron.core.datasets.indexed_dataset.IndexedDataset(prefix)`
  reads and `tools/preprocess_data.py --append-eod` writes: `PREFIX.bin` holds every document's tokens followed by
  EOS, back to back; `PREFIX.idx` is the `MMIDIDX` index (header, version 1, dtype code, sequence and document
  counts, then int32 sequence lengths, int64 byte pointers and the int64 document index). One sequence per
  document. `by_source` writes one prefix per source (`<source>_text_document`), for a Megatron blend string.
- `memmap`: nanoGPT/OLMo style, `tokens.bin` (the same flat little-endian stream, EOS after every document) and
  `meta.json` (`dtype`, `eos_id`, `n_tokens`, `n_docs`, `vocab_size`, `tokenizer_sha256`): `numpy.memmap` reads it.

Documents come in the shards' order (manifest order, rows as written: already shuffled by the run), a batch of
rows at a time: memory does not grow with the corpus but for 12 bytes of index per document. Files are written
under temporary names and renamed when complete.
"""

from __future__ import annotations

import json
import os
import re
import struct
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pyarrow.parquet as pq

from corpus.loader import output_filesystem

FORMATS = ("megatron", "memmap")
MEGATRON_HEADER = b"MMIDIDX\x00\x00"
# megatron.core.datasets.indexed_dataset.DType
MEGATRON_DTYPE_CODES = {np.dtype(np.uint8): 1, np.dtype(np.int8): 2, np.dtype(np.int16): 3, np.dtype(np.int32): 4,
                        np.dtype(np.int64): 5, np.dtype(np.float64): 6, np.dtype(np.float32): 7,
                        np.dtype(np.uint16): 8}
BATCH_ROWS = 4096


class ExportError(Exception):
    """An output that cannot be exported (no manifest, no tokens); the message is one line for the user."""


@dataclass
class Batch:
    sources: list[str]
    tokens: np.ndarray        # every row's tokens followed by EOS, concatenated
    lengths: np.ndarray       # tokens per row, EOS included (int64)


@dataclass
class Exported:
    files: list[str]
    n_docs: int
    n_tokens: int             # EOS included


def _manifest(out_dir: str):
    fs, root = output_filesystem(out_dir)
    try:
        with fs.open_input_stream(f"{root}/manifest.json") as f:
            manifest = json.loads(f.read())
    except FileNotFoundError:
        raise ExportError(f"{out_dir}: no manifest.json (not a finished corpus output)") from None
    tokenizer = manifest.get("tokenizer") or {}
    if tokenizer.get("enabled") is False or not tokenizer.get("dtype"):
        raise ExportError(f"{out_dir}: the shards hold no tokens (a text-only run, or no document survived); "
                          "nothing to export")
    if tokenizer.get("eos_id") is None:
        raise ExportError(f"{out_dir}: the tokenizer has no end-of-document token to put between documents")
    return fs, root, manifest


def batches(out_dir: str) -> Iterator[Batch]:
    """Every document of the output with EOS appended, in shard order, a batch of rows at a time."""
    fs, root, manifest = _manifest(out_dir)
    tokenizer = manifest["tokenizer"]
    dtype, eos = np.dtype(tokenizer["dtype"]), tokenizer["eos_id"]
    for shard in sorted(manifest["shards"], key=lambda s: s["path"]):
        with fs.open_input_file(f"{root}/{shard['path']}") as f:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=BATCH_ROWS, columns=["source", "tokens"]):
                column = batch.column("tokens")
                if column.null_count:
                    raise ExportError(f"{shard['path']}: rows without tokens; nothing to export")
                values = column.flatten().to_numpy(zero_copy_only=False).astype(dtype, copy=False)
                lengths = column.value_lengths().to_numpy(zero_copy_only=False).astype(np.int64)
                ends = np.cumsum(lengths)
                yield Batch(batch.column("source").to_pylist(), np.insert(values, ends, eos).astype(dtype),
                            lengths + 1)


class _Stream:
    """An output file written under `<path>.tmp` and renamed by `close`."""

    def __init__(self, fs, path: str):
        self.fs, self.path = fs, path
        self.file = fs.open_output_stream(path + ".tmp")

    def write(self, data: bytes) -> None:
        self.file.write(data)

    def close(self) -> None:
        self.file.close()
        self.fs.move(self.path + ".tmp", self.path)


class MegatronWriter:
    """One `PREFIX.bin` / `PREFIX.idx` pair, one sequence per document."""

    def __init__(self, fs, prefix: str, dtype: np.dtype):
        self.fs, self.prefix, self.dtype = fs, prefix, np.dtype(dtype)
        self._bin = _Stream(fs, prefix + ".bin")
        self._lengths: list[np.ndarray] = []

    def add(self, tokens: np.ndarray, lengths: np.ndarray) -> None:
        self._bin.write(np.ascontiguousarray(tokens, dtype=self.dtype.newbyteorder("<")).tobytes())
        self._lengths.append(lengths.astype(np.int32))

    def close(self) -> tuple[int, int]:
        self._bin.close()
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int32)
        pointers = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1].astype(np.int64) * self.dtype.itemsize, out=pointers[1:])
        documents = np.arange(len(lengths) + 1, dtype=np.int64)     # document k is sequence k
        index = _Stream(self.fs, self.prefix + ".idx")
        index.write(MEGATRON_HEADER + struct.pack("<Q", 1) + struct.pack("<B", MEGATRON_DTYPE_CODES[self.dtype])
                    + struct.pack("<Q", len(lengths)) + struct.pack("<Q", len(documents)))
        for array in (lengths.astype("<i4"), pointers.astype("<i8"), documents.astype("<i8")):
            index.write(array.tobytes())
        index.close()
        return len(lengths), int(lengths.sum(dtype=np.int64))


def export(out_dir: str, fmt: str, dest: str, *, by_source: bool = False, name: str | None = None) -> Exported:
    """Write `fmt` (megatron | memmap) of the output at `out_dir` into the folder `dest`."""
    if fmt not in FORMATS:
        raise ExportError(f"--format: must be one of {', '.join(FORMATS)}")
    fs, root, manifest = _manifest(out_dir)
    tokenizer = manifest["tokenizer"]
    dtype = np.dtype(tokenizer["dtype"])
    out_fs, out_root = output_filesystem(dest)
    out_fs.create_dir(out_root, recursive=True)
    if fmt == "memmap":
        return _export_memmap(out_dir, out_fs, out_root, tokenizer, dtype)
    base = name or os.path.basename(root.rstrip("/")) or "corpus"
    writers: dict[str, MegatronWriter] = {}

    def writer(key: str) -> MegatronWriter:
        if key not in writers:
            writers[key] = MegatronWriter(out_fs, f"{out_root}/{_file_name(key)}_text_document", dtype)
        return writers[key]

    for batch in batches(out_dir):
        if not by_source:
            writer(base).add(batch.tokens, batch.lengths)
            continue
        sources = np.asarray(batch.sources, dtype=object)
        for source in sorted(set(batch.sources)):
            rows = sources == source
            writer(source).add(batch.tokens[np.repeat(rows, batch.lengths)], batch.lengths[rows])
    if not writers:
        writer(base)
    n_docs = n_tokens = 0
    files = []
    for key in sorted(writers):
        docs, tokens = writers[key].close()
        n_docs, n_tokens = n_docs + docs, n_tokens + tokens
        files += [f"{out_root}/{_file_name(key)}_text_document.{ext}" for ext in ("bin", "idx")]
    return Exported(files, n_docs, n_tokens)


def _file_name(name: str) -> str:
    """A source name as a file name: path separators and other unsafe characters become `_`."""
    return re.sub(r"[^\w.-]", "_", name)


def _export_memmap(out_dir: str, fs, root: str, tokenizer: dict, dtype: np.dtype) -> Exported:
    tokens_file = _Stream(fs, f"{root}/tokens.bin")
    n_docs = n_tokens = 0
    for batch in batches(out_dir):
        tokens_file.write(np.ascontiguousarray(batch.tokens, dtype=dtype.newbyteorder("<")).tobytes())
        n_docs += len(batch.lengths)
        n_tokens += len(batch.tokens)
    tokens_file.close()
    meta = {"format": "corpus-memmap/1", "dtype": dtype.name, "eos_id": tokenizer["eos_id"], "n_tokens": n_tokens,
            "n_docs": n_docs, "vocab_size": tokenizer.get("vocab_size"), "tokenizer_sha256": tokenizer.get("sha256")}
    meta_file = _Stream(fs, f"{root}/meta.json")
    meta_file.write((json.dumps(meta, indent=1) + "\n").encode("utf-8"))
    meta_file.close()
    return Exported([f"{root}/tokens.bin", f"{root}/meta.json"], n_docs, n_tokens)
