"""What one input unit leaves in the work directory: its kept documents (text) and their keys (no text).

Issue 13's rule is that text moves through files and keys move through the global steps. After stages 1-6 a unit
writes two row-aligned Parquet files: `docs` (everything a shard row needs but tokens) and `keys` (the compact
facts exact and near dedup, decontamination and the tokenizer sample need). A global step reads only the key
columns it uses, a unit at a time; nothing there holds a document's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import pyarrow as pa

from corpus.dedup.exact import exact_key
from corpus.dedup.minhash import MINHASH_SEED, Banding, band_hashes, dedup_words, short_key, text_signature
from corpus.document import Document
from corpus.ids import TOKENIZER_SAMPLE, position
from corpus.shards import SIGNAL_COLUMNS, doc_schema

# A shard row before stage 11: everything but the tokens and what dedup decides.
DOCS_SCHEMA = pa.schema([f for f in doc_schema() if f.name not in ("tokens", "n_tokens", "cluster_size")])

# Key kinds: how a document takes part in near dedup (SPEC stage 8).
NO_KEY, SHORT_KEY, SIGNATURE_KEY = 0, 1, 2


def keys_schema(num_perm: int, bands: int) -> pa.Schema:
    return pa.schema([
        pa.field("digest", pa.binary(16), nullable=False),        # exact dedup (stage 7)
        pa.field("n_bytes", pa.int64(), nullable=False),
        pa.field("sample_position", pa.uint64(), nullable=False),  # tokenizer sample order (stage 11)
        pa.field("key_kind", pa.int8(), nullable=False),
        pa.field("short_key", pa.binary(16)),                      # documents under one shingle: the whole key
        pa.field("signature", pa.binary(4 * num_perm)),            # uint32 x num_perm, datasketch's layout
        pa.field("contaminated_by", pa.string()),                  # stage 9: the evaluation document matched
        *(pa.field(f"band_{b}", pa.uint64()) for b in range(bands)),
    ])


@dataclass(frozen=True)
class KeySettings:
    """What the key columns depend on (part of a unit's fingerprint)."""
    ngram: int
    num_perm: int
    banding: Banding
    seed: int


def document_keys(doc: Document, settings: KeySettings, contaminated_by: str | None = None) -> dict[str, Any]:
    words = dedup_words(doc.text)
    row: dict[str, Any] = {"digest": exact_key(doc.text), "n_bytes": doc.n_bytes,
                           "sample_position": position(doc.id, settings.seed, TOKENIZER_SAMPLE),
                           "key_kind": NO_KEY, "short_key": None, "signature": None,
                           "contaminated_by": contaminated_by}
    bands = [None] * settings.banding.bands
    # An empty key (no words at all) is never anyone's near duplicate.
    if 0 < len(words) < settings.ngram:
        row.update(key_kind=SHORT_KEY, short_key=short_key(words))
    elif words:
        sig = text_signature(words, settings.ngram, settings.num_perm, MINHASH_SEED)
        row.update(key_kind=SIGNATURE_KEY, signature=sig.astype("<u4").tobytes())
        bands = band_hashes(sig[None, :], settings.banding)[0].tolist()
    row.update({f"band_{b}": h for b, h in enumerate(bands)})
    return row


def document_row(doc: Document) -> dict[str, Any]:
    row = {"id": doc.id, "source": doc.source, "lang": doc.lang, "lang_score": doc.lang_score, "url": doc.url,
           "title": doc.title, "author": doc.author, "date": doc.date, "text": doc.text, "n_bytes": doc.n_bytes}
    for name in SIGNAL_COLUMNS:
        row[name] = doc.signals.get(name)
    return row


def documents_of(table: pa.Table | pa.RecordBatch) -> Iterable[Document]:
    """Rows of a `docs` file back into Documents (signals that were not measured stay absent)."""
    for row in table.to_pylist():
        signals = {name: row[name] for name in SIGNAL_COLUMNS if row.get(name) is not None}
        yield Document(id=row["id"], source=row["source"], text=row["text"], url=row["url"], title=row["title"],
                       author=row["author"], lang=row["lang"], lang_score=row["lang_score"], date=row["date"],
                       signals=signals)


# Stages 7-9 per unit: only rows with something to say (removed, or a survivor of a duplicate cluster).
DECISIONS_SCHEMA = pa.schema([
    pa.field("row", pa.int32(), nullable=False),          # row of the unit's docs/keys files
    pa.field("stage", pa.string()),                       # exact_dedup | near_dedup | decontaminate; null: kept
    pa.field("reason", pa.string()),                      # duplicate | near_duplicate | contaminated
    pa.field("duplicate_of", pa.string()),                # the survivor (or evaluation document) it matched
    pa.field("cluster_size", pa.int32(), nullable=False), # a survivor: itself + duplicates removed in its favour
])
