"""The contract every experiment follows, so the harness can run and judge any of them the same way.

An experiment is a small object (Spark's policies are comparators; ours are
one-method objects too): it names its variants, prepares shared resources once,
measures one repetition of one variant, names the targets it is judged by, and
turns the medians into informational ratios. The harness (`spark_sched.bench.harness`)
interleaves repetitions, rotates which variant goes first (v1 v2 v3, v2 v3 v1, ...),
and judges every target on paired per-repetition values with a bootstrap interval
(`spark_sched.bench.stats`), so an experiment never judges itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

Verdict = Literal["met", "missed", "inconclusive"]
Op = Literal["<=", ">="]
Runs = Mapping[str, Sequence[Mapping[str, float]]]


@dataclass(frozen=True)
class TargetSpec:
    """A figure the experiment promises, judged per repetition.

    Without a `baseline` the judged value of repetition r is `variant.metric` in r
    (an absolute figure: a p99, a fraction). With one it is the paired ratio
    `variant.metric / (scale * baseline.baseline_metric)`, both from repetition r:
    interleaved neighbours in time, so drift on the machine cancels in the ratio.
    `samples` replaces the runs altogether for a figure measured apart from them
    (a chooser timed on its own in setup).
    """

    name: str
    op: Op
    bound: float
    variant: str = ""
    metric: str = ""
    baseline: str | None = None
    baseline_metric: str | None = None
    scale: float = 1.0
    samples: tuple[float, ...] | None = None

    @property
    def target(self) -> str:
        return f"{self.op} {self.bound:.4g}"

    def values(self, runs: Runs) -> list[float]:
        """The judged value of every repetition where both sides were measured (NaN and missing skipped)."""
        if self.samples is not None:
            return [float(v) for v in self.samples if _finite(v)]
        tops = [r.get(self.metric) for r in runs.get(self.variant, ())]
        if self.baseline is None:
            return [float(v) for v in tops if _finite(v)]
        metric = self.baseline_metric or self.metric
        bottoms = [r.get(metric) for r in runs.get(self.baseline, ())]
        out = []
        for top, bottom in zip(tops, bottoms, strict=False):
            if _finite(top) and _finite(bottom) and bottom != 0:
                out.append(float(top) / (self.scale * float(bottom)))
        return out

    def worst(self, values: Sequence[float]) -> float:
        """The repetition furthest on the wrong side: a target met only in the median is narrow."""
        if not values:
            return math.nan
        return max(values) if self.op == "<=" else min(values)


@dataclass(frozen=True)
class Target:
    """A judged target: median paired value, its 95% interval, the worst repetition and the verdict."""

    value: float
    target: str
    verdict: Verdict
    ci95: tuple[float, float] = (math.nan, math.nan)
    worst: float = math.nan
    n: int = 0

    @property
    def met(self) -> bool:
        return self.verdict == "met"

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "ci95": list(self.ci95), "worst": self.worst, "n": self.n,
                "target": self.target, "verdict": self.verdict, "met": self.met}


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(float(value))


@dataclass
class BenchContext:
    """What the harness hands an experiment: where to write, how big to run, which master to use.

    `repetitions` is the minimum number of interleaved repetitions, `max_repetitions`
    the most the adaptive harness runs while some target is still inconclusive; an
    experiment whose runs are short may raise both in `setup`.
    """

    out_dir: Path
    quick: bool = False
    master: str | None = None
    repetitions: int = 3
    max_repetitions: int = 7
    params: dict[str, Any] = field(default_factory=dict)
    cluster: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)


class Experiment(Protocol):
    """One benchmark question, answered by running its variants side by side."""

    name: str
    description: str
    variants: tuple[str, ...]

    def setup(self, ctx: BenchContext) -> None:
        """Start what all repetitions share (a session, a cluster); record params in ctx.params."""

    def run(self, variant: str, repetition: int, ctx: BenchContext) -> dict[str, float]:
        """Measure one repetition of one variant; return its metrics (numbers only)."""
        ...

    def targets(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> list[TargetSpec]:
        """The targets to judge, given the medians so far (a target may name the best variant by median)."""
        ...

    def summarize(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> dict[str, float]:
        """From per-variant medians, the informational ratios the JSON reports (and plots, if any)."""
        ...

    def teardown(self, ctx: BenchContext) -> None:
        """Stop everything setup started, also after a failure."""
