"""Stage 1 in Beam: expand each source's paths into files, then read every file with its `corpus.sources` reader."""

from __future__ import annotations

import logging

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpus.config import Config, SourceConfig
from corpus.document import Rejection
from corpus.sources import ReadContext, Skipped, reader_for, relative_name

log = logging.getLogger(__name__)


def list_source_files(config: Config) -> list[tuple[str, str, str]]:
    """[(source name, pattern, file path)] for every file matched, sorted (a stable input order)."""
    files: set[tuple[str, str, str]] = set()
    for src in config.sources:
        for pattern in src.paths:
            for result in FileSystems.match([pattern]):
                for meta in result.metadata_list:
                    files.add((src.name, pattern, meta.path))
    return sorted(files)


class ReadFiles(beam.DoFn):
    """(source, pattern, path) -> Documents on the main output, read errors on `rejected`."""

    REJECTED = "rejected"
    SKIPPED = "skipped"   # count records of non-documents by kind (WARC requests, images, ...)

    def __init__(self, config: Config):
        self._sources: dict[str, SourceConfig] = {s.name: s for s in config.sources}
        self._max_doc_bytes = config.read.max_doc_bytes
        self._html_extractor = config.read.html_extractor

    def process(self, element):
        source, pattern, path = element
        src = self._sources[source]
        ctx = ReadContext(source=source, path=path, rel=relative_name(pattern, path),
                          max_doc_bytes=self._max_doc_bytes, html_extractor=self._html_extractor,
                          text_field=src.text_field, id_field=src.id_field,
                          url_field=src.url_field, title_field=src.title_field)
        try:
            stream = FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
        except Exception as exc:  # noqa: BLE001 - any filesystem failure is a counted, logged read error
            rej = ctx.error("unreadable_file", 0, f"{type(exc).__name__}: {exc}")
            log.warning("read error %s", rej.detail)
            yield beam.pvalue.TaggedOutput(self.REJECTED, rej)
            return
        with stream:
            for item in reader_for(src.kind)(stream, ctx):
                if isinstance(item, Rejection):
                    log.warning("read error (%s) %s", item.reason, item.detail)
                    yield beam.pvalue.TaggedOutput(self.REJECTED, item)
                elif isinstance(item, Skipped):
                    yield beam.pvalue.TaggedOutput(self.SKIPPED, (("read_skipped", item.source, item.kind, ""),
                                                                  (1, item.n_bytes)))
                else:
                    yield item
