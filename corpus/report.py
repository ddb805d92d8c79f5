"""`corpus report OUT --html FILE`: one self-contained HTML page (inline SVG plots, inline CSS, no scripts, nothing
fetched) with the funnel, lengths, languages, duplicates, the mixture, the tokenizer and sampled documents."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from corpus.inspect import (DEDUP_LABEL, FERTILITY_LABEL, LANGID_DROPPED_LABEL, STEPS_LABEL, WRITTEN_LABEL,
                            dedup_table, fertility_table, format_cell, funnel_table, langid_dropped_table,
                            language_table, load_stats, load_steps, reject_reasons, rejection_rule, removal_table,
                            select_rows, source_table, steps_table, tokenizer_summary)
from corpus.stats import LENGTH_BINS

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")
# `overflow-wrap:anywhere`: a sample with no break opportunity (an `invalid_utf8` page is one run of U+FFFD, a URL,
# an id) wraps inside the page instead of widening it.
CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}h2{margin-top:2em;border-bottom:2px solid #4e79a7}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.6em;border-left:3px solid #4e79a7;font-size:90%}
pre,p,h4,li{overflow-wrap:anywhere}
.reject pre{border-left-color:#e15759}.plots{display:flex;flex-wrap:wrap;gap:1em}
.note{color:#555;font-size:90%}.warnings{background:#fdf3e1;border-left:3px solid #f28e2b;padding:.3em 1em}"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any) -> str:
    return _e(format_cell(value))


def table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_num(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def bar_chart(title: str, labels: list[str], series: dict[str, list[float]], width: int = 520,
              bar_height: int = 14) -> str:
    """Horizontal grouped bars as inline SVG: one group per label, one bar per series."""
    names = list(series)
    top = max([v for values in series.values() for v in values] + [1e-9])
    label_w, value_w = 150, 70
    plot_w = width - label_w - value_w
    group_h = bar_height * len(names) + 6
    legend_h = 18 if len(names) > 1 else 0
    height = 28 + legend_h + group_h * len(labels)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{_e(title)}"><title>{_e(title)}</title>',
             f'<text x="0" y="16" font-size="14" font-weight="bold">{_e(title)}</text>']
    if legend_h:
        x = label_w
        for i, name in enumerate(names):
            parts.append(f'<rect x="{x}" y="24" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
                         f'<text x="{x + 14}" y="33" font-size="11">{_e(name)}</text>')
            x += 14 + 7 * len(name) + 16
    y = 28 + legend_h
    for j, label in enumerate(labels):
        parts.append(f'<text x="{label_w - 6}" y="{y + group_h / 2 + 4}" font-size="11" '
                     f'text-anchor="end">{_e(label)}</text>')
        for i, name in enumerate(names):
            value = series[name][j]
            w = max(0.0, plot_w * value / top)
            by = y + i * bar_height
            parts.append(f'<rect x="{label_w}" y="{by}" width="{w:.1f}" height="{bar_height - 2}" '
                         f'fill="{PALETTE[i % len(PALETTE)]}"><title>{_e(name)} {_e(label)}: {_num(value)}</title>'
                         f'</rect><text x="{label_w + w + 4:.1f}" y="{by + bar_height - 4}" font-size="10">'
                         f'{_num(value)}</text>')
        y += group_h
    parts.append("</svg>")
    return "".join(parts)


def _sample(text: str, limit: int = 700) -> str:
    return _e(text if len(text) <= limit else text[:limit] + f" [... {len(text) - limit:,} more characters]")


def render_report(out_dir: str | Path, samples: int = 2, seed: int = 0) -> str:
    stats = load_stats(out_dir)
    sources = list(stats["funnel"])
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>corpus report: {_e(out_dir)}</title>"
           f"<style>{CSS}</style></head><body><h1>corpus report</h1><p class='note'>{_e(out_dir)} - conservation "
           f"{'ok' if stats['conservation']['ok'] else 'FAILED'}; every number here is read from stats.json and "
           f"the shards.</p>"]
    warnings = stats.get("warnings") or []   # outputs of older versions have none
    if warnings:
        out.append("<div class='warnings'><h2>Warnings</h2><ul>" + "".join(f"<li>{_e(w)}</li>" for w in warnings)
                   + "</ul></div>")

    # Overview and mixture first: what a reader asks first is what is left and whether the mix hit its target.
    src = stats["sources"]
    out.append("<h2>What is left, and the mixture</h2>")
    out.append(f"<p class='note'>{_e(WRITTEN_LABEL)}.</p>")
    out.append(table(*source_table(stats)))
    out.append("<div class='plots'>" + bar_chart(
        "Share of output tokens: target vs achieved", list(src),
        {"target": [v.get("share_target") or 0.0 for v in src.values()],
         "achieved": [v.get("share_achieved") or 0.0 for v in src.values()]}) + "</div>")

    out.append("<h2>Funnel</h2><div class='plots'>")
    for source in sources:
        rows = stats["funnel"][source]
        out.append(bar_chart(f"{source}: documents out of each stage", [r["stage"] for r in rows],
                             {"docs out": [r["docs_out"] for r in rows]}, width=480))
    out.append("</div>")
    for source in sources:
        out.append(f"<h3>{_e(source)}</h3>")
        out.append(table(*funnel_table(stats["funnel"][source])))

    out.append("<h2>Document lengths</h2><p class='note'>Each unit once (repeats of later epochs left out)."
               "</p><div class='plots'>")
    total = {str(b): 0 for b in LENGTH_BINS}
    for source, v in src.items():
        hist = (v.get("length") or {}).get("token_histogram") or {}
        for k, n in hist.items():
            total[k] = total.get(k, 0) + n
        if hist:
            out.append(bar_chart(f"{source}: documents by length in tokens (bin start)",
                                 [str(b) for b in LENGTH_BINS],
                                 {"documents": [hist.get(str(b), 0) for b in LENGTH_BINS]}, width=420))
    out.append(bar_chart("All sources: token-length histogram (bin start)", [str(b) for b in LENGTH_BINS],
                         {"documents": [total.get(str(b), 0) for b in LENGTH_BINS]}, width=420))
    out.append("</div>")

    langs = stats["languages"]
    out.append(f"<h2>Languages</h2><p class='note'>{_e(WRITTEN_LABEL)}.</p>")
    out.append(bar_chart("Output tokens per language (written, after the mix)", list(langs),
                         {"tokens": [v.get("tokens") or 0 for v in langs.values()]}))
    out.append(table(*language_table(stats)))
    headers, dropped = langid_dropped_table(stats)
    if dropped:
        out.append(f"<h3>{_e(LANGID_DROPPED_LABEL[0].upper() + LANGID_DROPPED_LABEL[1:])}</h3>")
        out.append(table(headers, dropped))

    d = stats["dedup"]
    out.append(f"<h2>Duplicates</h2><p class='note'>{_e(DEDUP_LABEL)}.</p>")
    out.append(table(*dedup_table(stats)))
    sizes = d.get("cluster_sizes") or {}
    if sizes:
        keys = sorted(sizes, key=int)
        out.append(bar_chart("Duplicate clusters by size", keys, {"clusters": [sizes[k] for k in keys]}))
    if d.get("per_source"):
        out.append(table(*removal_table(stats)))

    tok = stats.get("tokenizer") or {}
    if tok:
        out.append(f"<h2>Tokenizer</h2><p>{_e(tokenizer_summary(tok))}; sha256 {_e(tok.get('sha256'))}</p>"
                   f"<p class='note'>{_e(FERTILITY_LABEL)}.</p>")
        out.append(table(*fertility_table(stats)))

    out.append("<h2>Sampled documents</h2>")
    for source in sources:
        for row in select_rows(out_dir, source=source, n=samples, seed=seed):
            out.append(f"<h4>kept: {_e(row['id'])} ({_e(row.get('lang'))})</h4><pre>{_sample(row['text'])}</pre>")
    reasons = sorted({k for rows in stats["funnel"].values() for r in rows for k in r["dropped"]})
    steps = load_steps(out_dir)
    if steps:
        out.append(f"<h2>Steps</h2><p class='note'>{_e(STEPS_LABEL)}, from manifest.json.</p>")
        out.append(table(*steps_table(steps)))
    kept_reasons = set(reject_reasons(out_dir))
    out.append("<h2>Sampled rejects, per reason</h2>")
    for reason in reasons:
        rows = select_rows(out_dir, reason=reason, n=samples, seed=seed) if reason in kept_reasons else []
        if not rows:
            out.append(f"<div class='reject'><h4>{_e(reason)}: counted only</h4><p class='note'>no rows in rejects/ "
                       "(units the mix leaves out are sampling, not defects; or the run had keep_rejects off)"
                       "</p></div>")
        for row in rows:
            out.append(f"<div class='reject'><h4>{_e(reason)}: {_e(row['id'])}</h4><p>{_e(rejection_rule(row))}</p>"
                       f"<pre>{_sample(row.get('text') or row.get('detail') or '')}</pre></div>")
    out.append("</body></html>")
    return "\n".join(out)
