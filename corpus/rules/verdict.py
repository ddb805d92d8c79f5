"""The outcome of a rule: keep, or drop with the rule's name, the measured value and its threshold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class Verdict:
    keep: bool
    reason: str | None = None
    value: float | None = None
    threshold: float | None = None
    detail: str | None = None        # what matched, where a value does not say it (the URL words that did)


KEEP = Verdict(True)


def check_thresholds(signals: Mapping[str, float], thresholds: Mapping[str, float],
                     rules: tuple[tuple[str, str], ...]) -> Verdict:
    """Apply `(signal, threshold_key)` rules in order; the first that fails names the drop.

    A key starting with `min_` keeps values >= the threshold, `max_` keeps values <= it. The drop reason is the
    threshold key, so a rejected document says exactly which bound it broke (`max_duplicate_line_fraction`).
    """
    for signal, key in rules:
        if key not in thresholds or signal not in signals:
            continue
        value, bound = signals[signal], thresholds[key]
        failed = value < bound if key.startswith("min_") else value > bound
        if failed:
            return Verdict(False, key, float(value), float(bound))
    return KEEP
