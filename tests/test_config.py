import math
import re
from pathlib import Path

import pytest

from corpus.cli import main
from corpus.config import ConfigError, config_from_dict, load_config, sample_config_path


def base(tmp_path: Path, **extra):
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    return {"sources": [{"name": "web", "kind": "jsonl", "paths": ["a.jsonl"]}], **extra}


def test_sample_config_is_valid():
    config = load_config(sample_config_path())
    assert {s.kind for s in config.sources} == {"wet", "jsonl", "parquet", "books", "text"}


def test_paths_resolve_against_the_config_folder(tmp_path):
    config = config_from_dict(base(tmp_path), base_dir=str(tmp_path))
    assert config.sources[0].paths == (str(tmp_path / "a.jsonl"),)


@pytest.mark.parametrize("change,key", [
    ({"sorces": []}, "sorces"),
    ({"dedup": {"minhash": {"threshold": 1.5}}}, "dedup.minhash.threshold"),
    ({"dedup": {"minhash": {"num_perm": "many"}}}, "dedup.minhash.num_perm"),
    ({"output": {"keep_rejects": "yes"}}, "output.keep_rejects"),
    ({"languages": {"ru": {"quality": {"max_mean_word_lenght": 11}}}}, "languages.ru.quality.max_mean_word_lenght"),
    ({"mix": {"weights": {"nope": 1.0}}}, "mix.weights.nope"),
    ({"langid": {"sample_chars": 10}}, "langid.sample_chars"),
    # Codes lid.176 never reports would drop every document.
    ({"sources": [{"name": "web", "kind": "jsonl", "paths": ["a.jsonl"], "languages": ["en", "english"]}]},
     "sources[0].languages[1]"),
    ({"languages": {"eng": {"min_lang_score": 0.5}}}, "languages.eng"),
    # Thresholds out of their range: counts and lengths >= 0, fractions and ratios within [0, 1].
    ({"languages": {"en": {"quality": {"min_words": -5}}}}, "languages.en.quality.min_words"),
    ({"languages": {"en": {"quality": {"max_mean_word_length": -1}}}}, "languages.en.quality.max_mean_word_length"),
    ({"languages": {"ru": {"quality": {"max_hash_word_ratio": 1.5}}}}, "languages.ru.quality.max_hash_word_ratio"),
    ({"languages": {"ru": {"repetition": {"max_duplicate_line_fraction": -0.1}}}},
     "languages.ru.repetition.max_duplicate_line_fraction"),
    # A lower bound above the (shipped) upper bound: en's max_mean_word_length is 10.
    ({"languages": {"en": {"quality": {"min_mean_word_length": 12}}}}, "languages.en.quality.min_mean_word_length"),
    ({"content": {"max_flagged_word_fraction": 2}}, "content.max_flagged_word_fraction"),
    ({"content": {"url_filter": "yes"}}, "content.url_filter"),
    ({"pii": {"enabled": "yes"}}, "pii.enabled"),
    ({"pii": {"placeholders": {"mail": "<M>"}}}, "pii.placeholders.mail"),
    ({"pii": {"placeholders": {"email": 3}}}, "pii.placeholders.email"),
    ({"read": {"doc_timeout": -1}}, "read.doc_timeout"),
    ({"tokenizer": {"enabled": False}, "mix": {"target_tokens": 1000}}, "mix.target_tokens"),
    # Every number must be finite.
    ({"languages": {"en": {"quality": {"max_words": math.nan}}}}, "languages.en.quality.max_words"),
    ({"dedup": {"minhash": {"threshold": math.nan}}}, "dedup.minhash.threshold"),
    ({"mix": {"max_epochs": math.inf}}, "mix.max_epochs"),
    ({"langid": {"min_lang_score": -math.inf}}, "langid.min_lang_score"),
    # Weights that leave nothing to write.
    ({"mix": {"weights": {"web": 0}}}, "mix.weights"),
])
def test_bad_config_names_the_key(tmp_path, change, key):
    with pytest.raises(ConfigError, match=re.escape(key)):
        config_from_dict({**base(tmp_path), **change}, base_dir=str(tmp_path))


def test_bad_source_kind_and_missing_path(tmp_path):
    with pytest.raises(ConfigError, match=r"sources\[0\]\.kind"):
        config_from_dict({"sources": [{"name": "w", "kind": "html", "paths": ["a.jsonl"]}]}, str(tmp_path))
    with pytest.raises(ConfigError, match=r"sources\[0\]\.paths\[0\]: no file matches"):
        config_from_dict({"sources": [{"name": "w", "kind": "jsonl", "paths": ["missing/*.jsonl"]}]},
                         str(tmp_path))


def test_weights_summing_to_zero_are_refused(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    sources = [{"name": "web", "kind": "wet", "paths": ["a.jsonl"]}, {"name": "books", "kind": "books",
                                                                      "paths": ["a.jsonl"]}]
    with pytest.raises(ConfigError, match=r"mix\.weights: the weights sum to 0"):
        config_from_dict({"sources": sources, "mix": {"weights": {"web": 0, "books": 0.0}}}, str(tmp_path))


def test_a_jsonl_source_beside_others_needs_a_weight_or_a_massivetext_name(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    sources = [{"name": "web", "kind": "wet", "paths": ["a.jsonl"]}, {"name": "wiki", "kind": "jsonl",
                                                                      "paths": ["a.jsonl"]}]
    with pytest.raises(ConfigError, match=r"mix\.weights\.wiki: source 'wiki' needs a weight"):
        config_from_dict({"sources": sources}, str(tmp_path))
    # A weight, a name the MassiveText table knows, or the mix turned off (natural shares) each settle it.
    config_from_dict({"sources": sources, "mix": {"weights": {"wiki": 0.02}}}, str(tmp_path))
    config_from_dict({"sources": [sources[0], {**sources[1], "name": "c4"}]}, str(tmp_path))
    config_from_dict({"sources": sources, "mix": {"enabled": False}}, str(tmp_path))


def test_folders_given_as_files_are_refused(tmp_path):
    folder = tmp_path / "books"
    (folder / "en").mkdir(parents=True)
    cases = [
        ({"sources": [{"name": "books", "kind": "books", "paths": ["books"]}]}, r"sources\[0\]\.paths\[0\]"),
        ({"sources": [{"name": "books", "kind": "books", "paths": ["books/*"]}]}, r"sources\[0\]\.paths\[0\]"),
        ({"dedup": {"decontamination": {"paths": ["books"]}}}, r"dedup\.decontamination\.paths\[0\]"),
        ({"content": {"domain_blocklist": "books"}}, r"content\.domain_blocklist"),
        ({"content": {"flagged_words": "books"}}, r"content\.flagged_words"),
        ({"tokenizer": {"train": False, "model": "books"}}, r"tokenizer\.model"),
        ({"langid": {"model": "books"}}, r"langid\.model"),
    ]
    for change, key in cases:
        with pytest.raises(ConfigError, match=key + r": .*(only folders|is a folder)"):
            config_from_dict({**base(tmp_path), **change}, str(tmp_path))
    # A glob that matches files beside folders is fine: the folders are not read.
    (folder / "en" / "b.txt").write_text("text")
    config_from_dict({"sources": [{"name": "books", "kind": "books", "paths": ["books/**"]}]}, str(tmp_path))


@pytest.mark.parametrize("text,key", [
    ("seed: 1\nseed: 2\n", r"seed: duplicate key \(line 2\)"),
    ("sources:\n  - {name: w, kind: jsonl, kind: wet, paths: [a.jsonl]}\n", r"sources\[0\]\.kind: duplicate key"),
    ("languages:\n  en:\n    quality:\n      min_words: 50\n      min_words: 5\n",
     r"languages\.en\.quality\.min_words: duplicate key \(line 5\)"),
])
def test_a_duplicate_yaml_key_is_refused(tmp_path, text, key):
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    cfg = tmp_path / "c.yaml"
    source = "sources: [{name: w, kind: jsonl, paths: [a.jsonl]}]\n"
    cfg.write_text(text if text.startswith("sources") else text + source)
    with pytest.raises(ConfigError, match=key):
        load_config(cfg)


def test_an_anchor_used_twice_is_not_a_duplicate(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    cfg = tmp_path / "c.yaml"
    cfg.write_text("sources:\n  - &s {name: w, kind: jsonl, paths: [a.jsonl], languages: [en]}\n"
                   "  - {<<: *s, name: v}\nmix: {weights: {w: 1, v: 1}}\n")
    assert [s.name for s in load_config(cfg).sources] == ["w", "v"]


def test_repeats_only_when_the_config_asks(tmp_path):
    def cap(**mix):
        return config_from_dict(base(tmp_path, mix=mix), base_dir=str(tmp_path)).mix.epoch_cap

    assert cap() == 1.0                                   # SPEC §4a: max_epochs 1 unless written
    assert cap(target_tokens=1000) == 4.0                 # a size asked for may repeat up to 4 epochs
    assert cap(target_tokens=1000, max_epochs=1) == 1.0   # ... unless max_epochs says otherwise
    assert cap(max_epochs=2.5) == 2.5


BAD_CONFIGS = {
    "unknown key": ("sources:\n  - {name: w, kind: jsonl, paths: [a.jsonl], prority: 2}\n", "sources[0].prority"),
    "duplicate key": ("sources:\n  - {name: w, kind: jsonl, paths: [a.jsonl]}\nseed: 1\nseed: 2\n", "seed"),
    "language name": ("sources:\n  - {name: w, kind: jsonl, paths: [a.jsonl], languages: [english]}\n",
                      "sources[0].languages[0]"),
    "negative count": ("sources:\n  - {name: w, kind: jsonl, paths: [a.jsonl]}\n"
                       "languages: {en: {quality: {min_words: -5}}}\n", "languages.en.quality.min_words"),
    "infinite epochs": ("sources:\n  - {name: w, kind: jsonl, paths: [a.jsonl]}\nmix: {max_epochs: .inf}\n",
                        "mix.max_epochs"),
    "zero weights": ("sources:\n  - {name: w, kind: jsonl, paths: [a.jsonl]}\nmix: {weights: {w: 0}}\n",
                     "mix.weights"),
    "folder path": ("sources:\n  - {name: w, kind: jsonl, paths: [sub]}\n", "sources[0].paths[0]"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_cli_stops_before_any_work_on_config_error(tmp_path, capsys, case):
    text, key = BAD_CONFIGS[case]
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    (tmp_path / "sub").mkdir()
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    out = tmp_path / "out"
    assert main(["run", "--config", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert key in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_bare_no_in_yaml_is_told_to_be_quoted():
    import yaml

    data = yaml.safe_load("sources: [{name: s, kind: jsonl, paths: ['gs://b/d.jsonl']}]\n"
                          "languages: {no: {min_lang_score: 0.3}}\n")
    with pytest.raises(ConfigError, match=r'languages\.False: .*YAML boolean.*"no" for Norwegian'):
        config_from_dict(data)


@pytest.mark.parametrize("text, where", [
    ("seed: 0\nmix:\n  max_epochs: 2\nread: x: y\n", "line 4, column 8: mapping values are not allowed here"),
    # The `{` left open is named with where the file ended.
    ("mix:\n  weights: {web: 1\n", "line 3, column 1: expected ',' or '}', but got '<stream end>' (while parsing "
                                      "a flow mapping at line 2, column 12)")])
def test_broken_yaml_is_one_line_naming_the_file_line_and_column(tmp_path, capsys, text, where):
    cfg = tmp_path / "x.yaml"
    cfg.write_text(text)
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"corpus: config error: {cfg} {where}\n"
    assert not (tmp_path / "out").exists()
