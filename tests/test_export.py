"""Issue 16: the formats trainers read. Megatron's indexed dataset and a flat memmap from `corpus export`, the
output folder as a Hugging Face dataset, and tokenizer.json beside spm.model."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from corpus.cli import main


def shard_rows(out: Path) -> list[dict]:
    """Rows in export order: shards by path, rows as written."""
    manifest = json.loads((out / "manifest.json").read_text())
    return [row for shard in sorted(manifest["shards"], key=lambda s: s["path"])
            for row in pq.read_table(out / shard["path"], columns=["id", "source", "tokens"]).to_pylist()]


def read_megatron_index(path: Path) -> dict:
    """The MMIDIDX layout, read field by field as Megatron-LM publishes it (indexed_dataset.py `_IndexReader`)."""
    data = path.read_bytes()
    assert data[:9] == b"MMIDIDX\x00\x00"
    version, = struct.unpack("<Q", data[9:17])
    code, = struct.unpack("<B", data[17:18])
    sequences, documents = struct.unpack("<QQ", data[18:34])
    offset = 34
    lengths = np.frombuffer(data, dtype="<i4", count=sequences, offset=offset)
    offset += lengths.nbytes
    pointers = np.frombuffer(data, dtype="<i8", count=sequences, offset=offset)
    offset += pointers.nbytes
    doc_index = np.frombuffer(data, dtype="<i8", count=documents, offset=offset)
    assert offset + doc_index.nbytes == len(data)          # nothing else in the file
    return {"version": version, "code": code, "lengths": lengths, "pointers": pointers, "doc_index": doc_index}


def test_megatron_export_is_every_document_with_eos_in_order(sample_out, tmp_path, capsys):
    assert main(["export", str(sample_out), "--format", "megatron", "--out", str(tmp_path), "--name", "c"]) == 0
    rows = shard_rows(sample_out)
    eos = json.loads((sample_out / "manifest.json").read_text())["tokenizer"]["eos_id"]
    index = read_megatron_index(tmp_path / "c_text_document.idx")
    assert index["version"] == 1 and index["code"] == 8                     # uint16: the vocabulary fits
    assert index["lengths"].tolist() == [len(r["tokens"]) + 1 for r in rows]
    assert index["doc_index"].tolist() == list(range(len(rows) + 1))      # one sequence per document
    assert index["pointers"].tolist() == (2 * np.concatenate(([0], np.cumsum(index["lengths"][:-1])))).tolist()
    tokens = np.fromfile(tmp_path / "c_text_document.bin", dtype="<u2")
    assert tokens.tolist() == [t for r in rows for t in r["tokens"] + [eos]]
    assert f"{len(rows):,} documents" in capsys.readouterr().out


def test_megatron_core_reads_the_export_by_source(sample_out, tmp_path):
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    assert main(["export", str(sample_out), "--format", "megatron", "--out", str(tmp_path), "--by-source"]) == 0
    rows = shard_rows(sample_out)
    eos = json.loads((sample_out / "manifest.json").read_text())["tokenizer"]["eos_id"]
    sources = sorted({r["source"] for r in rows})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{s}_text_document.{ext}" for s in sources for ext in ("bin", "idx"))
    for source in sources:
        mine = [r["tokens"] + [eos] for r in rows if r["source"] == source]
        dataset = IndexedDataset(str(tmp_path / f"{source}_text_document"))
        assert len(dataset) == len(mine)
        assert [dataset[i].tolist() for i in range(len(dataset))] == mine


def test_memmap_export_reads_back_with_numpy(sample_out, tmp_path):
    assert main(["export", str(sample_out), "--format", "memmap", "--out", str(tmp_path)]) == 0
    meta = json.loads((tmp_path / "meta.json").read_text())
    manifest = json.loads((sample_out / "manifest.json").read_text())
    rows = shard_rows(sample_out)
    assert meta["dtype"] == "uint16" and meta["eos_id"] == manifest["tokenizer"]["eos_id"]
    assert meta["vocab_size"] == manifest["tokenizer"]["vocab_size"]
    assert meta["tokenizer_sha256"] == manifest["tokenizer"]["sha256"]
    assert meta["n_docs"] == len(rows) and meta["n_tokens"] == sum(len(r["tokens"]) + 1 for r in rows)
    tokens = np.memmap(tmp_path / "tokens.bin", dtype=meta["dtype"], mode="r")
    assert len(tokens) == meta["n_tokens"]
    assert tokens.tolist() == [t for r in rows for t in r["tokens"] + [meta["eos_id"]]]


def test_export_refuses_a_folder_that_is_no_finished_run(tmp_path, capsys):
    assert main(["export", str(tmp_path), "--format", "memmap", "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.strip() == f"corpus: {tmp_path}: no manifest.json (not a finished corpus output)"


def test_the_output_folder_loads_as_a_hugging_face_dataset(sample_out, tmp_path, monkeypatch):
    import datasets

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    rows = shard_rows(sample_out)
    loaded = datasets.load_dataset(str(sample_out), cache_dir=str(tmp_path / "cache"))
    assert list(loaded) == ["train"]
    assert sorted(loaded["train"]["id"]) == sorted(r["id"] for r in rows)
    assert "tokens" in loaded["train"].column_names
    rejects = datasets.load_dataset(str(sample_out), "rejects", cache_dir=str(tmp_path / "cache"))
    manifest = json.loads((sample_out / "manifest.json").read_text())
    assert rejects["train"].num_rows == sum(r["rows"] for r in manifest["rejects"]) > 0
    assert "reason" in rejects["train"].column_names


def test_tokenizer_json_encodes_every_row_to_the_tokens_column(sample_out):
    import sentencepiece as spm
    from tokenizers import Tokenizer as HFTokenizer

    hf = HFTokenizer.from_file(str(sample_out / "tokenizer" / "tokenizer.json"))
    sp = spm.SentencePieceProcessor(model_file=str(sample_out / "tokenizer" / "spm.model"))
    manifest = json.loads((sample_out / "manifest.json").read_text())
    assert manifest["tokenizer"]["tokenizer_json"] == "tokenizer/tokenizer.json"
    for shard in manifest["shards"]:
        for row in pq.read_table(sample_out / shard["path"], columns=["text", "tokens"]).to_pylist():
            # Against SentencePiece itself too: the column was written by our own (segment-cached) encoder.
            assert hf.encode(row["text"], add_special_tokens=False).ids == row["tokens"] == sp.encode(row["text"])
            assert hf.decode(row["tokens"], skip_special_tokens=False) == row["text"]


@pytest.mark.parametrize("text", ["a  b", "  lead", "trail \n\n x", "</s> <s> <unk> literal", "🙂 ქართული 日本語",
                                  "tab\tand\u00a0nbsp", "2015 № 5…"])
def test_tokenizer_json_agrees_on_edge_cases(text):
    import sentencepiece as spm
    from tokenizers import Tokenizer as HFTokenizer

    from corpus.hf_tokenizer import tokenizer_json
    from corpus.sample.generate import EN, RU
    from corpus.tokenizer import train_tokenizer

    model = train_tokenizer(EN + RU + ["    indented  line  with  two  spaces"] * 20, 900)
    hf = HFTokenizer.from_str(tokenizer_json(model))
    assert hf.encode(text, add_special_tokens=False).ids == spm.SentencePieceProcessor(model_proto=model).encode(text)


def test_a_text_only_run_keeps_text_and_shares_bytes(tmp_path, capsys):
    from corpus.config import config_from_dict
    from corpus.sample.generate import EN, RU
    from pipelines.run import run_corpus

    (tmp_path / "en.jsonl").write_text("".join(json.dumps({"text": " ".join(EN[i:i + 3])}) + "\n"
                                               for i in range(0, 24, 3)))
    (tmp_path / "ru.jsonl").write_text("".join(json.dumps({"text": " ".join(RU[i:i + 3])}, ensure_ascii=False) + "\n"
                                               for i in range(0, 24, 3)))
    config = config_from_dict({
        "sources": [{"name": "en", "kind": "jsonl", "paths": ["en.jsonl"], "languages": ["en"]},
                    {"name": "ru", "kind": "jsonl", "paths": ["ru.jsonl"], "languages": ["ru"]}],
        "tokenizer": {"enabled": False}, "mix": {"weights": {"en": 0.5, "ru": 0.5}}}, base_dir=str(tmp_path))
    out = tmp_path / "out"
    run_corpus(config, str(out))
    rows = [r for p in sorted((out / "shards").glob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert rows and all(r["tokens"] is None and r["n_tokens"] is None and r["text"] for r in rows)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["shares_of"] == "bytes" and stats["tokenizer"]["enabled"] is False
    written = {s: sum(r["n_bytes"] for r in rows if r["source"] == s) for s in ("en", "ru")}
    for source, entry in stats["sources"].items():
        assert entry["bytes"] == written[source] and entry["tokens"] == 0
        assert entry["share_achieved"] == round(written[source] / sum(written.values()), 4)
    # Planned on bytes (there are no tokens to plan on): the source with fewer bytes is taken whole.
    smaller = min(stats["sources"], key=lambda s: stats["sources"][s]["available_bytes"])
    assert stats["sources"][smaller]["epochs"] == 1.0
    assert not (out / "tokenizer" / "spm.model").exists()
    assert main(["export", str(out), "--format", "memmap", "--out", str(tmp_path / "mm")]) == 2
    assert "text-only" in capsys.readouterr().err


def test_a_given_hugging_face_tokenizer_drives_the_tokens(tmp_path):
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import models, pre_tokenizers, trainers

    from corpus.config import config_from_dict
    from corpus.sample.generate import EN
    from pipelines.run import run_corpus

    # A user's own tokenizer (the one of the model they continue training), made with the `tokenizers` library.
    hf = HFTokenizer(models.BPE(unk_token="<unk>"))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.train_from_iterator(EN * 3, trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "</s>"],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    hf.enable_truncation(8)      # as many Hub tokenizers carry a model's max_length: a corpus must not truncate
    hf.save(str(tmp_path / "tokenizer.json"))
    hf.no_truncation()
    (tmp_path / "d.jsonl").write_text("".join(json.dumps({"text": " ".join(EN[i:i + 3])}) + "\n"
                                              for i in range(0, 24, 3)))
    config = config_from_dict({"sources": [{"name": "s", "kind": "jsonl", "paths": ["d.jsonl"], "languages": ["en"]}],
                               "tokenizer": {"train": False, "model": "tokenizer.json"}}, base_dir=str(tmp_path))
    out = tmp_path / "out"
    run_corpus(config, str(out))
    rows = [r for p in sorted((out / "shards").glob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    assert rows and max(len(r["tokens"]) for r in rows) > 8
    for row in rows:
        assert row["tokens"] == hf.encode(row["text"], add_special_tokens=False).ids
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tokenizer"]["eos_id"] == hf.token_to_id("</s>")
    assert manifest["tokenizer"]["path"] == "tokenizer/tokenizer.json"
    assert (out / "tokenizer" / "tokenizer.json").read_bytes() == (tmp_path / "tokenizer.json").read_bytes()
    assert not (out / "tokenizer" / "spm.model").exists()
    stats = json.loads((out / "stats.json").read_text())
    assert stats["tokenizer"]["fertility"]["by_source"]["s"]["tokens"] == sum(len(r["tokens"]) for r in rows)
