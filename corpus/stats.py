"""SPEC §4b `stats.json`: the funnel, per-source and per-language output, dedup summary, conservation check.

The pipeline counts in-graph (so counts are exact and runner-independent) as records
`(table, a, b, c) -> (docs, bytes)`:
  ("funnel", source, stage, "in" | "out" | reason)   documents entering / leaving / dropped at a stage
  ("output", source, lang, "")                       documents written, by source and language
  ("dedup", "output", "cluster_size", str(size))     written survivors of a duplicate cluster, by size (>= 2)
  ("dedup", "near", name, "")                         near-dedup machinery: candidate_pairs, verified_pairs,
                                                     unconverged_edges; hot_buckets (buckets, their members)
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from corpus.stages import STAGE_DECONTAMINATE, STAGE_EXACT_DEDUP, STAGE_NEAR_DEDUP

CountKey = tuple[str, str, str, str]
Counts = dict[CountKey, tuple[int, int]]


def merge_counts(records: Iterable[tuple[CountKey, tuple[int, int]]]) -> Counts:
    merged: dict[CountKey, list[int]] = defaultdict(lambda: [0, 0])
    for key, (docs, nbytes) in records:
        merged[tuple(key)][0] += docs  # type: ignore[index]
        merged[tuple(key)][1] += nbytes  # type: ignore[index]
    return {k: (v[0], v[1]) for k, v in merged.items()}


def build_funnel(counts: Counts, sources: list[str], stages: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    funnel: dict[str, list[dict[str, Any]]] = {}
    for source in sources:
        rows = []
        for stage in stages:
            docs_in, bytes_in = counts.get(("funnel", source, stage, "in"), (0, 0))
            docs_out, bytes_out = counts.get(("funnel", source, stage, "out"), (0, 0))
            drops = sorted((k[3], v) for k, v in counts.items()
                           if k[:3] == ("funnel", source, stage) and k[3] not in ("in", "out"))
            dropped = {reason: docs for reason, (docs, _) in drops}
            dropped_bytes = {reason: nbytes for reason, (_, nbytes) in drops}
            rows.append({"stage": stage, "docs_in": docs_in, "docs_out": docs_out, "bytes_in": bytes_in,
                         "bytes_out": bytes_out, "dropped": dropped, "dropped_bytes": dropped_bytes})
        funnel[source] = rows
    return funnel


def check_conservation(funnel: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """SPEC §5: input docs = output docs + Σ dropped by reason, per source and per stage, stages chained."""
    problems: list[str] = []
    per_source: dict[str, Any] = {}
    for source, rows in funnel.items():
        if not rows:
            continue
        total_dropped = 0
        for prev, row in zip([None, *rows], rows):
            dropped = sum(row["dropped"].values())
            total_dropped += dropped
            if row["docs_in"] != row["docs_out"] + dropped:
                problems.append(f"{source}/{row['stage']}: in {row['docs_in']} != out {row['docs_out']} "
                                f"+ dropped {dropped}")
            if prev is not None and prev["docs_out"] != row["docs_in"]:
                problems.append(f"{source}/{row['stage']}: in {row['docs_in']} != previous stage out "
                                f"{prev['docs_out']}")
        docs_in, docs_out = rows[0]["docs_in"], rows[-1]["docs_out"]
        ok = docs_in == docs_out + total_dropped
        if not ok:
            problems.append(f"{source}: read {docs_in} != written {docs_out} + dropped {total_dropped}")
        per_source[source] = {"docs_in": docs_in, "docs_out": docs_out, "dropped": total_dropped, "ok": ok}
    return {"ok": not problems, "per_source": per_source, "problems": problems}


def renormalized_weights(weights: dict[str, float], sources: list[str], defaults: dict[str, float]
                         ) -> dict[str, float]:
    """Target token shares over the configured sources: configured weights, else MassiveText's by name, else
    an equal share; renormalised to sum to 1."""
    raw = {s: weights.get(s, defaults.get(s)) for s in sources}
    missing = [s for s, w in raw.items() if w is None]
    if missing:
        known = [w for w in raw.values() if w is not None]
        fill = (sum(known) / len(known)) if known else 1.0
        raw.update({s: fill for s in missing})
    total = sum(raw.values())  # type: ignore[arg-type]
    return {s: (w / total if total else 0.0) for s, w in raw.items()}  # type: ignore[operator]


def build_dedup(counts: Counts, near_params: dict[str, Any] | None = None) -> dict[str, Any]:
    """SPEC §4b `dedup`, plus the near-dedup machinery's own counts (how many pairs were checked, and so on)."""
    dedup: dict[str, Any] = {"exact_removed": 0, "near_removed": 0, "decontaminated": 0, "clusters": 0,
                             "largest_cluster": 0}
    near: dict[str, Any] = {"candidate_pairs": 0, "exact_checked_pairs": 0, "verified_pairs": 0, "hot_buckets": 0,
                            "hot_bucket_members": 0, "unconverged_edges": 0, **(near_params or {})}
    for (table, a, b, key), (docs, extra) in counts.items():
        if table == "funnel" and b == STAGE_EXACT_DEDUP:
            dedup["exact_removed"] += docs if key not in ("in", "out") else 0
        elif table == "funnel" and b == STAGE_NEAR_DEDUP:
            dedup["near_removed"] += docs if key not in ("in", "out") else 0
        elif table == "funnel" and b == STAGE_DECONTAMINATE:
            dedup["decontaminated"] += docs if key not in ("in", "out") else 0
        elif table == "dedup" and a == "output" and b == "cluster_size":
            dedup["clusters"] += docs
            dedup["largest_cluster"] = max(dedup["largest_cluster"], int(key))
        elif table == "dedup" and a == "near":
            near[b] += docs
            if b == "hot_buckets":
                near["hot_bucket_members"] += extra
    dedup["near"] = near
    return dedup


def build_stats(counts: Counts, sources: list[str], stages: tuple[str, ...], share_targets: dict[str, float],
                tokenizer: dict[str, Any] | None = None, near_params: dict[str, Any] | None = None
                ) -> dict[str, Any]:
    funnel = build_funnel(counts, sources, stages)
    by_source: dict[str, dict[str, Any]] = {s: {"docs": 0, "tokens": None, "bytes": 0, "epochs": 1.0,
                                                "share_target": share_targets.get(s), "share_achieved": None}
                                            for s in sources}
    languages: dict[str, dict[str, Any]] = {}
    for (table, source, lang, _), (docs, nbytes) in sorted(counts.items()):
        if table != "output":
            continue
        by_source.setdefault(source, {"docs": 0, "tokens": None, "bytes": 0})
        by_source[source]["docs"] += docs
        by_source[source]["bytes"] += nbytes
        entry = languages.setdefault(lang or "und", {"docs": 0, "tokens": None, "bytes": 0})
        entry["docs"] += docs
        entry["bytes"] += nbytes
    return {
        "funnel": funnel,
        "sources": by_source,
        "languages": dict(sorted(languages.items())),
        "dedup": build_dedup(counts, near_params),
        "tokenizer": tokenizer or {},
        "conservation": check_conservation(funnel),
    }
