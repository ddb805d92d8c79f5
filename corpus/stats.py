"""SPEC §4b `stats.json`: the funnel, per-source and per-language output, dedup summary, conservation check.

The pipeline counts in-graph (so counts are exact and runner-independent) as records
`(table, a, b, c) -> (docs, bytes)`:
  ("funnel", source, stage, "in" | "out" | reason)   documents entering / leaving / dropped at a stage
  ("output", source, lang, "")                       documents written, by source and language
  ("langid", reason, lang, "")                       documents language ID dropped, by reason and top language
  ("dedup", "output", "cluster_size", str(size))     written survivors of a duplicate cluster, by size (>= 2)
  ("dedup", "near", name, "")                         near-dedup machinery: candidate_pairs, verified_pairs,
                                                     unconverged_edges; hot_buckets (buckets, their members)
  ("dedup", "largest", survivor id, source)          the largest clusters' survivors: (cluster size, 0)
  ("pii", kind, "", "")                              spans masked (stage 6c), and the documents they were in
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from corpus.ids import is_repeat
from corpus.rules.pii import KINDS as PII_KINDS
from corpus.stages import STAGE_DECONTAMINATE, STAGE_EXACT_DEDUP, STAGE_NEAR_DEDUP

ADDED = "added:"   # a funnel key of rows a stage adds rather than drops, e.g. "added:parts"

CountKey = tuple[str, str, str, str]
Counts = dict[CountKey, tuple[int, int]]


class CountBook:
    """Count records, added up where they are counted (one per unit of work) and summed in the graph: the one
    place that builds them. `funnel` is stage accounting; `add` any other table of the module docstring."""

    def __init__(self) -> None:
        self._counts: dict[CountKey, list[int]] = {}

    def add(self, key: CountKey, first: int = 1, second: int = 0) -> None:
        entry = self._counts.setdefault(key, [0, 0])
        entry[0] += first
        entry[1] += second

    def funnel(self, source: str, stage: str, kind: str, n_bytes: int, docs: int = 1) -> None:
        """Documents (`docs`, `n_bytes` in all) entering (kind "in"), leaving ("out"), dropped (the reason) or
        added (ADDED + what) at a stage."""
        self.add(("funnel", source, stage, kind), docs, n_bytes)

    def set(self, key: CountKey, first: int, second: int = 0) -> None:
        self._counts[key] = [first, second]

    def records(self) -> list[list]:
        """JSON-able, sorted: [[table, a, b, c], [first, second]] per key (what a step's done.json keeps)."""
        return [[list(k), list(v)] for k, v in sorted(self._counts.items())]


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
            dropped = {reason: docs for reason, (docs, _) in drops if not reason.startswith(ADDED)}
            dropped_bytes = {reason: nbytes for reason, (_, nbytes) in drops if not reason.startswith(ADDED)}
            added = {reason[len(ADDED):]: docs for reason, (docs, _) in drops if reason.startswith(ADDED)}
            row = {"stage": stage, "docs_in": docs_in, "docs_out": docs_out, "bytes_in": bytes_in,
                   "bytes_out": bytes_out, "dropped": dropped, "dropped_bytes": dropped_bytes}
            if added:
                row["added"] = added
            rows.append(row)
        funnel[source] = rows
    return funnel


def check_conservation(funnel: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """SPEC §5: input docs = output docs + Σ dropped by reason, per source and per stage, stages chained. Rows a
    stage adds (parts of split documents, repeated epochs) are counted under `added`: in + added = out + dropped."""
    problems: list[str] = []
    per_source: dict[str, Any] = {}
    for source, rows in funnel.items():
        if not rows:
            continue
        total_dropped = total_added = 0
        for prev, row in zip([None, *rows], rows):
            dropped = sum(row["dropped"].values())
            added = sum(row.get("added", {}).values())
            total_dropped += dropped
            total_added += added
            if row["docs_in"] + added != row["docs_out"] + dropped:
                problems.append(f"{source}/{row['stage']}: in {row['docs_in']} + added {added} != out "
                                f"{row['docs_out']} + dropped {dropped}")
            if prev is not None and prev["docs_out"] != row["docs_in"]:
                problems.append(f"{source}/{row['stage']}: in {row['docs_in']} != previous stage out "
                                f"{prev['docs_out']}")
        docs_in, docs_out = rows[0]["docs_in"], rows[-1]["docs_out"]
        ok = docs_in + total_added == docs_out + total_dropped
        if not ok:
            problems.append(f"{source}: read {docs_in} + added {total_added} != written {docs_out} + dropped "
                            f"{total_dropped}")
        per_source[source] = {"docs_in": docs_in, "docs_out": docs_out, "dropped": total_dropped,
                              "added": total_added, "ok": ok}
    return {"ok": not problems, "per_source": per_source, "problems": problems}


def build_dedup(counts: Counts, near_params: dict[str, Any] | None = None) -> dict[str, Any]:
    """SPEC §4b `dedup`, plus the near-dedup machinery's own counts (how many pairs were checked, and so on)."""
    dedup: dict[str, Any] = {"exact_removed": 0, "near_removed": 0, "decontaminated": 0, "clusters": 0,
                             "largest_cluster": 0}
    near: dict[str, Any] = {"candidate_pairs": 0, "exact_checked_pairs": 0, "verified_pairs": 0, "hot_buckets": 0,
                            "hot_bucket_members": 0, "unconverged_edges": 0, **(near_params or {})}
    largest: list[dict[str, Any]] = []
    for (table, a, b, key), (docs, extra) in counts.items():
        if table == "funnel" and b == STAGE_EXACT_DEDUP:
            dedup["exact_removed"] += docs if key not in ("in", "out") else 0
        elif table == "funnel" and b == STAGE_NEAR_DEDUP:
            dedup["near_removed"] += docs if key not in ("in", "out") else 0
        elif table == "funnel" and b == STAGE_DECONTAMINATE:
            dedup["decontaminated"] += docs if key not in ("in", "out") else 0
        elif table == "dedup" and a == "output" and b == "cluster_size":
            dedup.setdefault("cluster_sizes", {})[key] = dedup.get("cluster_sizes", {}).get(key, 0) + docs
            dedup["clusters"] += docs
            dedup["largest_cluster"] = max(dedup["largest_cluster"], int(key))
        elif table == "dedup" and a == "largest":
            largest.append({"size": docs, "survivor": b, "source": key})
        elif table == "dedup" and a == "near":
            near[b] += docs
            if b == "hot_buckets":
                near["hot_bucket_members"] += extra
    # Same survivors as `clusters` and `largest_cluster` (after dedup, before the mix), so the list's first
    # entry is the largest cluster, whether or not the mix wrote its survivor.
    dedup["largest_clusters"] = sorted(largest, key=lambda c: (-c["size"], c["survivor"]))
    dedup["near"] = near
    return dedup


def build_fertility(counts: Counts) -> dict[str, Any]:
    """Tokens per word and bytes per token, per language and per source, over the documents before mixing."""
    table: dict[str, dict[str, dict[str, float]]] = {"by_language": {}, "by_source": {}}
    for (kind, group, name, what), (first, second) in sorted(counts.items()):
        if kind != "fertility" or what != "tokens":
            continue
        n_words = counts.get(("fertility", group, name, "words"), (0, 0))[0]
        target = table["by_language" if group == "lang" else "by_source"]
        target[name] = {"tokens": first, "words": n_words, "bytes": second,
                        "tokens_per_word": round(first / n_words, 4) if n_words else None,
                        "bytes_per_token": round(second / first, 4) if first else None}
    return table


SHARE_TOLERANCE = 0.02   # a share (or target_tokens) missed by more than this is a warning


def _largest_drop(rows: list[dict[str, Any]]) -> str:
    drops = [(n, row["stage"], reason) for row in rows for reason, n in row["dropped"].items() if n]
    if not drops:
        return "nothing was read"
    n, stage, reason = max(drops)
    return f"most dropped at {stage}: {reason} {n:,}"


def run_warnings(by_source: dict[str, dict[str, Any]], funnel: dict[str, list[dict[str, Any]]],
                 tokenizer: dict[str, Any], target_tokens: int | None, shares_of: str = "tokens") -> list[str]:
    """One line per outcome a user did not ask for: a source with no documents, a share or size missed by more than
    SHARE_TOLERANCE, a tokenizer trained smaller than requested."""
    warnings = []
    for source, entry in by_source.items():
        target = entry.get("share_target")
        if entry["docs"] == 0:
            if target != 0:     # a weight of 0 asks for nothing
                warnings.append(f"source {source}: no documents written ({_largest_drop(funnel.get(source, []))})")
        elif target is not None and abs(entry["share_achieved"] - target) > SHARE_TOLERANCE:
            warnings.append(f"source {source}: {entry['share_achieved']:.1%} of output {shares_of}, target "
                            f"{target:.1%} (epochs {entry['epochs']:g}, {entry[f'available_{shares_of}']:,} "
                            f"{shares_of} available)")
    written = sum(entry[shares_of] for entry in by_source.values())
    if target_tokens is not None and written < (1 - SHARE_TOLERANCE) * target_tokens:
        warnings.append(f"mix.target_tokens: {written:,} {shares_of} written of {target_tokens:,} asked (sources "
                        f"are capped at mix.max_epochs)")
    if tokenizer.get("untrained_reason"):
        warnings.append(f"tokenizer: not trained: {tokenizer['untrained_reason']}")
    trained, requested = tokenizer.get("vocab_size"), tokenizer.get("requested_vocab_size")
    if tokenizer.get("trained") and trained is not None and requested is not None and trained < requested:
        warnings.append(f"tokenizer: {trained:,} pieces trained of tokenizer.vocab_size {requested:,} (the training "
                        f"sample supports no more)")
    return warnings


def build_stats(counts: Counts, sources: list[str], stages: tuple[str, ...], share_targets: dict[str, float] | None,
                tokenizer: dict[str, Any] | None = None, near_params: dict[str, Any] | None = None,
                target_tokens: int | None = None, pii: bool = False) -> dict[str, Any]:
    """`share_targets` None: the mix was off (no targets); `target_tokens`: the size the mix was asked for; `pii`:
    stage 6c ran (its counts appear only then, so a run without it has the same stats.json as before it)."""
    funnel = build_funnel(counts, sources, stages)
    by_source: dict[str, dict[str, Any]] = {s: {"docs": 0, "tokens": 0, "bytes": 0, "epochs": 0.0,
                                                "share_target": (share_targets or {}).get(s), "share_achieved": 0.0}
                                            for s in sources}
    languages: dict[str, dict[str, Any]] = {}
    available: dict[str, int] = {}
    for (table, source, lang, _), (first, second) in sorted(counts.items()):
        if table == "mix":
            available[source] = available.get(source, 0) + first
        if table not in ("output", "output_tokens"):
            continue
        entry = languages.setdefault(lang or "und", {"docs": 0, "tokens": 0, "bytes": 0})
        src = by_source.setdefault(source, {"docs": 0, "tokens": 0, "bytes": 0})
        if table == "output":
            src["docs"] += first
            src["bytes"] += second
            entry["docs"] += first
            entry["bytes"] += second
        else:
            src["tokens"] += first
            entry["tokens"] += first
    # A text-only run (`tokenizer.enabled: false`) has no tokens: the mix's shares and epochs are of bytes.
    shares_of = "tokens" if (tokenizer or {}).get("enabled", True) else "bytes"
    total = sum(v[shares_of] for v in by_source.values())
    for source, entry in by_source.items():
        entry["available_tokens"] = available.get(source, 0) if shares_of == "tokens" else 0
        if shares_of == "bytes":
            entry["available_bytes"] = available.get(source, 0)
        entry["epochs"] = round(entry[shares_of] / available[source], 4) if available.get(source) else 0.0
        entry["share_achieved"] = round(entry[shares_of] / total, 4) if total else 0.0
        if entry.get("share_target") is not None:
            entry["share_target"] = round(entry["share_target"], 4)
    if tokenizer is not None:
        tokenizer = {**tokenizer, "fertility": build_fertility(counts)}
    skipped: dict[str, dict[str, int]] = {}
    damaged: dict[str, dict[str, int]] = {}
    # Issue 15: per top language, how many documents the threshold (`min_lang_score`) and the allow-lists
    # (`language_not_allowed`) dropped.
    langid: dict[str, dict[str, dict[str, int]]] = {"min_lang_score": {}, "language_not_allowed": {}}
    for (table, a, b, _), (docs, n_bytes) in sorted(counts.items()):
        if table == "read_skipped":      # a: source, b: kind
            skipped.setdefault(a, {})[b] = docs
        elif table == "read_damaged":    # a: source, b: reason
            damaged.setdefault(a, {})[b] = docs
        elif table == "langid":          # a: reason, b: top language
            langid.setdefault(a, {})[b] = {"docs": docs, "bytes": n_bytes}
    masked = {kind: {"masked": counts.get(("pii", kind, "", ""), (0, 0))[0],
                     "docs": counts.get(("pii", kind, "", ""), (0, 0))[1]} for kind in PII_KINDS}
    return {
        "funnel": funnel,
        "read_skipped": skipped,
        "read_damaged": damaged,
        "sources": by_source,
        "languages": dict(sorted(languages.items())),
        "langid_dropped": langid,
        **({"pii": masked} if pii else {}),
        "dedup": build_dedup(counts, near_params),
        "tokenizer": tokenizer or {},
        "shares_of": shares_of,
        "conservation": check_conservation(funnel),
        "warnings": run_warnings(by_source, funnel, tokenizer or {}, target_tokens, shares_of),
    }


def _summary(values: list[int]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "median": 0.0}
    ordered = sorted(values)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return {"mean": round(sum(ordered) / len(ordered), 2), "median": float(median)}


LENGTH_BINS = (0, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536)


def length_histogram(values: list[int]) -> dict[str, int]:
    """Counts per power-of-two bin of tokens (labels are the bins' lower bounds)."""
    hist = {str(b): 0 for b in LENGTH_BINS}
    for v in values:
        label = max(b for b in LENGTH_BINS if b <= v)
        hist[str(label)] += 1
    return hist


def shard_statistics(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Length summaries and token-length histograms per source and language, from the written shards' (id,
    source, lang, n_bytes, n_tokens) columns, counting each unit once (repeats of later epochs left out)."""
    by_source: dict[str, dict[str, list[int]]] = {}
    by_lang: dict[str, dict[str, list[int]]] = {}
    for row in rows:
        if is_repeat(row["id"]):
            continue
        for table, key in ((by_source, row["source"]), (by_lang, row.get("lang") or "und")):
            entry = table.setdefault(key, {"bytes": [], "tokens": []})
            entry["bytes"].append(row["n_bytes"])
            entry["tokens"].append(row.get("n_tokens") or 0)

    def describe(table):
        return {k: {"bytes": _summary(v["bytes"]), "tokens": _summary(v["tokens"]),
                    "token_histogram": length_histogram(v["tokens"])} for k, v in sorted(table.items())}

    return {"sources": describe(by_source), "languages": describe(by_lang)}


def removal_rates(funnel: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Per source: the share of documents entering dedup that exact and near dedup removed."""
    rates: dict[str, dict[str, float]] = {}
    for source, rows in funnel.items():
        by_stage = {r["stage"]: r for r in rows}
        entering = by_stage.get(STAGE_EXACT_DEDUP, {}).get("docs_in", 0)
        exact = sum(by_stage.get(STAGE_EXACT_DEDUP, {}).get("dropped", {}).values())
        near = sum(by_stage.get(STAGE_NEAR_DEDUP, {}).get("dropped", {}).values())
        rates[source] = {"docs": entering, "exact_removed": exact, "near_removed": near,
                         "removal_rate": round((exact + near) / entering, 4) if entering else 0.0}
    return rates
