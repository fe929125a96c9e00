"""Estimates with confidence intervals from the blocks KMN chose, weighted by the choice's design.

A KMN choice is a stratified random sample over locality classes
(`spark_sched.sampling.design`): class c has N_c blocks of which n_c were read,
each at random within the class. For a ratio of totals R = sum(y) / sum(x) over
all N blocks (x = 1 for a mean per block; y = a block's sum of a value and x
its row count for a mean per row, as in cluster sampling), the estimator is the
combined ratio estimator of stratified sampling (Cochran, *Sampling
Techniques*, 3rd ed., 1977, sec. 6.11):

    R^ = Y^ / X^,   Y^ = sum_c (N_c / n_c) sum_{i in c} y_i   (Horvitz-Thompson totals)

with the linearised variance (ibid. eq. 6.48)

    v(R^) = (1 / X^^2) sum_c N_c^2 (1 - n_c / N_c) s_zc^2 / n_c,   z_i = y_i - R^ x_i,

where s_zc^2 is the sample variance of z within class c; the finite-population
correction (1 - n_c / N_c) drops a fully read class from the variance. The
interval is R^ +- t * sqrt(v) with Student's t at Satterthwaite's effective
degrees of freedom (Cochran sec. 5.4, eq. 5.16), which for one class is n - 1:
the plain cluster-sampling interval of a simple random sample of blocks. Every
class must have a chosen block (else its blocks had probability 0 and nothing
is unbiased) and two wherever it has more than one (else its variance is
unknown): `any_k_of_n(..., min_per_class=2)` guarantees both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from spark_sched.sampling.design import ClassKey, Design
from spark_sched.sampling.errors import SamplingError


@dataclass(frozen=True)
class Interval:
    """An estimate with its two-sided confidence interval (half-width at `level`, `df` degrees of freedom)."""

    estimate: float
    half_width: float
    level: float
    df: float

    @property
    def low(self) -> float:
        return self.estimate - self.half_width

    @property
    def high(self) -> float:
        return self.estimate + self.half_width

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high


def _by_class(design: Design) -> dict[ClassKey, list[int]]:
    members: dict[ClassKey, list[int]] = {}
    for block_id, key in design.class_of.items():
        members.setdefault(key, []).append(block_id)
    return members


def check_design(design: Design | None) -> Design:
    """The design must reach every class, with two blocks wherever a class has more than one."""
    if design is None:
        raise SamplingError("design", None, "a choice under 'uniform' or per-stratum counts (a callable rule's "
                            "choice has no known design)")
    missing = design.missing()
    if missing:
        raise SamplingError("design", f"{len(missing)} of {len(design.sizes)} locality classes unread",
                            "every class read (choose with min_per_class=2; a class never read makes any estimate "
                            "biased)")
    counts = design.counts()
    single = [key for key, n in counts.items() if n == 1 < design.sizes[key]]
    if single:
        raise SamplingError("design", f"{len(single)} locality classes with one block read",
                            "two blocks of every class with more than one (choose with min_per_class=2)")
    return design


def ratio_interval(design: Design | None, y: Mapping[int, float], x: Mapping[int, float] | None = None,
                   level: float = 0.95) -> Interval:
    """sum(y) / sum(x) over all N blocks (x = 1 each when None: the mean per block), from the chosen blocks.

    `y` and `x` give each chosen block's value by block id (a block without the value counts 0).
    """
    design = check_design(design)
    if not 0 < level < 1:
        raise SamplingError("level", level, "a number between 0 and 1, e.g. 0.95")
    members = _by_class(design)
    total_y = total_x = 0.0
    for key, ids in members.items():
        weight = design.sizes[key] / len(ids)
        total_y += weight * sum(float(y.get(i, 0.0)) for i in ids)
        total_x += weight * sum(1.0 if x is None else float(x.get(i, 0.0)) for i in ids)
    if total_x == 0:
        raise SamplingError("x", 0, "a denominator that is not 0 in the chosen blocks")
    ratio = total_y / total_x
    parts, dfs = [], []
    for key, ids in members.items():
        n, size = len(ids), design.sizes[key]
        if n >= size:
            continue  # the whole class was read: no sampling error from it
        z = np.array([float(y.get(i, 0.0)) - ratio * (1.0 if x is None else float(x.get(i, 0.0))) for i in ids])
        part = size * size * (1 - n / size) * float(np.var(z, ddof=1)) / n
        parts.append(part)
        dfs.append(n - 1)
    variance = sum(parts) / (total_x * total_x)
    df = _satterthwaite(parts, dfs)
    half = float(stats.t.ppf((1 + level) / 2, df)) * math.sqrt(variance) if variance > 0 else 0.0
    return Interval(ratio, half, level, df)


def _satterthwaite(parts: list[float], dfs: list[int]) -> float:
    """Effective degrees of freedom of a sum of independent variance estimates (Satterthwaite, 1946)."""
    if not parts:
        return math.inf
    spread = sum(p * p / d for p, d in zip(parts, dfs, strict=True))
    return sum(parts) ** 2 / spread if spread > 0 else float(sum(dfs))
