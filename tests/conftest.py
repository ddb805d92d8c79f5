"""Shared fixtures. Tests on ../shared/data skip with a reason when it is absent, and must run when CI is set."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data() -> Path:
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but the shared sample data is missing at {SHARED_DATA}")
    pytest.skip(f"shared sample data not found at {SHARED_DATA} (it sits beside the repo as ../shared)")


@pytest.fixture
def shared() -> Path:
    return shared_data()


@pytest.fixture(scope="session")
def sample_out(tmp_path_factory) -> Path:
    """`corpus run` on the bundled sample, once per test session."""
    from corpus.cli import main

    out = tmp_path_factory.mktemp("sample") / "out"
    assert main(["run", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def all_kinds_out(tmp_path_factory) -> Path:
    """`configs/shared_data.yaml` (every input kind in ../shared/data) run once per test session."""
    from corpus.config import load_config
    from pipelines.run import run_corpus

    shared_data()
    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "shared_data.yaml")
    out = tmp_path_factory.mktemp("all-kinds") / "out"
    run_corpus(config, str(out))
    return out


@pytest.fixture
def prepared_unit(tmp_path):
    """Stages 1-6 for one JSONL unit: `prepared_unit(texts, languages=("en",))` gives (the set-up PrepareUnit, its
    unit element); the documents' ids are s/d.jsonl#0, #1, ..."""
    from corpus.config import config_from_dict
    from pipelines.build import key_settings
    from pipelines.transforms.prepare import PrepareUnit
    from pipelines.transforms.units import planned_units

    def prepare(texts: list[str], languages: tuple[str, ...] | None = ("en",)):
        (tmp_path / "d.jsonl").write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n"
                                                  for i, t in enumerate(texts)))
        source = {"name": "s", "kind": "jsonl", "paths": ["d.jsonl"], "id_field": "id"}
        if languages is not None:
            source["languages"] = list(languages)
        config = config_from_dict({"sources": [source]}, base_dir=str(tmp_path))
        settings = key_settings(config)
        (unit, fingerprint), = planned_units(config, settings, None)
        unit_prepare = PrepareUnit(config, str(tmp_path / "work"), settings, None)
        unit_prepare.setup()
        return unit_prepare, (unit, fingerprint)

    return prepare
