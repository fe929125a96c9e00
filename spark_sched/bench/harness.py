"""Run one experiment's variants side by side: set up once, interleave repetitions, judge the targets.

Repetitions are interleaved (v1, v2, v3, then v2, v3, v1, then v3, v1, v2, ...)
so that drift on a shared 2-core machine (another process, a warming JIT, a
filling page cache) hits every variant alike, and rotating who goes first
keeps "always runs second, on a warmer JVM" from favouring one variant; a
ratio of medians taken this way is what the experiment reports, never a lone
absolute time.

Repetitions are adaptive: after the minimum, the harness judges every target
(`spark_sched.bench.stats`: paired per-repetition values, median, 95% bootstrap
interval, verdict) after each repetition and stops when none is inconclusive,
or at the maximum. The machine's state before and after every run is recorded
(`spark_sched.bench.machine`) so a reader can tell a quiet run from a noisy one.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spark_sched.bench.base import BenchContext, Experiment, Target
from spark_sched.bench.machine import MachineLog, static_state
from spark_sched.bench.stats import all_decided, judge

MIN_REPETITIONS = 3

# Called after every run: (variant, repetition, metrics). The CLI draws its progress bar with it.
ProgressHook = Callable[[str, int, dict[str, float]], None]


@dataclass
class BenchResult:
    """Everything one harness run produced; `to_json()` is the bench JSON that `spark-sched bench report` reads.

    Its shape: experiment, spark, cluster, params, quick, machine (commit, load, noise), variants
    (medians), spread (min and max), runs (every repetition), ratios and targets (value, 95% interval,
    verdict), so a result can be judged and rendered again without rerunning anything.
    """

    experiment: str
    description: str
    spark: str
    cluster: dict[str, Any]
    params: dict[str, Any]
    variants: dict[str, dict[str, float]]
    spread: dict[str, dict[str, dict[str, float]]]
    runs: dict[str, list[dict[str, float]]]
    ratios: dict[str, float]
    targets: dict[str, Target]
    repetitions: int
    quick: bool
    master: str | None
    started: float
    seconds: float
    max_repetitions: int = 0
    stopped: str = ""
    machine: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    measured_by: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "description": self.description,
            "spark": self.spark,
            "cluster": self.cluster,
            "params": self.params,
            "variants": self.variants,
            "ratios": self.ratios,
            "targets": {name: t.to_json() for name, t in self.targets.items()},
            "spread": self.spread,
            "runs": self.runs,
            "repetitions": self.repetitions,
            "max_repetitions": self.max_repetitions,
            "stopped": self.stopped,
            "quick": self.quick,
            "machine": self.machine,
            "master": self.master,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "seconds": round(self.seconds, 3),
            "measured_by": self.measured_by,
        }


def spark_version() -> str:
    """The pyspark version this run used (the JVM is the same distribution)."""
    import pyspark

    return pyspark.__version__


def _metric_names(runs: list[dict[str, float]]) -> list[str]:
    names: list[str] = []
    for run in runs:
        names.extend(n for n in run if n not in names)
    return names


def rotated(variants: tuple[str, ...], repetition: int) -> tuple[str, ...]:
    """The run order of one repetition: the variants rotated by the repetition number."""
    shift = repetition % len(variants) if variants else 0
    return tuple(variants[shift:]) + tuple(variants[:shift])


def _present(value: float | None) -> bool:
    return value is not None and not math.isnan(float(value))


def medians_and_spread(
    runs: dict[str, list[dict[str, float]]],
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, dict[str, float]]]]:
    """Per variant and metric: the median, and min/max/n of the repetitions (missing or NaN values skipped)."""
    medians: dict[str, dict[str, float]] = {}
    spread: dict[str, dict[str, dict[str, float]]] = {}
    for variant, variant_runs in runs.items():
        medians[variant], spread[variant] = {}, {}
        for metric in _metric_names(variant_runs):
            values = [float(r[metric]) for r in variant_runs if _present(r.get(metric))]
            if not values:
                continue
            medians[variant][metric] = statistics.median(values)
            spread[variant][metric] = {"min": min(values), "max": max(values), "n": len(values)}
    return medians, spread


def measured_by(seen: list[str]) -> dict[str, Any]:
    """Which source measured the run: asked (the process's setting) and seen (windows closed in this process).

    `seen` is empty for experiments whose variants run in their own Python processes; those
    inherit the setting through the environment.
    """
    import os

    from spark_sched.measure.sparkmeasure import SOURCE_ENV

    return {"asked": os.environ.get(SOURCE_ENV, "spark"), "seen": seen}


def prefer_sparkmeasure() -> str:
    """Where a local sparkMeasure jar resolves, have every application of the run measured by it too.

    Sets `SPARK_SCHED_MEASURE=sparkmeasure` for this process and the variants it starts, unless the
    caller chose a source already; returns the line that says what was chosen and why.
    """
    import os

    from spark_sched.config import load_settings
    from spark_sched.measure.jar import resolve
    from spark_sched.measure.sparkmeasure import SOURCE_ENV

    if os.environ.get(SOURCE_ENV):
        return f"spark-sched bench: measured by {os.environ[SOURCE_ENV]} ({SOURCE_ENV} is set)"
    choice = resolve(load_settings())
    if choice.path is None:
        return "spark-sched bench: measured by Spark's own records (no local sparkMeasure jar; see `measure jar`)"
    os.environ[SOURCE_ENV] = "sparkmeasure"
    return f"spark-sched bench: stage metrics by sparkMeasure ({choice.path}), tasks by Spark's records"


EVERY_TARGET_DECIDED = "every target decided"
MAXIMUM_REACHED = "maximum repetitions"


def judge_targets(experiment: Experiment, runs: dict[str, list[dict[str, float]]],
                  ctx: BenchContext) -> dict[str, Target]:
    """Every target the experiment names, judged on the runs so far."""
    medians, _ = medians_and_spread(runs)
    return {spec.name: judge(spec, spec.values(runs)) for spec in experiment.targets(medians, ctx)}


def _repeat(experiment: Experiment, ctx: BenchContext, runs: dict[str, list[dict[str, float]]],
            machine: MachineLog, on_run: ProgressHook | None) -> tuple[int, str]:
    """Interleave repetitions until every target is decided (after the minimum) or the maximum is reached."""
    minimum = max(MIN_REPETITIONS, int(ctx.repetitions))
    maximum = max(minimum, int(ctx.max_repetitions))
    ctx.repetitions, ctx.max_repetitions = minimum, maximum
    for repetition in range(maximum):
        for variant in rotated(experiment.variants, repetition):
            machine.before_run(variant, repetition)
            try:
                metrics = experiment.run(variant, repetition, ctx)
            finally:
                machine.after_run()
            runs[variant].append(dict(metrics))
            if on_run is not None:
                on_run(variant, repetition, metrics)
        if repetition + 1 >= minimum and all_decided(judge_targets(experiment, runs, ctx)):
            return repetition + 1, EVERY_TARGET_DECIDED
    return maximum, MAXIMUM_REACHED


def run_experiment(experiment: Experiment, ctx: BenchContext, on_run: ProgressHook | None = None,
                   machine: MachineLog | None = None) -> BenchResult:
    """Set up, run the variants interleaved (adaptively many times), judge and summarize; always tear down."""
    from spark_sched.measure import sources_seen

    machine = machine or MachineLog(static=static_state())
    started = time.time()
    sources_seen(reset=True)
    runs: dict[str, list[dict[str, float]]] = {v: [] for v in experiment.variants}
    try:
        experiment.setup(ctx)
        repetitions, stopped = _repeat(experiment, ctx, runs, machine, on_run)
        medians, spread = medians_and_spread(runs)
        targets = judge_targets(experiment, runs, ctx)
        ratios = experiment.summarize(medians, ctx)
    finally:
        experiment.teardown(ctx)
    return BenchResult(
        experiment=experiment.name,
        description=experiment.description,
        spark=spark_version(),
        cluster=dict(ctx.cluster),
        params=dict(ctx.params),
        variants=medians,
        spread=spread,
        runs=runs,
        ratios=dict(ratios),
        targets=targets,
        repetitions=repetitions,
        max_repetitions=ctx.max_repetitions,
        stopped=stopped,
        quick=ctx.quick,
        machine=machine.to_json(),
        master=ctx.master,
        started=started,
        seconds=time.time() - started,
        measured_by=measured_by(sources_seen()),
    )
