"""Resume (issue 13): a rerun reuses every finished unit and step, redoes what a crash left unfinished, and writes
the same bytes as an uninterrupted run; `--fresh` starts over."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from corpus.cli import main
from corpus.config import load_config, sample_config_path
from corpus.stages import PIPELINE_STEPS
from pipelines.run import run_corpus


def outputs(out: Path) -> dict[str, str]:
    """What a resumed run must reproduce byte for byte: shards, rejects and stats.json."""
    paths = [*out.glob("shards/*.parquet"), *out.glob("rejects/*.parquet"), out / "stats.json"]
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(paths)}


def small_units():
    """The bundled sample in units of 2 KB, so that it is many units (each file is cut or packed)."""
    config = load_config(sample_config_path())
    return dataclasses.replace(config, read=dataclasses.replace(config.read, unit_bytes=2048))


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, dict[str, str], int]:
    out = tmp_path_factory.mktemp("resume") / "out"
    result = run_corpus(small_units(), str(out))
    assert result.manifest["summary"]["units_reused"] == 0
    return out, outputs(out), result.manifest["summary"]["units"]


def test_a_rerun_reuses_every_unit_and_writes_the_same_bytes(finished, tmp_path):
    out, expected, units = finished
    again = tmp_path / "again"
    shutil.copytree(out, again)
    result = run_corpus(small_units(), str(again))
    assert units > 10
    assert result.manifest["summary"] == {**result.manifest["summary"], "units": units, "units_reused": units}
    assert outputs(again) == expected
    # Nothing was read or tokenized again, and the manifest's timings say so (stats.json has none).
    steps = result.manifest["steps"]
    assert steps["ReadAndFilter"] == {"reused": True, "wall_s": 0.0, "cpu_s": 0.0, "docs": 0, "mb": 0.0}
    assert steps["Tokenize"]["reused"] and steps["Deduplicate"]["reused"]


def test_the_manifest_times_every_step_that_ran(finished):
    out, _, units = finished
    manifest = json.loads((out / "manifest.json").read_text())
    stats = json.loads((out / "stats.json").read_text())
    steps = manifest["steps"]
    assert list(steps) == sorted(PIPELINE_STEPS)
    funnel = [row for rows in stats["funnel"].values() for row in rows]
    read_in = sum(r["docs_in"] for r in funnel if r["stage"] == "read")
    assert steps["ReadAndFilter"]["docs"] == read_in and steps["ReadAndFilter"]["elements"] == units
    assert steps["Tokenize"]["docs"] == sum(r["docs_in"] for r in funnel if r["stage"] == "tokenize")
    assert steps["WriteShards"]["docs"] == manifest["total_rows"]
    for step in PIPELINE_STEPS:
        assert 0 < steps[step]["wall_s"] < 600 and steps[step]["cpu_s"] >= 0
    assert "timings" not in json.dumps(stats) and "wall_s" not in json.dumps(stats)


def test_what_a_crash_left_unfinished_is_done_again(finished, tmp_path):
    """A kill mid-run leaves some units without done.json (their files half written under temporary names), and
    later steps not started: the rerun redoes exactly those and gives an uninterrupted run's bytes."""
    out, expected, units = finished
    crashed = tmp_path / "crashed"
    shutil.copytree(out, crashed)
    prepared = sorted((crashed / "_work" / "prepared").glob("*/done.json"))
    for done in prepared[::3]:
        done.unlink()
        (done.parent / "docs.parquet").rename(done.parent / "docs.parquet.tmp")
    shutil.rmtree(crashed / "_work" / "tokenized")
    shutil.rmtree(crashed / "_work" / "dedup")
    for name in ("manifest.json", "stats.json"):
        (crashed / name).unlink()
    result = run_corpus(small_units(), str(crashed))
    assert result.manifest["summary"]["units_reused"] == units - len(prepared[::3])
    assert outputs(crashed) == expected


def test_a_later_setting_reuses_the_units_and_a_unit_setting_does_not(finished, tmp_path):
    out, _, units = finished
    again = tmp_path / "again"
    shutil.copytree(out, again)
    config = small_units()
    weights = dict(config.mix.weights, books=0.5)
    reweighted = dataclasses.replace(config, mix=dataclasses.replace(config.mix, weights=weights))
    assert run_corpus(reweighted, str(again)).manifest["summary"]["units_reused"] == units
    stricter = dataclasses.replace(config, langid=dataclasses.replace(config.langid, min_lang_score=0.9))
    assert run_corpus(stricter, str(again)).manifest["summary"]["units_reused"] == 0


def test_fresh_starts_over(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--out", str(out)]) == 0
    first = outputs(out)
    stale = out / "_work" / "prepared" / "stale-unit"
    stale.mkdir()
    assert main(["run", "--out", str(out)]) == 0
    assert "of them reused" in capsys.readouterr().err
    assert main(["run", "--out", str(out), "--fresh"]) == 0
    assert "reused" not in capsys.readouterr().err.splitlines()[-1]
    assert not stale.exists() and outputs(out) == first
