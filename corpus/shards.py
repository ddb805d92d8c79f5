"""SPEC §3 shards: the Parquet schema, deterministic global shuffle, and writing one shard to bytes."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.document import Document, Rejection
from corpus.ids import SHUFFLE, position
from corpus.rules.quality import QUALITY_SIGNALS
from corpus.rules.repetition import REPETITION_SIGNALS
from corpus.tokenizer import token_dtype

SIGNAL_COLUMNS: tuple[str, ...] = (*QUALITY_SIGNALS, *REPETITION_SIGNALS, "flagged_word_fraction")


def doc_schema(vocab_size: int = 65536) -> pa.Schema:
    """SPEC §3: `tokens` is list<uint16> while the vocabulary fits 16 bits, else list<int32>."""
    token_type = pa.from_numpy_dtype(token_dtype(vocab_size))
    return pa.schema([
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("lang", pa.string()),
        pa.field("lang_score", pa.float32()),
        pa.field("url", pa.string()),
        pa.field("title", pa.string()),
        pa.field("author", pa.string()),
        pa.field("date", pa.string()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("n_bytes", pa.int32(), nullable=False),
        pa.field("tokens", pa.list_(token_type)),
        pa.field("n_tokens", pa.int32()),
        pa.field("cluster_size", pa.int32(), nullable=False),   # itself + duplicates removed in its favour
        *(pa.field(name, pa.float32()) for name in SIGNAL_COLUMNS),
    ])


DOC_SCHEMA = doc_schema()

REJECT_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("lang", pa.string()),
        pa.field("url", pa.string()),
        pa.field("text", pa.string()),
        pa.field("value", pa.float64()),
        pa.field("threshold", pa.float64()),
        pa.field("duplicate_of", pa.string()),
        pa.field("detail", pa.string()),
        pa.field("n_bytes", pa.int64()),
    ]
)

ROW_GROUP_ROWS = 1024   # small row groups let a loader stream a shard without reading it whole


def document_row(doc: Document) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": doc.id, "source": doc.source, "lang": doc.lang, "lang_score": doc.lang_score, "url": doc.url,
        "title": doc.title, "author": doc.author, "date": doc.date, "text": doc.text, "n_bytes": doc.n_bytes,
        "tokens": doc.tokens, "n_tokens": doc.n_tokens, "cluster_size": doc.cluster_size,
    }
    for name in SIGNAL_COLUMNS:
        row[name] = doc.signals.get(name)
    return row


def rejection_row(rej: Rejection) -> dict[str, Any]:
    return {"id": rej.id, "source": rej.source, "stage": rej.stage, "reason": rej.reason, "lang": rej.lang,
            "url": rej.url, "text": rej.text, "value": rej.value, "threshold": rej.threshold,
            "duplicate_of": rej.duplicate_of, "detail": rej.detail, "n_bytes": rej.n_bytes}


def shuffle_position(doc_id: str, seed: int) -> int:
    """The global shuffle order of the shards' rows."""
    return position(doc_id, seed, SHUFFLE)


def shard_index(position: int, num_shards: int) -> int:
    return (position * num_shards) >> 64


def shard_count(total_bytes: int, target_bytes: int, configured: int | None) -> int:
    if configured:
        return configured
    return max(1, -(-total_bytes // target_bytes))


def shard_name(kind: str, index: int, count: int) -> str:
    return f"{kind}/part-{index:05d}-of-{count:05d}.parquet"


@dataclass(frozen=True)
class ShardInfo:
    path: str          # relative to the output directory
    rows: int
    bytes: int
    sha256: str


def write_parquet_bytes(rows: Iterable[dict[str, Any]], schema: pa.Schema) -> bytes:
    """Rows -> zstd Parquet bytes (deterministic for the same rows and pyarrow version)."""
    table = pa.Table.from_pylist(list(rows), schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", row_group_size=ROW_GROUP_ROWS, write_statistics=True)
    return buf.getvalue()


def shard_info(path: str, rows: int, data: bytes) -> ShardInfo:
    return ShardInfo(path=path, rows=rows, bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
