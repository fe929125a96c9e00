"""Small helpers the experiments share: readable target specs and ratios that tolerate missing metrics.

Medians handed to `targets()` and `summarize()` may lack a variant or a metric
(a run that measured nothing, a metric that was NaN in every repetition); these
helpers give NaN then instead of failing.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping

from spark_sched.bench.base import Op, Runs, TargetSpec

Medians = Mapping[str, Mapping[str, float]]


def absolute(variant: str, metric: str, op: Op, bound: float, name: str | None = None) -> TargetSpec:
    """`variant.metric` judged as it is in every repetition (a p99, a fraction)."""
    return TargetSpec(name or f"{variant}.{metric}", op, bound, variant=variant, metric=metric)


def paired(variant: str, metric: str, op: Op, bound: float, baseline: str, baseline_metric: str | None = None,
           scale: float = 1.0, name: str | None = None) -> TargetSpec:
    """`variant.metric / (scale * baseline.baseline_metric)`, both from the same repetition."""
    bottom = baseline_metric or metric
    return TargetSpec(name or f"{variant}.{metric} / {baseline}.{bottom}", op, bound, variant=variant,
                      metric=metric, baseline=baseline, baseline_metric=baseline_metric, scale=scale)


def value(variants: Medians, variant: str, metric: str) -> float:
    """A variant's median of `metric`, NaN when it was not measured."""
    v = variants.get(variant, {}).get(metric)
    return float(v) if v is not None else math.nan


def ratio(variants: Medians, top: str, bottom: str, metric: str, bottom_metric: str | None = None) -> float:
    """Ratio of two variants' medians, NaN when either is missing or the bottom is 0."""
    a, b = value(variants, top, metric), value(variants, bottom, bottom_metric or metric)
    return a / b if b and not math.isnan(b) else math.nan


def paired_median(runs: Runs, top: str, bottom: str, metric: str, bottom_metric: str | None = None) -> float:
    """Median over repetitions of `top.metric / bottom.metric` in the same repetition (informational)."""
    values = paired(top, metric, "<=", math.inf, bottom, bottom_metric).values(runs)
    return statistics.median(values) if values else math.nan
