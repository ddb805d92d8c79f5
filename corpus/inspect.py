"""Reading an output directory as a person would: the funnel as tables, documents and rejects as text."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Iterator

import pyarrow.parquet as pq

from corpus.ids import is_repeat
from corpus.stages import PIPELINE_STEPS


def load_stats(out_dir: str | Path) -> dict[str, Any]:
    path = Path(out_dir) / "stats.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {out_dir} the output of `corpus run`?")
    return json.loads(path.read_text("utf-8"))


def load_steps(out_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Each step's timings from the run's manifest.json (none for a run of an older version)."""
    path = Path(out_dir) / "manifest.json"
    return json.loads(path.read_text("utf-8")).get("steps") or {} if path.is_file() else {}


def render_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A terminal table: numbers right-aligned, text left-aligned."""
    return _table(headers, rows)


STEPS_LABEL = "steps of this run (wall and CPU seconds; a reused step did nothing this run)"


def steps_table(steps: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """The steps in pipeline order (manifest.json keeps them sorted by name)."""
    order = {name: i for i, name in enumerate(PIPELINE_STEPS)}
    rows = []
    for step, t in sorted(steps.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])):
        if t.get("reused"):
            rows.append([step, "reused", "-", "-", "-", "-", "-"])
            continue
        rows.append([step, f"{t['wall_s']:,.1f}", f"{t['cpu_s']:,.1f}", t["docs"], f"{t['mb']:,.1f}",
                     "-" if t.get("docs_per_s") is None else f"{t['docs_per_s']:,.0f}",
                     "-" if t.get("mb_per_s") is None else f"{t['mb_per_s']:,.2f}"])
    return ["step", "wall s", "CPU s", "docs", "MB", "docs/s", "MB/s"], rows


def load_run_config(out_dir: str | Path) -> dict[str, Any] | None:
    """The config a run used, from its manifest.json (None when the manifest is missing)."""
    path = Path(out_dir) / "manifest.json"
    return json.loads(path.read_text("utf-8")).get("config") if path.is_file() else None


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers] + [[format_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    def line(r):  # numbers right-aligned, text left-aligned; no padding after the last column
        return "  ".join(c.rjust(w) if i and _is_num(c) else c.ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]])


def _is_num(s: str) -> bool:
    # A signed change (`+5`, `-13`) is a number too: both signs align the same.
    return s.lstrip("+-").replace(",", "").replace(".", "").removesuffix("%").isdigit()


def format_cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def format_length(v: float | None) -> str | None:
    """A mean or median length as a person reads it: 1,186.7 and 149 (not 1186.710 and 149.000); None stays None
    (printed `-`)."""
    return None if v is None else f"{v:,.1f}".removesuffix(".0")


def format_value(v: float) -> str:
    """A measured signal or threshold as a person reads it: a whole number as one (1390, 100000, never 1.39e+03),
    anything else to 4 significant digits (0.3071, 4.53)."""
    return str(int(v)) if float(v).is_integer() else f"{v:.4g}"


# Table contents shared by the terminal tables and the HTML report: (headers, rows) from stats.json.

def _token_lengths(entry: dict[str, Any]) -> list[Any]:
    tokens = (entry.get("length") or {}).get("tokens", {})
    return [format_length(tokens.get("mean")), format_length(tokens.get("median"))]


def stage_notes(row: dict[str, Any]) -> list[str]:
    """A funnel row's drops by reason, most first (`min_words 3`), then the rows it added (`+parts 2`)."""
    dropped = sorted(row["dropped"].items(), key=lambda kv: (-kv[1], kv[0]))
    return [f"{k} {v:,}" for k, v in dropped] + [f"+{k} {v:,}" for k, v in sorted(row.get("added", {}).items())]


def funnel_table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    table = [[r["stage"], r["docs_in"], r["docs_out"], sum(r["dropped"].values()), r["bytes_in"], r["bytes_out"],
              ", ".join(stage_notes(r)) or "-"] for r in rows]
    return ["stage", "docs in", "docs out", "dropped", "bytes in", "bytes out", "drop reasons (+ rows added)"], table


def source_table(stats: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    return (["source", "docs", "bytes", "tokens written", "share target", "share achieved", "epochs", "mean tokens",
             "median tokens"],
            [[s, v["docs"], v["bytes"], v.get("tokens"), v.get("share_target"), v.get("share_achieved"),
              v.get("epochs"), *_token_lengths(v)] for s, v in stats["sources"].items()])


def language_table(stats: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    return (["lang", "docs", "bytes", "tokens written", "mean tokens", "median tokens"],
            [[lang, v["docs"], v.get("bytes"), v.get("tokens"), *_token_lengths(v)]
             for lang, v in stats["languages"].items()])


LANGID_DROPPED_LABEL = "language ID drops, by top language (min_lang_score: below its threshold)"


def langid_dropped_table(stats: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Documents and bytes the language-ID stage dropped, per reason and top language, most first (outputs of
    versions before `langid_dropped` give no rows)."""
    return (["reason", "language", "docs", "bytes"],
            [[reason, lang, c["docs"], c["bytes"]] for reason, langs in (stats.get("langid_dropped") or {}).items()
             for lang, c in sorted(langs.items(), key=lambda kv: (-kv[1]["docs"], kv[0]))])


def dedup_table(stats: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    d, near = stats["dedup"], stats["dedup"].get("near", {})
    return (["exact removed", "near removed", "decontaminated", "clusters", "largest cluster", "candidate pairs",
             "exact-checked", "verified pairs", "hot buckets"],
            [[d["exact_removed"], d["near_removed"], d.get("decontaminated", 0), d["clusters"], d["largest_cluster"],
              near.get("candidate_pairs"), near.get("exact_checked_pairs"), near.get("verified_pairs"),
              near.get("hot_buckets")]])


def removal_table(stats: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    return (["source", "docs into dedup", "exact removed", "near removed", "removal rate"],
            [[s, v["docs"], v["exact_removed"], v["near_removed"], v["removal_rate"]]
             for s, v in stats["dedup"].get("per_source", {}).items()])


def fertility_table(stats: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    fert = (stats.get("tokenizer") or {}).get("fertility", {})
    return (["by", "name", "tokens before mix", "words", "tokens/word", "bytes/token"],
            [[kind.replace("by_", ""), name, v["tokens"], v["words"], v["tokens_per_word"], v["bytes_per_token"]]
             for kind in ("by_language", "by_source") for name, v in fert.get(kind, {}).items()])


# What each table counts, said where it is printed: written rows come after the mix (repeats included), length
# summaries count each unit once, fertility and dedup describe the documents before the mix.
WRITTEN_LABEL = "written, after the mix: docs and tokens count repeats, lengths each unit once"
DEDUP_LABEL = "clusters as dedup found them, before the mix: a survivor may not be written"
FERTILITY_LABEL = "fertility over the documents before the mix, each once"


def tokenizer_summary(tok: dict[str, Any]) -> str:
    source = f"trained on {tok.get('sample_bytes') or 0:,} bytes" if tok.get("trained") else "given"
    pieces = f"{tok.get('vocab_size') or 0:,} pieces"
    requested = tok.get("requested_vocab_size")
    if tok.get("trained") and requested and requested != tok.get("vocab_size"):
        pieces += f" ({requested:,} requested: the sample supports no more)"
    return f"{tok.get('model_type')}, {pieces}, {source}"


def rejection_rule(row: dict[str, Any]) -> str:
    """`stage: reason = value (threshold t); duplicate of X; detail`, as `show` and the report print it."""
    rule = f"{row['stage']}: {row['reason']}"
    if row.get("value") is not None:
        rule += f" = {format_value(row['value'])}"
    if row.get("threshold") is not None:
        rule += f" (threshold {format_value(row['threshold'])})"
    if row.get("duplicate_of"):
        rule += f"; duplicate of {row['duplicate_of']}"
    if row.get("detail"):
        rule += f"; {row['detail']}"
    return rule


TERMINAL_WIDTH = 80


def _wrap_items(items: list[str], indent: str, width: int = TERMINAL_WIDTH) -> list[str]:
    """`items` joined by commas on lines of at most `width` characters (unless one item is longer), never broken
    inside an item (`min_words 3` stays on one line)."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 2 + len(item) <= width:
            lines[-1] += ", " + item
        else:
            if lines:
                lines[-1] += ","
            lines.append(indent + item)
    return lines


def funnel_text(rows: list[dict[str, Any]]) -> str:
    """The funnel's numbers as a table, each stage's drop reasons listed under its row: as a last column they
    padded every row to the longest list (~200 characters), past a terminal's width."""
    headers, table = funnel_table(rows)
    lines = _table(headers[:-1], [r[:-1] for r in table]).splitlines()
    out = lines[:2]
    for line, row in zip(lines[2:], rows):
        out += [line, *_wrap_items(stage_notes(row), indent="    ")]
    return "\n".join(out)


def _per_source_counts(table: dict[str, dict[str, int]]) -> list[list[Any]]:
    """[source, kind, count] rows, each source's kinds most frequent first."""
    return [[s, k, n] for s, kinds in table.items() for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))]


def render_stats(stats: dict[str, Any]) -> str:
    out: list[str] = []
    for source, rows in stats["funnel"].items():
        out.append(f"== funnel: {source} (drops by reason and +rows added, under each stage)")
        out.append(funnel_text(rows))
        out.append("")
    out.append(f"== sources ({WRITTEN_LABEL}; share of output tokens, target vs achieved)")
    out.append(_table(*source_table(stats)))
    out.append("")
    out.append(f"== languages ({WRITTEN_LABEL})")
    out.append(_table(*language_table(stats)))
    out.append("")
    for key, title, column in (("read_skipped", "records skipped while reading (not documents: counted by kind)",
                                "kind"),
                               ("read_damaged", "damaged records whose documents were kept (the text that arrived)",
                                "damage")):
        if stats.get(key):
            out.append(f"== {title}")
            out.append(_table(["source", column, "records"], _per_source_counts(stats[key])))
            out.append("")
    headers, dropped = langid_dropped_table(stats)
    if dropped:
        out.append(f"== {LANGID_DROPPED_LABEL}")
        out.append(_table(headers, dropped))
        out.append("")
    if stats.get("pii"):
        out.append("== personal data masked (stage 6c: spans, and the documents they were in)")
        out.append(_table(["kind", "masked", "documents"], [[k, v["masked"], v["docs"]] for k, v in stats["pii"].items()]))
        out.append("")
    d = stats["dedup"]
    out.append(f"== dedup ({DEDUP_LABEL})")
    out.append(_table(*dedup_table(stats)))
    if d.get("per_source"):
        out.append("")
        out.append(_table(*removal_table(stats)))
    out.append("")
    if d.get("largest_clusters"):
        out.append(_table(["largest clusters: size", "survivor", "source"],
                          [[c["size"], c["survivor"], c["source"]] for c in d["largest_clusters"]]))
    else:
        out.append("largest clusters: none (no document had a duplicate)")
    out.append("")
    tok = stats.get("tokenizer") or {}
    if tok:
        out.append(f"== tokenizer: {tokenizer_summary(tok)}; {FERTILITY_LABEL}")
        out.append(_table(*fertility_table(stats)))
        out.append("")
    cons = stats["conservation"]
    out.append("== conservation: " + ("ok (in + added = out + dropped for every source and stage)" if cons["ok"]
                                        else "FAILED: " + "; ".join(cons["problems"])))
    # Last, so they stay on the screen after the tables scroll by.
    warnings = stats.get("warnings") or []   # outputs of older versions have none
    if warnings:
        out.append("")
        out.append(f"== warnings ({len(warnings)})")
        out += [f"- {w}" for w in warnings]
    return "\n".join(out)


def iter_rows(out_dir: str | Path, kind: str = "shards") -> Iterator[dict[str, Any]]:
    for path in sorted((Path(out_dir) / kind).glob("*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
            yield from batch.to_pylist()


class UnknownValue(LookupError):
    """`show` names a reason, source or language the run does not have; the message lists those it has."""


class UnknownReason(UnknownValue):
    """`--rejects REASON` names a reason with no rows in rejects/; the message lists those there are."""


def _column_values(out_dir: str | Path, kind: str, column: str) -> set[str]:
    """The values of one column in OUT/<kind>/*.parquet, nulls left out (outputs without the column give none)."""
    values: set[str] = set()
    for path in sorted((Path(out_dir) / kind).glob("*.parquet")):
        if column in pq.read_schema(path).names:
            values.update(pq.read_table(path, columns=[column]).column(column).unique().to_pylist())
    return values - {None}


def reject_reasons(out_dir: str | Path) -> list[str]:
    """The drop reasons that have rows in OUT/rejects, sorted."""
    return sorted(_column_values(out_dir, "rejects", "reason"))


def _require_known(out_dir: str | Path, what: str, value: str | None, known: set[str]) -> None:
    if value is not None and value not in known:
        raise UnknownValue(f"no {what} {value!r} in {out_dir}; {what}s: {', '.join(sorted(known)) or 'none'}")


def _require_in_run(out_dir: str | Path, source: str | None, lang: str | None) -> None:
    """Nothing matched: a source or language the run does not have at all is named as the mistake (a known
    source with no rows here, say one without rejects, is not one). Languages: those of kept or rejected rows."""
    _require_known(out_dir, "source", source, set(load_stats(out_dir)["funnel"]))
    if lang is not None:
        _require_known(out_dir, "language", lang,
                       _column_values(out_dir, "shards", "lang") | _column_values(out_dir, "rejects", "lang"))


def select_rows(out_dir: str | Path, source: str | None = None, lang: str | None = None,
                reason: str | None = None, n: int = 5, seed: int = 0) -> list[dict[str, Any]]:
    """A reproducible sample of n documents (or rejects, when `reason` is given; `reason='all'` for any). Repeats
    the mix wrote for later epochs (`ID@2`, ...) are the same text as `ID`: each document is sampled once. A reason,
    source or language the run does not have raises UnknownValue, which lists those it has."""
    if reason not in (None, "all"):
        known = reject_reasons(out_dir)
        if reason not in known:
            there = ", ".join(known) if known else "none (was output.keep_rejects off?)"
            raise UnknownReason(f"no rejected documents with reason {reason!r}; reasons in "
                                f"{Path(out_dir) / 'rejects'}: {there}")
    kind = "rejects" if reason else "shards"
    rows = [r for r in iter_rows(out_dir, kind)
            if (source is None or r["source"] == source) and (lang is None or r.get("lang") == lang)
            and (reason in (None, "all") or r["reason"] == reason) and (kind == "rejects" or not is_repeat(r["id"]))]
    if not rows:
        _require_in_run(out_dir, source, lang)
    rng = random.Random(seed)
    return rows if len(rows) <= n else sorted(rng.sample(rows, n), key=lambda r: r["id"])


def render_row(row: dict[str, Any], max_chars: int = 1500) -> str:
    head = [f"### {row['id']}  (source {row['source']}"]
    if row.get("lang"):
        head[0] += f", lang {row['lang']}"
        if row.get("lang_score") is not None:   # shards have the score; rejects only the language
            head[0] += f" {row['lang_score']:.2f}"
    head[0] += ")"
    if row.get("url"):
        head.append(f"url: {row['url']}")
    if row.get("title"):
        head.append(f"title: {row['title']}")
    if "reason" in row:
        head.append("dropped at " + rejection_rule(row))
    else:
        signals = {k: v for k, v in row.items() if isinstance(v, float) and k != "lang_score" and v is not None}
        if signals:
            head.append("signals: " + ", ".join(f"{k}={format_value(v)}" for k, v in signals.items()))
    text = row.get("text") or ""
    body = text if len(text) <= max_chars else text[:max_chars] + f"\n[... {len(text) - max_chars:,} more chars]"
    return "\n".join(head) + "\n\n" + body + "\n"


def flatten_config(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys as a config spells them (`langid.min_lang_score`), sources by name (`sources.web.priority`);
    lists (paths, languages) stay whole values."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if key == "sources" and not prefix and isinstance(value, list):
            value = {s.get("name"): s for s in value}
        if isinstance(value, dict):   # an empty mapping adds no key: `languages: {}` is every language's defaults
            flat.update(flatten_config(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def diff_config(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """The config keys whose values differ; a key one run lacks has no `a` (or `b`) entry. A key null in one run
    and absent in the other is no difference: neither run set it (a language override writes all its keys)."""
    flat_a, flat_b = flatten_config(a), flatten_config(b)
    changed = []
    for key in sorted(set(flat_a) | set(flat_b)):
        if flat_a.get(key) != flat_b.get(key):
            entry: dict[str, Any] = {"key": key}
            entry.update({side: flat[key] for side, flat in (("a", flat_a), ("b", flat_b)) if key in flat})
            changed.append(entry)
    return changed


def diff_runs(out_a: str | Path, out_b: str | Path) -> dict[str, Any]:
    """`corpus diff A B`: the config keys that differ (from each manifest.json), then `diff_stats`. `config` is
    None when a run has no manifest (an interrupted run)."""
    config_a, config_b = load_run_config(out_a), load_run_config(out_b)
    config = None if config_a is None or config_b is None else diff_config(config_a, config_b)
    return {"config": config, **diff_stats(load_stats(out_a), load_stats(out_b))}


def diff_stats(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """What changed from run A to run B: per source and stage, documents out and every drop reason; per source,
    documents and tokens written; dedup totals. Only changed entries are listed."""
    funnel: list[dict[str, Any]] = []
    for source in sorted(set(a["funnel"]) | set(b["funnel"])):
        rows_a = {r["stage"]: r for r in a["funnel"].get(source, [])}
        rows_b = {r["stage"]: r for r in b["funnel"].get(source, [])}
        for stage in list(dict.fromkeys([*rows_a, *rows_b])):
            ra, rb = rows_a.get(stage, {}), rows_b.get(stage, {})
            keys = [("docs_out", ra.get("docs_out", 0), rb.get("docs_out", 0))]
            for reason in sorted(set(ra.get("dropped", {})) | set(rb.get("dropped", {}))):
                keys.append((reason, ra.get("dropped", {}).get(reason, 0), rb.get("dropped", {}).get(reason, 0)))
            funnel += [{"source": source, "stage": stage, "what": what, "a": va, "b": vb, "change": vb - va}
                       for what, va, vb in keys if va != vb]
    sources = []
    for source in sorted(set(a["sources"]) | set(b["sources"])):
        sa, sb = a["sources"].get(source, {}), b["sources"].get(source, {})
        for what in ("docs", "tokens", "bytes"):
            va, vb = sa.get(what) or 0, sb.get(what) or 0
            if va != vb:
                sources.append({"source": source, "what": what, "a": va, "b": vb, "change": vb - va})
    dedup = [{"what": k, "a": a["dedup"].get(k, 0), "b": b["dedup"].get(k, 0),
              "change": b["dedup"].get(k, 0) - a["dedup"].get(k, 0)}
             for k in ("exact_removed", "near_removed", "decontaminated", "clusters", "largest_cluster")
             if a["dedup"].get(k, 0) != b["dedup"].get(k, 0)]
    return {"funnel": funnel, "sources": sources, "dedup": dedup}


def _config_value(entry: dict[str, Any], side: str) -> str:
    if side not in entry:
        return "(absent)"
    value = entry[side]
    # A number field keeps the `min_words: 200` a config wrote as 200.0: shown as written.
    return json.dumps(int(value) if isinstance(value, float) and value.is_integer() else value, ensure_ascii=False)


def render_diff(diff: dict[str, Any], name_a: str, name_b: str) -> str:
    out = [f"== diff: A = {name_a}, B = {name_b}"]
    if diff.get("config") is None:
        out.append("config: not compared (a run has no manifest.json)")
    elif diff["config"]:
        out.append("== config keys that differ")
        out.append(_table(["key", "A", "B"], [[r["key"], _config_value(r, "a"), _config_value(r, "b")]
                                              for r in diff["config"]]))
    else:
        out.append("config: the same")
    if not any(diff[k] for k in ("funnel", "sources", "dedup")):
        return "\n".join(out + ["no differences in the funnel, outputs or dedup"])
    if diff["funnel"]:
        out.append("== funnel (documents out, and drops by reason)")
        out.append(_table(["source", "stage", "what", "A", "B", "change"],
                          [[r["source"], r["stage"], r["what"], r["a"], r["b"], f"{r['change']:+,}"]
                           for r in diff["funnel"]]))
    if diff["sources"]:
        out.append("== written per source")
        out.append(_table(["source", "what", "A", "B", "change"],
                          [[r["source"], r["what"], r["a"], r["b"], f"{r['change']:+,}"] for r in diff["sources"]]))
    if diff["dedup"]:
        out.append("== dedup")
        out.append(_table(["what", "A", "B", "change"],
                          [[r["what"], r["a"], r["b"], f"{r['change']:+,}"] for r in diff["dedup"]]))
    return "\n".join(out)
