"""What a unit writes to the work directory: documents that read back as they went in, and their keys."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from corpus.dedup.exact import exact_key
from corpus.dedup.minhash import Banding, band_hashes, dedup_words, text_signature
from corpus.document import Document
from corpus.intermediate import (DOCS_SCHEMA, NO_KEY, SHORT_KEY, SIGNATURE_KEY, KeySettings, document_keys,
                                 document_row, documents_of, keys_schema)

SETTINGS = KeySettings(ngram=13, num_perm=256, banding=Banding(32, 8), seed=0)
LONG = " ".join(f"word{i % 97} term{i % 89}" for i in range(200))


def test_documents_read_back_with_their_fields_and_signals():
    doc = Document(id="web/a#1", source="web", text="Привет, мир.\nВторая строка.", url="https://x.example/a",
                   title=None, lang="ru", lang_score=0.5,
                   signals={"word_count": 4.0, "mean_word_length": 5.5})
    table = pa.Table.from_pylist([document_row(doc)], schema=DOCS_SCHEMA)
    (back,) = documents_of(table)
    assert (back.id, back.source, back.text, back.url, back.title, back.lang, back.lang_score) == (
        "web/a#1", "web", "Привет, мир.\nВторая строка.", "https://x.example/a", None, "ru", 0.5)
    assert back.signals == {"word_count": 4.0, "mean_word_length": 5.5}
    assert back.n_bytes == doc.n_bytes


def test_keys_hold_the_digest_the_datasketch_signature_and_its_bands():
    doc = Document(id="web/a#1", source="web", text=LONG)
    row = document_keys(doc, SETTINGS)
    pa.Table.from_pylist([row], schema=keys_schema(256, 32))     # fits the schema
    assert row["digest"] == exact_key(LONG)
    assert row["key_kind"] == SIGNATURE_KEY
    sig = np.frombuffer(row["signature"], dtype="<u4")
    assert np.array_equal(sig, text_signature(dedup_words(LONG), 13, 256, 1))
    assert len({row[f"band_{b}"] for b in range(32)}) == 32


def test_equal_bands_hash_equal_and_a_changed_row_changes_only_its_band():
    a = document_keys(Document(id="a", source="web", text=LONG), SETTINGS)
    b = document_keys(Document(id="b", source="web", text=LONG), SETTINGS)
    assert all(a[f"band_{i}"] == b[f"band_{i}"] for i in range(32))
    sig = np.frombuffer(a["signature"], dtype="<u4").copy()
    sig[8 * 5 + 3] ^= 1                                            # one row of band 5
    changed = band_hashes(sig[None, :], SETTINGS.banding)[0]
    assert [i for i in range(32) if int(changed[i]) != a[f"band_{i}"]] == [5]


def test_short_and_empty_documents_get_no_signature():
    short = document_keys(Document(id="s", source="web", text="Only a few words here."), SETTINGS)
    assert short["key_kind"] == SHORT_KEY and short["signature"] is None and short["short_key"]
    assert short["band_0"] is None
    empty = document_keys(Document(id="e", source="web", text="!!! ???"), SETTINGS)
    assert empty["key_kind"] == NO_KEY and empty["short_key"] is None
