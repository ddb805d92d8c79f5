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
])
def test_bad_config_names_the_key(tmp_path, change, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        config_from_dict({**base(tmp_path), **change}, base_dir=str(tmp_path))


def test_bad_source_kind_and_missing_path(tmp_path):
    with pytest.raises(ConfigError, match=r"sources\[0\]\.kind"):
        config_from_dict({"sources": [{"name": "w", "kind": "html", "paths": ["a.jsonl"]}]}, str(tmp_path))
    with pytest.raises(ConfigError, match=r"sources\[0\]\.paths\[0\]: no file matches"):
        config_from_dict({"sources": [{"name": "w", "kind": "jsonl", "paths": ["missing/*.jsonl"]}]},
                         str(tmp_path))


def test_cli_stops_before_any_work_on_config_error(tmp_path, capsys):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("sources:\n  - {name: w, kind: jsonl, paths: [a.jsonl], prority: 2}\n")
    out = tmp_path / "out"
    assert main(["run", "--config", str(cfg), "--out", str(out)]) == 2
    assert "sources[0].prority" in capsys.readouterr().err
    assert not out.exists()
