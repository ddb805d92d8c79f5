"""`OUT/DATACARD.md`: what a run made, from what, with which rules, in a form a paper can cite."""

from __future__ import annotations

from collections import Counter
from typing import Any

from corpus.config import Config
from corpus.rules.languages import confusable_groups, language_rules, lid_thresholds


def render_datacard(config: Config, stats: dict[str, Any], manifest: dict[str, Any],
                    inputs: dict[str, list[dict[str, Any]]]) -> str:
    """`inputs`: per source, the files read as [{"path", "bytes"}]; `manifest` as written by the run."""
    lines = ["# Data card", "",
             f"Built by corpus {manifest['versions'].get('corpus')} (Apache Beam "
             f"{manifest['versions'].get('apache-beam')}), seed {config.seed}. {manifest['total_rows']:,} rows, "
             f"{manifest.get('total_tokens', 0):,} tokens, {manifest['total_bytes']:,} bytes in "
             f"{len(manifest['shards'])} shard(s); conservation {'ok' if stats['conservation']['ok'] else 'FAILED'}.",
             "", "## Sources", "",
             "| source | kind | files | input bytes | languages | quality / repetition rules | priority | docs out | "
             "tokens | share target | share achieved | epochs |",
             "|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for src in config.sources:
        files = inputs.get(src.name, [])
        out = stats["sources"].get(src.name, {})
        lines.append(f"| {src.name} | {src.kind} | {len(files)} | {sum(f['bytes'] for f in files):,} | "
                     f"{', '.join(src.languages) if src.languages else 'any'} | "
                     f"{'on' if src.apply_quality else 'off'} / {'on' if src.apply_repetition else 'off'} | "
                     f"{src.priority} | {out.get('docs', 0):,} | {out.get('tokens', 0):,} | "
                     f"{out.get('share_target') or 0:.3f} | {out.get('share_achieved') or 0:.3f} | "
                     f"{out.get('epochs') or 0:.3f} |")
    lines += ["", "Input files (path, bytes, sha256; hashing stops after the first 1 GiB of input):", ""]
    for name, files in inputs.items():
        lines += [f"- `{f['path']}` ({f['bytes']:,} bytes, source {name}"
                  + (f", sha256 `{f['sha256']}`)" if f.get("sha256") else ")") for f in files]
    lines += ["", "## What each stage removed", "", "| source | stage | in | out | dropped by reason |",
              "|---|---|---:|---:|---|"]
    for source, rows in stats["funnel"].items():
        for r in rows:
            if r["dropped"] or r.get("added"):
                reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(r["dropped"].items(), key=lambda kv: -kv[1]))
                added = ", ".join(f"+{k} {v:,}" for k, v in r.get("added", {}).items())
                lines.append(f"| {source} | {r['stage']} | {r['docs_in']:,} | {r['docs_out']:,} | "
                             f"{'; '.join(x for x in (reasons, added) if x)} |")
    lines += ["", "## Rules and thresholds", "",
              f"Language ID: fastText lid.176, default minimum score {config.langid.min_lang_score}"
              + (_relaxed_thresholds() if config.langid.per_language_thresholds else "")
              + (", scored with their confusable group (" + ", ".join(
                  sorted({"/".join(sorted(g)) for g in confusable_groups().values()})) + ")"
                 if config.langid.confusable_groups else "")
              + (f", documents over {config.langid.sample_chars:,} characters identified from ten evenly spaced "
                 "windows" if config.langid.sample_chars else ", on whole texts") + ". "
              "Quality and repetition thresholds per language (Gopher, Rae et al. 2021, App. A; `ru` from "
              "FineWeb-2; `max_boilerplate_word_fraction` from RefinedWeb, Penedo et al. 2023, App. G.2):", ""]
    langs = sorted({lang for src in config.sources for lang in (src.languages or ())} | set(config.languages))
    for lang in langs or ["default"]:
        rules = language_rules(None if lang == "default" else lang, config.languages.get(lang),
                               config.langid.min_lang_score)
        thresholds = ", ".join(f"{k} {v:g}" for k, v in {**rules.quality, **rules.repetition}.items())
        lines.append(f"- `{lang}`: min_lang_score {rules.min_lang_score:g}; {len(rules.stop_words)} stop words; "
                     f"{thresholds}")
    if config.content.url_filter:
        per_lang = "; ".join(
            f"`{lang}` {len(w.banned)} banned words, {len(w.banned_subwords)} banned subwords, {len(w.soft)} soft "
            f"words (dropped from {w.soft_threshold} on)"
            for lang in langs or ["default"] for w in [language_rules(None if lang == "default" else lang).url_words])
        lines += ["", "URL words (RefinedWeb, Penedo et al. 2023, App. G.1.2; `content.url_filter`): a document goes on "
                  f"one banned word, one banned subword, or as many distinct soft words as the threshold. {per_lang}."]
    if config.pii.enabled:
        masked = ", ".join(f"{kind} {n['masked']:,} in {n['docs']:,} documents" for kind, n in stats["pii"].items())
        lines += ["", "Personal data masked before dedup and tokenization (stage 6c; placeholders "
                  + ", ".join(f"{k} `{v}`" for k, v in config.pii.placeholders.items()) + f"): {masked}."]
    mh = config.dedup.minhash
    near = stats["dedup"].get("near", {})
    lines += ["", "## Deduplication", "",
              f"Exact: {'on' if config.dedup.exact else 'off'}, {stats['dedup']['exact_removed']:,} removed. "
              f"Near (MinHash LSH): {'on' if mh.enabled else 'off'}, {mh.ngram}-word shingles, Jaccard >= "
              f"{mh.threshold}, {mh.num_perm} permutations, {near.get('bands')} bands x {near.get('rows')} rows; "
              f"{stats['dedup']['near_removed']:,} removed, {stats['dedup']['clusters']:,} clusters, largest "
              f"{stats['dedup']['largest_cluster']:,}. Decontamination: "
              f"{', '.join(config.dedup.decontamination.paths) or 'off'} "
              f"({stats['dedup'].get('decontaminated', 0):,} removed).", ""]
    tok = manifest.get("tokenizer", {})
    if not config.tokenizer.enabled:
        described = "None: a text-only run (`tokens` null; the mix's shares are of bytes)."
    elif tok.get("trained"):
        described = (f"SentencePiece {config.tokenizer.model_type}, {tok.get('vocab_size')} pieces, byte fallback, "
                     f"digits split, identity normalization; trained on this corpus; `{tok.get('path')}` sha256 "
                     f"`{tok.get('sha256')}`" + (f", also as `{tok['tokenizer_json']}`." if tok.get("tokenizer_json")
                                                  else "."))
    else:
        described = f"Given: {tok.get('vocab_size')} pieces, `{tok.get('path')}` sha256 `{tok.get('sha256')}`."
    lines += ["## Tokenizer", "", described, "", "## Shards", ""]
    lines += [f"- `{s['path']}`: {s['rows']:,} rows, {s.get('tokens', 0):,} tokens, sha256 `{s['sha256']}`"
              for s in manifest["shards"]]
    lines += ["", "## Versions", ""] + [f"- {k} {v}" for k, v in sorted(manifest["versions"].items())]
    return "\n".join(lines) + "\n"


def _relaxed_thresholds() -> str:
    by_value = Counter(lid_thresholds().values())
    return "".join(f", {value} (or lower, as configured) for the {n} languages lid.176 is less sure of "
                   "(`lid176.yaml`)" for value, n in sorted(by_value.items()))


def is_run_card(text: str) -> bool:
    """Whether a README.md or DATACARD.md was written by a run (rewritten by the next one) or by a person (kept)."""
    card = text.split("\n---\n\n", 1)[1] if text.startswith("---\nconfigs:\n") and "\n---\n\n" in text else text
    return card.startswith("# Data card\n\nBuilt by corpus ")


def dataset_readme(datacard: str, manifest: dict[str, Any]) -> str:
    """OUT/README.md: the data card under Hugging Face `configs:` front matter, so that `load_dataset("OUT")` (or
    a Hub upload of the folder) gives the shards as the default config and the rejects as a config of their own,
    never mixed (their columns differ) and never the intermediate files under `_work/`."""
    front = ["---", "configs:", "- config_name: default", "  default: true", "  data_files:", "  - split: train",
             "    path: shards/*.parquet"]
    if manifest.get("rejects"):
        front += ["- config_name: rejects", "  data_files:", "  - split: train", "    path: rejects/*.parquet"]
    return "\n".join(front + ["---", "", datacard])
