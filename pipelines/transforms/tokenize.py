"""Stage 11 over the work directory: the tokenizer trained on a share-weighted sample read from the prepared units,
then every unit's surviving documents tokenized (long ones split into parts) into the unit's tokenized file.

The sample is chosen from the keys (position, bytes, source) of the documents that survived stages 7-9, read one
unit at a time; only the chosen texts are read, streamed into SentencePiece in unit order (a fixed order: the
units depend only on the inputs and the config). Tokenized units leave a token and a byte histogram over mix
positions for the mix plan (stage 10), as files: the plan step reads them one at a time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import time
from typing import Any, Iterator

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from corpus.config import Config
from corpus.document import Rejection
from corpus.hf_tokenizer import has_tokenizer_json, is_tokenizer_json, load_tokenizer, tokenizer_json
from corpus.ids import part_id
from corpus.intermediate import documents_of
from corpus.mix import HISTOGRAM_BITS, SourcePlan, histogram_bucket, mix_position, plan_mix
from corpus.shards import REJECT_SCHEMA, doc_schema, rejection_row
from corpus.shards import document_row as shard_row
from corpus.stages import STAGE_TOKENIZE
from corpus.stats import ADDED, CountBook
from corpus.text.words import words
from corpus.tokenizer import Tokenizer, encode_parts, train_tokenizer
from pipelines.parquet_files import BufferedParquet, iter_batches, read_table
from pipelines.transforms.dedup import DedupResult, unit_decisions
from pipelines.transforms.prepare import UnitSummary
from pipelines.transforms.stage import RejectFile, StageOutput
from pipelines.memory import release_memory
from pipelines.timings import timed
from pipelines.workdir import fingerprint, join, step_folder, write_bytes

STEP = "tokenized"
BUCKETS = 1 << HISTOGRAM_BITS


def word_count(doc) -> int:
    """The document's words (SPEC §2a): the quality stage's count where it is exact in its float32 column."""
    counted = doc.signals.get("word_count")
    return int(counted) if counted is not None and counted < 1 << 24 else len(words(doc.text))


def _sample_plan(units: list[UnitSummary], dedup: DedupResult, shares: dict[str, float] | None,
                 sample_bytes: int) -> dict[str, SourcePlan]:
    histograms: dict[str, np.ndarray] = {}
    for unit in units:
        if not unit.docs:
            continue
        keys = read_table(join(unit.folder, "keys.parquet"), ["sample_position", "n_bytes"])
        alive = np.ones(unit.docs, dtype=bool)
        for row, d in unit_decisions(dedup, unit).items():
            if d["stage"] is not None:
                alive[row] = False
        buckets = (keys["sample_position"].to_numpy() >> np.uint64(64 - HISTOGRAM_BITS)).astype(np.int64)
        hist = histograms.setdefault(unit.source, np.zeros(BUCKETS, dtype=np.int64))
        np.add.at(hist, buckets[alive], keys["n_bytes"].to_numpy()[alive])
    as_dicts = {s: {int(b): int(h[b]) for b in np.flatnonzero(h)} for s, h in histograms.items()}
    if shares is None:
        shares = {s: float(sum(h.values())) for s, h in as_dicts.items()}
    plans = plan_mix(as_dicts, shares, sample_bytes, 1.0, cap_at_one=True)
    if not any(plan.planned for plan in plans.values()):
        # A sample too small for one histogram bucket rounds to nothing: take each source's first bucket, so
        # that any survivor at all gives the tokenizer something to train on.
        plans = {s: dataclasses.replace(plan, partial_bucket=min(as_dicts[s]) + 1,
                                        planned=as_dicts[s][min(as_dicts[s])]) if as_dicts.get(s) else plan
                 for s, plan in plans.items()}
    return plans


def _sample_texts(units: list[UnitSummary], dedup: DedupResult, plans: dict[str, SourcePlan],
                  stats: dict[str, int]) -> Iterator[str]:
    for unit in sorted(units, key=lambda u: u.key):
        plan = plans.get(unit.source)
        if plan is None or not unit.docs:
            continue
        keys = read_table(join(unit.folder, "keys.parquet"), ["sample_position"])["sample_position"].to_numpy()
        # `plan.copies(position) > 0`, for the whole unit at once
        chosen = ((keys >> np.uint64(64 - HISTOGRAM_BITS)).astype(np.int64) < plan.partial_bucket) | (plan.whole > 0)
        for row, d in unit_decisions(dedup, unit).items():
            if d["stage"] is not None:
                chosen[row] = False
        offset = 0
        for batch in iter_batches(join(unit.folder, "docs.parquet"), columns=["text"]):
            rows = np.flatnonzero(chosen[offset:offset + batch.num_rows])
            offset += batch.num_rows
            # Only the chosen rows become Python strings (a partial sample leaves most of a unit's text unread).
            for text in batch.column("text").take(pa.array(rows)).to_pylist():
                stats["docs"] += 1
                stats["bytes"] += len(text.encode("utf-8"))
                yield text


class TrainTokenizer(beam.PTransform):
    """(prepared units, dedup result) -> one element {"model": bytes, "info": {...}}; cached in the work
    directory under the fingerprint of what it was trained on, so a resumed run does not train again."""

    def __init__(self, config: Config, work: str, shares: dict[str, float] | None):
        super().__init__()
        self._config, self._work, self._shares = config, work, shares

    def expand(self, pcolls):
        prepared, dedup = pcolls
        return (prepared
                | "AllUnits" >> beam.combiners.ToList()
                | "Train" >> beam.Map(self._train, beam.pvalue.AsSingleton(dedup)))

    def _train(self, units: list[UnitSummary], dedup: DedupResult) -> dict[str, Any]:
        cfg = self._config.tokenizer
        expected = fingerprint("tokenizer", dedup.fingerprint, sorted(u.key for u in units),
                               cfg.vocab_size, cfg.model_type, cfg.sample_bytes, self._shares, self._config.seed)
        folder = step_folder(self._work, "tokenizer", expected[:16])
        done = folder.done(expected)
        if done is not None:
            with FileSystems.open(folder.file("spm.model")) as f:
                return {"model": f.read(), "info": done}
        plans = _sample_plan(units, dedup, self._shares, cfg.sample_bytes)
        if not any(plan.available for plan in plans.values()):
            # No document survived stages 1-9: nothing to train on, nothing to tokenize. The run still ends with
            # its funnel (stats.json says why), not with SentencePiece's error on an empty sample.
            return {"model": None, "info": {"trained": False, "sample_docs": 0, "sample_bytes": 0,
                                            "untrained_reason": "no document survived stages 1-9"}}
        folder.start()
        stats = {"docs": 0, "bytes": 0}
        started = time.time()
        with timed(self._work, "TrainTokenizer", "train") as took:
            model = train_tokenizer(_sample_texts(units, dedup, plans, stats), cfg.vocab_size, cfg.model_type)
            took.docs, took.bytes = stats["docs"], stats["bytes"]
        info = {"trained": True, "sample_docs": stats["docs"], "sample_bytes": stats["bytes"],
                "train_seconds": round(time.time() - started, 2)}
        write_bytes(folder.file("spm.model"), model)
        folder.finish(expected, info)
        return {"model": model, "info": info}


class TokenizeUnit(beam.DoFn):
    """UnitSummary -> a tokenized-unit dict (rows, rejects, counts, key, source, folder): dedup rejects written
    with their text, survivors tokenized into `<work>/tokenized/<unit>/units.parquet` (documents or parts), with
    token and byte histograms over mix positions and the funnel and fertility counts."""

    def __init__(self, config: Config, work: str):
        self._config, self._work = config, work
        self._tokenizer: Tokenizer | None = None
        self._model_sha = None

    def process(self, unit: UnitSummary, model: dict[str, Any], dedup: DedupResult):
        sha = hashlib.sha256(model["model"]).hexdigest() if model["model"] is not None else None
        if self._model_sha != sha:
            # No model: no document survived, so there is nothing to encode (only dedup rejects to write).
            self._tokenizer, self._model_sha = load_tokenizer(model["model"]) if sha else None, sha
        cfg = self._config
        expected = fingerprint(STEP, unit.fingerprint, dedup.fingerprint, sha, cfg.mix.max_doc_tokens,
                               cfg.seed, cfg.output.keep_rejects)
        folder = step_folder(self._work, STEP, unit.key)
        done = folder.done(expected)
        if done is None:
            folder.start()
            with timed(self._work, "Tokenize", unit.key) as took:
                done = self._tokenize(unit, dedup, folder)
                took.docs = sum(v[0] for k, v in done["counts"] if k[2:] == [STAGE_TOKENIZE, "in"])
                took.bytes = sum(v[1] for k, v in done["counts"] if k[2:] == [STAGE_TOKENIZE, "in"])
            folder.finish(expected, done)
            release_memory()
        yield dict(done, key=unit.key, source=unit.source, folder=folder.path, fingerprint=expected,
                   prepared_folder=unit.folder)

    def _tokenize(self, unit: UnitSummary, dedup: DedupResult, folder) -> dict[str, Any]:
        tok = self._tokenizer
        cfg = self._config
        decisions = unit_decisions(dedup, unit)
        out = BufferedParquet(folder.file("units.parquet"), doc_schema(tok.vocab_size) if tok else doc_schema())
        rejects = BufferedParquet(folder.file("rejects.parquet"), REJECT_SCHEMA)
        tokens_hist = np.zeros(BUCKETS, dtype=np.int64)
        bytes_hist = np.zeros(BUCKETS, dtype=np.int64)
        counts = CountBook()
        row = 0
        if unit.docs:
            for batch in iter_batches(join(unit.folder, "docs.parquet")):
                for doc in documents_of(batch):
                    d = decisions.get(row)
                    row += 1
                    if d is not None and d["stage"] is not None:
                        if cfg.output.keep_rejects:
                            rejects.append(rejection_row(Rejection.of(doc, d["stage"], d["reason"],
                                                                      duplicate_of=d["duplicate_of"])))
                        continue
                    if d is not None:
                        doc.cluster_size = d["cluster_size"]
                    counts.funnel(doc.source, STAGE_TOKENIZE, "in", doc.n_bytes)
                    n_words, n_bytes, base_id = word_count(doc), doc.n_bytes, doc.id
                    # Text-only (no model): the document as it is, tokens null.
                    parts = encode_parts(doc.text, tok, cfg.mix.max_doc_tokens) if tok else [(doc.text, None)]
                    total = 0
                    for k, (text, tokens) in enumerate(parts):
                        doc.id, doc.text, doc.tokens = part_id(base_id, k, len(parts)), text, tokens
                        n_tokens = 0 if tokens is None else len(tokens)
                        # Bytes of text and tokens: a row group stays small even of book-length parts.
                        out.append(shard_row(doc), doc.n_bytes + (0 if tokens is None else tokens.nbytes))
                        bucket = histogram_bucket(mix_position(doc.id, cfg.seed))
                        tokens_hist[bucket] += n_tokens
                        bytes_hist[bucket] += doc.n_bytes
                        total += n_tokens
                        counts.funnel(doc.source, STAGE_TOKENIZE, "out", doc.n_bytes)
                    for kind, name in (("lang", doc.lang or "und"), ("source", doc.source)) if tok else ():
                        counts.add(("fertility", kind, name, "tokens"), total, n_bytes)
                        counts.add(("fertility", kind, name, "words"), n_words, 1)
                    if len(parts) > 1:
                        counts.funnel(doc.source, STAGE_TOKENIZE, ADDED + "parts", 0, docs=len(parts) - 1)
        out.close()
        rejects.close()
        buffer = io.BytesIO()
        np.savez_compressed(buffer, tokens=tokens_hist, bytes=bytes_hist)
        write_bytes(folder.file("histograms.npz"), buffer.getvalue())
        return {"rows": out.count, "rejects": rejects.count, "counts": counts.records()}


class Tokenize(beam.PTransform):
    """(prepared units, dedup result, model) -> StageOutput: kept = one tokenized-unit record per unit, rejected =
    each unit's stage 7-9 rejects (written here, where the text is read), counts = funnel and fertility."""

    def __init__(self, config: Config, work: str):
        super().__init__()
        self._config, self._work = config, work

    def expand(self, pcolls):
        prepared, dedup, model = pcolls
        tokenized = (prepared
                     | "OwnUnits" >> beam.Map(lambda u: u)   # its own input: not fused with the steps feeding its sides
                     | "Encode" >> beam.ParDo(TokenizeUnit(self._config, self._work), beam.pvalue.AsSingleton(model),
                                              beam.pvalue.AsSingleton(dedup)))
        rejected = tokenized | "RejectFiles" >> beam.Map(
            lambda t: RejectFile(f"{STEP}-{t['key']}", join(t["folder"], "rejects.parquet"), t["fingerprint"]))
        counts = tokenized | "Counts" >> beam.FlatMap(lambda t: [(tuple(k), tuple(v)) for k, v in t["counts"]])
        return StageOutput(tokenized, rejected, counts)


# `tokenizer.enabled: false`: no model; the shards keep their text, with tokens and n_tokens null.
TEXT_ONLY = {"model": None, "info": {"enabled": False, "trained": False}}


def given_tokenizer(path: str) -> dict:
    """A model the config names, read once when the graph is built (any Beam filesystem)."""
    with FileSystems.open(path) as f:
        return {"model": f.read(), "info": {"trained": False, "path": path}}


def read_histograms(folder: str) -> tuple[np.ndarray, np.ndarray]:
    with FileSystems.open(join(folder, "histograms.npz")) as f:
        data = np.load(io.BytesIO(f.read()))
        return data["tokens"], data["bytes"]


def _write_tokenizer(element, staging: str):
    model = element["model"]
    if model is None:
        return json.dumps(dict(element["info"], vocab_size=None, eos_id=None, sha256=None, dtype=None), sort_keys=True)
    tokenizer = load_tokenizer(model)
    files: list[tuple[str, bytes]] = []
    if is_tokenizer_json(model):      # a user's Hugging Face tokenizer: written as given, there is no spm.model
        files.append(("tokenizer/tokenizer.json", model))
    else:
        vocab = "".join(f"{tokenizer.piece(i)}\t0\n" for i in range(tokenizer.vocab_size))
        files += [("tokenizer/spm.model", model), ("tokenizer/spm.vocab", vocab.encode("utf-8"))]
        if has_tokenizer_json(tokenizer):
            files.append(("tokenizer/tokenizer.json", tokenizer_json(model).encode("utf-8")))
    for path, data in files:
        with FileSystems.create(f"{staging}/{path}") as f:
            f.write(data)
    names = [path for path, _ in files]
    info = dict(element["info"], vocab_size=tokenizer.vocab_size, eos_id=tokenizer.eos_id,
                sha256=hashlib.sha256(model).hexdigest(), dtype=str(tokenizer.dtype), files=names,
                model_path=names[0] if is_tokenizer_json(model) else "tokenizer/spm.model",
                tokenizer_json="tokenizer/tokenizer.json" if "tokenizer/tokenizer.json" in names else None)
    return json.dumps(info, sort_keys=True)


class WriteTokenizer(beam.PTransform):
    def __init__(self, staging: str):
        super().__init__()
        self._staging = staging

    def expand(self, model):
        return (model
                | "WriteModel" >> beam.Map(_write_tokenizer, self._staging)
                | "WriteInfo" >> beam.io.WriteToText(f"{self._staging}/tokenizer.json", shard_name_template=""))
