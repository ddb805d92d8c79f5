"""SPEC stage 10: mix sources by shares of output tokens, deterministically, with epoch accounting.

Every unit (a document or a part `ID#k`) has a 64-bit mix position from hash(seed, id). A source with sampling rate
r = n + f repeats every unit n times and adds one more copy of the units with the smallest positions until f of its
tokens are covered. The cut-off is found from a histogram of tokens over the top 16 bits of the position (a few
thousand numbers per source, summed from each unit's), at the boundary nearest the tokens wanted: within half a
histogram bucket at scale, within half the unit the cut falls in on small inputs. A share is thus as fine as the
source's units: a handful of long books meets it only when their parts (`mix.max_doc_tokens`) are small beside the
output. Nothing depends on random draws, workers or bundles. The tokenizer's training sample uses the same
machinery with bytes (tokens do not exist yet), weighted by the same shares.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from corpus.ids import MIX, position

HISTOGRAM_BITS = 16
# MassiveText mixture (Gopher, Rae et al. 2021, Table 2): shares of output tokens per category.
MASSIVETEXT_WEIGHTS = {"web": 0.48, "books": 0.27, "c4": 0.10, "news": 0.10, "code": 0.03, "wikipedia": 0.02}
# Source kinds that are a MassiveText category by what they read; jsonl, parquet and text could hold anything.
KIND_CATEGORIES = {"warc": "web", "wet": "web", "wikipedia": "wikipedia", "books": "books"}


def mix_position(unit_id: str, seed: int) -> int:
    return position(unit_id, seed, MIX)


def histogram_bucket(position: int) -> int:
    return position >> (64 - HISTOGRAM_BITS)


@dataclass(frozen=True)
class SourcePlan:
    """How often a source's units are written: `whole` copies of each, one more below `partial_bucket`."""

    rate: float
    whole: int
    partial_bucket: int
    available: int        # tokens (or bytes) before mixing
    planned: int          # tokens (or bytes) the plan writes

    def copies(self, position: int) -> int:
        return self.whole + (1 if histogram_bucket(position) < self.partial_bucket else 0)


def _partial_bucket(histogram: dict[int, int], wanted: float) -> tuple[int, int]:
    """The bucket boundary whose cumulative amount is closest to `wanted`; (boundary, amount below it)."""
    best_boundary, best_amount, cumulative = 0, 0, 0
    for bucket in sorted(histogram):
        cumulative += histogram[bucket]
        if abs(cumulative - wanted) < abs(best_amount - wanted):
            best_boundary, best_amount = bucket + 1, cumulative
        if cumulative >= wanted:
            break
    return best_boundary, best_amount


def plan_mix(histograms: dict[str, dict[int, int]], weights: dict[str, float], target: int | None,
             max_epochs: float, cap_at_one: bool = False) -> dict[str, SourcePlan]:
    """Per-source plans that give each source `weights[s]` of the output (weights renormalised over sources that
    have anything). `target` None: the largest output no source needs more than `max_epochs` for. Rates are capped
    at `max_epochs` (or at 1 with `cap_at_one`, for the tokenizer sample); a capped source falls short of its
    share, which the achieved shares then show."""
    available = {s: sum(h.values()) for s, h in histograms.items()}
    active = {s: w for s, w in weights.items() if w > 0 and available.get(s, 0) > 0}
    total_weight = sum(active.values())
    cap = 1.0 if cap_at_one else max_epochs
    if total_weight == 0:
        return {s: SourcePlan(0.0, 0, 0, available.get(s, 0), 0) for s in histograms}
    shares = {s: w / total_weight for s, w in active.items()}
    if target is None:
        target_total = min(available[s] * cap / shares[s] for s in shares)
    else:
        target_total = float(target)
    plans: dict[str, SourcePlan] = {}
    for source, histogram in histograms.items():
        if source not in shares:
            plans[source] = SourcePlan(0.0, 0, 0, available.get(source, 0), 0)
            continue
        rate = min(target_total * shares[source] / available[source], cap)
        whole = math.floor(rate)
        boundary, extra = _partial_bucket(histogram, (rate - whole) * available[source])
        plans[source] = SourcePlan(rate, whole, boundary, available[source], whole * available[source] + extra)
    return plans


def massivetext_category(kind: str, name: str) -> str | None:
    """The MassiveText category whose share a source gets when the config gives it no weight: by kind for the
    kinds that say what the text is (warc/wet are web), by name for those that do not (jsonl, parquet, text)."""
    return KIND_CATEGORIES.get(kind) or (name if name in MASSIVETEXT_WEIGHTS else None)


def share_targets(sources: list[tuple[str, str]], weights: dict[str, float]) -> dict[str, float]:
    """Target shares of output tokens per source, from (name, kind) pairs, renormalised to sum to 1: the configured
    weight, else the source's MassiveText category share split equally among the unweighted sources of that
    category (two web crawls share web's 48, not 48 each). A lone source without either gets everything (config
    validation refuses one beside others)."""
    unweighted = {name: massivetext_category(kind, name) for name, kind in sources if name not in weights}
    members = Counter(unweighted.values())
    raw = {name: weights[name] if name in weights else
           MASSIVETEXT_WEIGHTS[unweighted[name]] / members[unweighted[name]] if unweighted[name] else 1.0
           for name, _ in sources}
    total = sum(raw.values())
    return {name: w / total for name, w in raw.items()}
