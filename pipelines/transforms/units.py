"""The units of work: every source's files listed (any Beam filesystem), split into units, each with the
fingerprint of what its stages 1-6 read and the settings they used (so a rerun knows what it may reuse)."""

from __future__ import annotations

import dataclasses

from apache_beam.io.filesystems import FileSystems

from corpus.config import Config, SourceConfig
from corpus.intermediate import KeySettings
from corpus.rules.langid import resolve_model_path
from corpus.sources import relative_name
from corpus.sources.base import compression
from corpus.sources.units import Unit, plan_units
from pipelines.workdir import fingerprint


def listed_files(source: SourceConfig) -> list[tuple[str, str, int, float]]:
    """(path, rel, size, mtime) of every file a source's patterns match, sorted and distinct."""
    found: dict[str, tuple[str, str, int, float]] = {}
    for pattern in source.paths:
        for result in FileSystems.match([pattern]):
            for meta in result.metadata_list:
                found.setdefault(meta.path, (meta.path, relative_name(pattern, meta.path), meta.size_in_bytes,
                                             meta.last_updated_in_seconds))
    return [found[p] for p in sorted(found)]


def _file_identity(pattern: str | None) -> list:
    """(path, size, modification time) of every file a setting names: editing one changes the fingerprint."""
    if not pattern:
        return []
    return [(m.path, m.size_in_bytes, m.last_updated_in_seconds)
            for r in FileSystems.match([pattern]) for m in r.metadata_list]


def stage_settings(config: Config, source: SourceConfig, settings: KeySettings, ftlang_cache: str | None) -> dict:
    """Everything stages 1-6 of a source's units and their key columns depend on, and nothing else (a new weight
    or priority, or a later stage's setting, reuses every unit): the settings, and the files they name."""
    plain = config.to_dict()
    own = dict(plain["sources"][[s.name for s in config.sources].index(source.name)])
    own.pop("priority")
    dc = config.dedup.decontamination
    model = resolve_model_path(config.langid.model, ftlang_cache)
    return {"source": own, "seed": config.seed, "keep_rejects": config.output.keep_rejects,
            **{key: plain[key] for key in ("languages", "langid", "normalize", "read", "content")},
            "decontamination": plain["dedup"]["decontamination"], "keys": dataclasses.asdict(settings),
            "files": [_file_identity(p) for p in (config.content.domain_blocklist, config.content.flagged_words,
                                                  *dc.paths, str(model))]}


# Compressed inputs hold about this many times their size in text (Common Crawl WET: ~3x): their units are cut
# smaller by this factor, so a unit is about `read.unit_bytes` of text whatever the file's compression.
COMPRESSED_TEXT_RATIO = 3


def input_text_bytes(config: Config) -> int:
    """About how many bytes of text every source's files hold (compressed ones counted at COMPRESSED_TEXT_RATIO)."""
    return sum(size * (COMPRESSED_TEXT_RATIO if compression(path) else 1)
               for source in config.sources for path, _, size, _ in listed_files(source))


def unit_cost(unit: Unit) -> int:
    """About how many bytes of text a unit holds: what its stages 1-6 take time in proportion to."""
    return sum((p.end - p.start) * (COMPRESSED_TEXT_RATIO if compression(p.path) else 1) for p in unit.pieces)


def planned_units(config: Config, settings: KeySettings, ftlang_cache: str | None) -> list[tuple[Unit, str]]:
    """[(unit, fingerprint)], the costliest first: a local runner deals a stage's elements to its workers in turn,
    so this order keeps the workers about equally busy. The fingerprint covers the unit's byte ranges, each file's
    size and modification time, and the stage settings."""
    planned = []
    for source in config.sources:
        common = stage_settings(config, source, settings, ftlang_cache)
        files = listed_files(source)
        stamps = {path: (size, mtime) for path, _, size, mtime in files}
        for packed in (False, True):
            group = [(p, r, s) for p, r, s, _ in files if bool(compression(p)) == packed]
            target = max(1, config.read.unit_bytes // (COMPRESSED_TEXT_RATIO if packed else 1))
            for unit in plan_units(source.name, source.kind, group, target):
                identity = [(piece.path, piece.start, piece.end, stamps[piece.path]) for piece in unit.pieces]
                planned.append((unit, fingerprint("prepare", identity, common)))
    return sorted(planned, key=lambda planned_unit: (-unit_cost(planned_unit[0]), planned_unit[0].key))
