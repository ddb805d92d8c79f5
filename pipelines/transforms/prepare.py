"""Stages 1-6 per unit of input: read, normalize, identify the language, apply the quality, repetition and content
rules, and write what is kept to the work directory (documents and their keys), with rejects and funnel counts.

One element per unit goes in and one small `UnitSummary` comes out: the text never enters a Beam collection. A unit
whose `done.json` fingerprint matches is not read again (resume).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Iterator

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpus.config import Config, SourceConfig
from corpus.dedup.contamination import ContaminationIndex
from corpus.dedup.minhash import MINHASH_SEED, permutations
from corpus.document import Document, Rejection
from corpus.intermediate import DOCS_SCHEMA, KeySettings, document_keys, document_row, keys_schema
from corpus.rules.content import parse_list
from corpus.rules.langid import LanguageIdentifier, resolve_model_path
from corpus.rules.languages import confusable_groups
from corpus.shards import REJECT_SCHEMA, rejection_row
from corpus.sources import CONTENT_VERDICTS, Damaged, ReadContext, Skipped, parse_budget, reader_for, relative_name
from corpus.sources.budget import TimeBudget
from corpus.sources.units import Unit, read_unit
from corpus.stages import FUNNEL_STAGES, STAGE_LANGID, STAGE_NORMALIZE, STAGE_READ, DocumentRules
from corpus.stats import CountBook
from pipelines.memory import release_memory
from pipelines.parquet_files import BufferedParquet
from pipelines.progress import PROGRESS, read_done
from pipelines.timings import timed
from pipelines.transforms.stage import RejectFile, StageOutput
from pipelines.workdir import StepFolder, join, step_folder, write_bytes

log = logging.getLogger(__name__)
STEP = "prepared"
EVAL_SOURCE = "evaluation"


@dataclass(frozen=True)
class UnitSummary:
    """What a prepared unit tells the rest of the pipeline: where its files are and what it counted."""
    key: str
    source: str
    folder: str                      # this run's work directory (never stored: the output may have moved)
    fingerprint: str                 # of what the unit read and the settings it used: later steps chain on it
    docs: int                        # documents kept after stage 6 (rows of docs.parquet and keys.parquet)
    counts: tuple[tuple[tuple[str, str, str, str], tuple[int, int]], ...]
    reused: bool = False

    @property
    def docs_read(self) -> int:
        """Documents (and read errors) that entered stage 1."""
        return read_done({"counts": self.counts})

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "source": self.source, "docs": self.docs,
                "counts": [[list(k), list(v)] for k, v in self.counts]}

    @classmethod
    def from_json(cls, data: dict[str, Any], folder: str, fingerprint_: str, reused: bool) -> "UnitSummary":
        counts = tuple((tuple(k), tuple(v)) for k, v in data["counts"])
        return cls(data["key"], data["source"], folder, fingerprint_, data["docs"], counts, reused)


def contamination_index(config: Config) -> ContaminationIndex | None:
    """The evaluation set of stage 9 (`dedup.decontamination`), read with the same readers as any source."""
    dc = config.dedup.decontamination
    if not dc.paths:
        return None
    source = SourceConfig(name=EVAL_SOURCE, kind=dc.kind, paths=dc.paths, text_field=dc.text_field)
    evaluation = []
    for pattern in dc.paths:
        for result in FileSystems.match([pattern]):
            for meta in sorted(result.metadata_list, key=lambda m: m.path):
                ctx = ReadContext(source=EVAL_SOURCE, path=meta.path, rel=relative_name(pattern, meta.path),
                                  max_doc_bytes=config.read.max_doc_bytes, text_field=source.text_field)
                with FileSystems.open(meta.path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
                    evaluation += [(d.id, d.text) for d in reader_for(source.kind)(f, ctx) if isinstance(d, Document)]
    mh = config.dedup.minhash
    return ContaminationIndex(evaluation, dc.mode, dc.threshold, dc.ngram, mh.num_perm, mh.exact_check_sigmas)


def read_list(path: str | None) -> frozenset[str]:
    """A one-entry-per-line list file (blocklist, flagged words) from any Beam filesystem."""
    if not path:
        return frozenset()
    with FileSystems.open(path) as f:
        return parse_list(f.read().decode("utf-8").splitlines())


class _ReadProgress:
    """How far the read of a unit is (documents, input bytes), left in `PROGRESS` about once a second for the
    driver's status line (pipelines/progress.py). Input bytes are the open file's position in the unit's pieces."""

    EVERY = 1.0       # seconds between writes

    def __init__(self, unit: Unit, folder: StepFolder):
        self._unit, self._path = unit, folder.file(PROGRESS)
        self._stream = None
        self._piece = -1
        self._docs = 0
        self._written = time.monotonic()

    def open(self, path: str):
        """`_open_raw`, noting the stream: read_unit opens the unit's pieces in order, one stream each."""
        self._piece += 1
        self._stream = _open_raw(path)
        return self._stream

    def read_one(self) -> None:
        self._docs += 1
        if time.monotonic() - self._written >= self.EVERY:
            self._written = time.monotonic()
            done = sum(p.end - p.start for p in self._unit.pieces[:self._piece])
            piece = self._unit.pieces[self._piece]
            try:
                done += min(max(self._stream.tell() - piece.start, 0), piece.end - piece.start)
            except (OSError, ValueError):      # closed: the piece is read
                done += piece.end - piece.start
            write_bytes(self._path, json.dumps({"docs": self._docs, "bytes": done}).encode("utf-8"))

    def close(self) -> None:
        if FileSystems.exists(self._path):
            FileSystems.delete([self._path])


class PrepareUnit(beam.DoFn):
    """Unit -> UnitSummary; its documents, keys and rejects land in `<work>/prepared/<unit key>/`. With `progress`,
    a unit being read also leaves how far it is (for a terminal's status line)."""

    def __init__(self, config: Config, work: str, settings: KeySettings, ftlang_cache: str | None,
                 progress: bool = False):
        self._config, self._work, self._settings = config, work, settings
        self._ftlang_cache, self._progress = ftlang_cache, progress
        self._rules: DocumentRules | None = None
        self._contamination: ContaminationIndex | None = None
        self._budget: TimeBudget | None = None

    def setup(self):
        cfg = self._config
        identifier = LanguageIdentifier(resolve_model_path(cfg.langid.model, self._ftlang_cache),
                                        cfg.langid.sample_chars,
                                        confusable_groups() if cfg.langid.confusable_groups else None)
        self._rules = DocumentRules(cfg, identifier, blocklist=read_list(cfg.content.domain_blocklist),
                                    flagged_words=read_list(cfg.content.flagged_words))
        self._contamination = contamination_index(cfg)
        self._budget = parse_budget(cfg.read.doc_timeout)
        permutations(self._settings.num_perm, MINHASH_SEED)   # datasketch's import (0.5 s) at set-up, not in a unit

    def teardown(self):
        if self._budget is not None:
            self._budget.close()

    def process(self, element: tuple[Unit, str]) -> Iterator[UnitSummary]:
        unit, unit_fingerprint = element
        folder = step_folder(self._work, STEP, unit.key)
        done = folder.done(unit_fingerprint)
        if done is not None:
            yield UnitSummary.from_json(done, folder.path, unit_fingerprint, reused=True)
            return
        folder.start()
        with timed(self._work, "ReadAndFilter", unit.key) as took:
            summary = self._prepare(unit, folder, unit_fingerprint)
            took.docs, took.bytes = summary.docs_read, unit.n_bytes
        folder.finish(unit_fingerprint, summary.to_json())
        release_memory()
        yield summary

    def _prepare(self, unit: Unit, folder: StepFolder, unit_fingerprint: str) -> UnitSummary:
        counts = CountBook()
        settings = self._settings
        docs = BufferedParquet(folder.file("docs.parquet"), DOCS_SCHEMA)
        keys = BufferedParquet(folder.file("keys.parquet"), keys_schema(settings.num_perm, settings.banding.bands))
        rejects = BufferedParquet(folder.file("rejects.parquet"), REJECT_SCHEMA)
        keep_rejects = self._config.output.keep_rejects
        progress = _ReadProgress(unit, folder) if self._progress else None

        def reject(rej: Rejection) -> None:
            counts.funnel(rej.source, rej.stage, rej.reason, rej.n_bytes)
            if rej.stage == STAGE_LANGID:   # issue 15: what each language's threshold (or the allow-list) dropped
                counts.add(("langid", rej.reason, rej.lang or "und", ""), 1, rej.n_bytes)
            if keep_rejects:
                rejects.append(rejection_row(rej), rej.n_bytes)

        for item in self._read(unit, progress.open if progress else _open_raw):
            if progress is not None and not isinstance(item, (Skipped, Damaged)):
                progress.read_one()
            if isinstance(item, Skipped):
                counts.add(("read_skipped", item.source, item.kind, ""), 1, item.n_bytes)
                continue
            if isinstance(item, Damaged):
                counts.add(("read_damaged", item.source, item.reason, ""), 1, item.n_bytes)
                log.warning("damaged record kept (%s) %s", item.reason, item.detail)
                continue
            if isinstance(item, Rejection):
                # A read error is an input of stage 1 that never became a document.
                counts.funnel(item.source, STAGE_READ, "in", item.n_bytes)
                if item.reason not in CONTENT_VERDICTS:
                    log.warning("read error (%s) %s", item.reason, item.detail)
                reject(item)
                continue
            doc: Document = item
            counts.funnel(doc.source, STAGE_READ, "in", doc.n_bytes)
            counts.funnel(doc.source, STAGE_READ, "out", doc.n_bytes)
            kept = self._kept(doc, counts, reject)
            if kept is not None:
                docs.append(document_row(kept[0]), kept[0].n_bytes)
                keys.append(kept[1])
        for writer in (docs, keys, rejects):
            writer.close()
        if progress is not None:
            progress.close()
        return UnitSummary(unit.key, unit.source, folder.path, unit_fingerprint, docs.count,
                           tuple((tuple(k), tuple(v)) for k, v in counts.records()))

    def _kept(self, doc: Document, counts: CountBook, reject) -> tuple[Document, dict[str, Any]] | None:
        """Stages 2-6 and the keys of one document: (the document as kept, its keys row), or None once it is
        rejected. Whatever a rule raises is that document's `rule_error` under the stage that raised, logged with
        its id; the run goes on (issue 14). Writing a rejection is outside that net: a full disk ends the run."""
        failing = STAGE_NORMALIZE    # the stage running now: where an exception would come from
        rejected: Rejection | None = None
        try:
            for stage, result in self._rules.run(doc):
                counts.funnel(doc.source, stage, "in", doc.n_bytes)
                if isinstance(result, Rejection):
                    if stage == STAGE_NORMALIZE:   # undecodable or empty text: damage worth a line, as read errors
                        log.warning("normalize drop (%s) %s", result.reason, doc.id)
                    rejected = result
                    break
                doc = result
                counts.funnel(doc.source, stage, "out", doc.n_bytes)
                failing = FUNNEL_STAGES[FUNNEL_STAGES.index(stage) + 1]
            else:
                # Past stage 6 (`failing` is now exact_dedup): personal data masked, then the keys that stages 7-9
                # read, of the masked text.
                if self._config.pii.enabled:
                    doc, masked = self._rules.mask_pii(doc)
                    for kind, spans in masked.items():
                        counts.add(("pii", kind, "", ""), spans, 1)
                matched = self._contamination.match(doc.text) if self._contamination else None
                return doc, document_keys(doc, self._settings, matched)
        except Exception as exc:  # noqa: BLE001 - one document's failure is its rejection, never the run's end
            counts.funnel(doc.source, failing, "in", doc.n_bytes)
            log.warning("rule error (%s) %s: %s: %s", failing, doc.id, type(exc).__name__, exc)
            rejected = Rejection.of(doc, failing, "rule_error")
        reject(rejected)
        return None

    def _read(self, unit: Unit, open_file) -> Iterator[Document | Rejection | Skipped]:
        cfg = self._config
        src = cfg.source(unit.source)
        ctx = ReadContext(source=src.name, path="", rel="", max_doc_bytes=cfg.read.max_doc_bytes,
                          html_extractor=cfg.read.html_extractor, budget=self._budget, text_field=src.text_field, id_field=src.id_field,
                          url_field=src.url_field, title_field=src.title_field)
        return read_unit(unit, src.kind, open_file, ctx)


def _open_raw(path: str):
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


class ReadAndFilter(beam.PTransform):
    """Stages 1-6 over the planned units -> StageOutput: kept = one UnitSummary per unit, rejected = each unit's
    rejects file, counts = each unit's funnel and read counts."""

    def __init__(self, config: Config, work: str, settings: KeySettings, units: list[tuple[Unit, str]],
                 ftlang_cache: str | None, progress: bool = False):
        super().__init__()
        self._config, self._work, self._settings = config, work, settings
        self._units, self._ftlang_cache, self._progress = units, ftlang_cache, progress

    def expand(self, p):
        summaries = (p
                     | "ListUnits" >> beam.Create(list(enumerate(self._units)))
                     # One key per unit: spread over workers (the local runner deals them in the planned order).
                     | "SpreadUnits" >> beam.GroupByKey()
                     | "Unkey" >> beam.FlatMap(lambda kv: kv[1])
                     | "Prepare" >> beam.ParDo(PrepareUnit(self._config, self._work, self._settings,
                                                           self._ftlang_cache, self._progress)))
        rejected = summaries | "RejectFiles" >> beam.Map(
            lambda u: RejectFile(f"{STEP}-{u.key}", join(u.folder, "rejects.parquet"), u.fingerprint))
        counts = summaries | "Counts" >> beam.FlatMap(lambda u: u.counts)
        return StageOutput(summaries, rejected, counts)
