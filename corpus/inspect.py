"""Reading an output directory as a person would: the funnel as tables, documents and rejects as text."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Iterator

import pyarrow.parquet as pq


def load_stats(out_dir: str | Path) -> dict[str, Any]:
    path = Path(out_dir) / "stats.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {out_dir} the output of `corpus run`?")
    return json.loads(path.read_text("utf-8"))


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers] + [[format_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    def line(r):  # numbers right-aligned, text left-aligned
        return "  ".join(c.rjust(w) if i and _is_num(c) else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]])


def _is_num(s: str) -> bool:
    return s.replace(",", "").replace(".", "").replace("-", "").replace("%", "").isdigit()


def format_cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


# Table contents shared by the terminal tables and the HTML report: (headers, rows) from stats.json.

def _token_lengths(entry: dict[str, Any]) -> list[Any]:
    tokens = (entry.get("length") or {}).get("tokens", {})
    return [tokens.get("mean"), tokens.get("median")]


def funnel_table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    table = []
    for r in rows:
        top = ", ".join(f"{k} {v:,}" for k, v in sorted(r["dropped"].items(), key=lambda kv: (-kv[1], kv[0])))
        added = ", ".join(f"+{k} {v:,}" for k, v in sorted(r.get("added", {}).items()))
        table.append([r["stage"], r["docs_in"], r["docs_out"], sum(r["dropped"].values()), r["bytes_in"],
                      r["bytes_out"], ", ".join(x for x in (top, added) if x) or "-"])
    return ["stage", "docs in", "docs out", "dropped", "bytes in", "bytes out", "drop reasons (+ rows added)"], table


def source_table(stats: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    return (["source", "docs", "bytes", "tokens", "share target", "share achieved", "epochs", "mean tokens",
             "median tokens"],
            [[s, v["docs"], v["bytes"], v.get("tokens"), v.get("share_target"), v.get("share_achieved"),
              v.get("epochs"), *_token_lengths(v)] for s, v in stats["sources"].items()])


def language_table(stats: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    return (["lang", "docs", "bytes", "tokens", "mean tokens", "median tokens"],
            [[lang, v["docs"], v.get("bytes"), v.get("tokens"), *_token_lengths(v)]
             for lang, v in stats["languages"].items()])


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
    return (["by", "name", "tokens", "words", "tokens/word", "bytes/token"],
            [[kind.replace("by_", ""), name, v["tokens"], v["words"], v["tokens_per_word"], v["bytes_per_token"]]
             for kind in ("by_language", "by_source") for name, v in fert.get(kind, {}).items()])


def tokenizer_summary(tok: dict[str, Any]) -> str:
    source = f"trained on {tok.get('sample_bytes') or 0:,} bytes" if tok.get("trained") else "given"
    return f"{tok.get('model_type')}, {tok.get('vocab_size')} pieces, {source}"


def rejection_rule(row: dict[str, Any]) -> str:
    """`stage: reason = value (threshold t); duplicate of X; detail`, as `show` and the report print it."""
    rule = f"{row['stage']}: {row['reason']}"
    if row.get("value") is not None:
        rule += f" = {row['value']:.4g}"
    if row.get("threshold") is not None:
        rule += f" (threshold {row['threshold']:.4g})"
    if row.get("duplicate_of"):
        rule += f"; duplicate of {row['duplicate_of']}"
    if row.get("detail"):
        rule += f"; {row['detail']}"
    return rule


def render_stats(stats: dict[str, Any]) -> str:
    out: list[str] = []
    for source, rows in stats["funnel"].items():
        out.append(f"== funnel: {source}")
        out.append(_table(*funnel_table(rows)))
        out.append("")
    out.append("== sources (mixture: share of output tokens, target vs achieved)")
    out.append(_table(*source_table(stats)))
    out.append("")
    out.append("== languages")
    out.append(_table(*language_table(stats)))
    out.append("")
    if stats.get("read_skipped"):
        out.append("== records skipped while reading (not documents: counted by kind)")
        out.append(_table(["source", "kind", "records"],
                          [[s, k, n] for s, kinds in stats["read_skipped"].items()
                           for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))]))
        out.append("")
    d = stats["dedup"]
    out.append("== dedup")
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
        out.append(f"== tokenizer: {tokenizer_summary(tok)}")
        out.append(_table(*fertility_table(stats)))
        out.append("")
    cons = stats["conservation"]
    out.append("== conservation: " + ("ok (in + added = out + dropped for every source and stage)" if cons["ok"]
                                        else "FAILED: " + "; ".join(cons["problems"])))
    return "\n".join(out)


def iter_rows(out_dir: str | Path, kind: str = "shards") -> Iterator[dict[str, Any]]:
    for path in sorted((Path(out_dir) / kind).glob("*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
            yield from batch.to_pylist()


def select_rows(out_dir: str | Path, source: str | None = None, lang: str | None = None,
                reason: str | None = None, n: int = 5, seed: int = 0) -> list[dict[str, Any]]:
    """A reproducible sample of n documents (or rejects, when `reason` is given; `reason='all'` for any)."""
    kind = "rejects" if reason else "shards"
    rows = [r for r in iter_rows(out_dir, kind)
            if (source is None or r["source"] == source) and (lang is None or r.get("lang") == lang)
            and (reason in (None, "all") or r["reason"] == reason)]
    rng = random.Random(seed)
    return rows if len(rows) <= n else sorted(rng.sample(rows, n), key=lambda r: r["id"])


def render_row(row: dict[str, Any], max_chars: int = 1500) -> str:
    head = [f"### {row['id']}  (source {row['source']}"]
    if row.get("lang"):
        head[0] += f", lang {row['lang']} {row.get('lang_score') or 0:.2f}"
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
            head.append("signals: " + ", ".join(f"{k}={v:.3g}" for k, v in signals.items()))
    text = row.get("text") or ""
    body = text if len(text) <= max_chars else text[:max_chars] + f"\n[... {len(text) - max_chars:,} more chars]"
    return "\n".join(head) + "\n\n" + body + "\n"


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


def render_diff(diff: dict[str, Any], name_a: str, name_b: str) -> str:
    out = [f"== diff: A = {name_a}, B = {name_b}"]
    if not any(diff.values()):
        return out[0] + "\nno differences in the funnel, outputs or dedup"
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
