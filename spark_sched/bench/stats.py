"""Judge a target on paired per-repetition values: median, 95% bootstrap interval, verdict.

The bar is criterion's and pyperf's: a figure without its uncertainty cannot
tell a win from noise. The interval is scipy's percentile bootstrap of the
median (`scipy.stats.bootstrap`); a verdict is **met** only when the whole
interval lies on the target's side, **missed** when the whole interval lies on
the other side, **inconclusive** when it straddles the bound.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import numpy as np
from scipy import stats

from spark_sched.bench.base import Op, Target, TargetSpec, Verdict

CONFIDENCE = 0.95
RESAMPLES = 9999
SEED = 20101  # fixed: the same runs always give the same interval


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(median, low, high) of `values`; the interval is a percentile bootstrap of the median.

    One value, or values that are all equal, give a zero-width interval at that value:
    scipy refuses to resample a degenerate sample, and there is nothing to resample.
    """
    data = np.asarray([float(v) for v in values], dtype=float)
    if data.size == 0:
        return math.nan, math.nan, math.nan
    median = float(statistics.median(data))
    if data.size == 1 or bool(np.all(data == data[0])):
        return median, median, median
    result = stats.bootstrap((data,), np.median, confidence_level=confidence, n_resamples=RESAMPLES,
                             method="percentile", vectorized=True, axis=-1,
                             rng=np.random.default_rng(SEED))
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return median, min(low, median), max(high, median)


def verdict(low: float, high: float, op: Op, bound: float) -> Verdict:
    """met / missed / inconclusive from where the interval [low, high] lies against `op bound`."""
    if math.isnan(low) or math.isnan(high):
        return "inconclusive"
    if op == "<=":
        return "met" if high <= bound else "missed" if low > bound else "inconclusive"
    return "met" if low >= bound else "missed" if high < bound else "inconclusive"


def judge(spec: TargetSpec, values: Sequence[float]) -> Target:
    """The Target for `spec` from its per-repetition values."""
    median, low, high = median_interval(values)
    return Target(value=median, target=spec.target, verdict=verdict(low, high, spec.op, spec.bound),
                  ci95=(low, high), worst=spec.worst(values), n=len(values))


def all_decided(targets: dict[str, Target]) -> bool:
    """True when no target is inconclusive: more repetitions would not change a verdict's kind."""
    return all(t.verdict != "inconclusive" for t in targets.values())
