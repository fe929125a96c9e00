"""Advice from history: the waits a past run *should* have had, from its own event log.

Per located stage the log gives N, T, the miss cost (non-local tasks' extra run time
over the stage's local ones; pooled over the stages, weighted by their misses, into
one P) and what locality the run's wait achieved; the
application gives S (executor cores) and M (hosts). Spark's wait is one setting
per application, so the advice is the one wait that minimises the stages'
expected total time (`cost.cost_aware_wait`), with the model's locality and time
for it beside the run's own. Without a single non-local task in the log a miss's
cost cannot be measured: the advice then keeps the run's waits and says how to
measure it (or, asked for with a target, uses the target mode).

The advice names only settings the run's Spark has (`sparkversions`): before 3.1
there is no `legacyResetOnTaskLaunch`, and the advice says what that Spark does
instead. Figures it cannot compute are null with a reason in JSON and "not
available (reason)" in text, never NaN.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spark_sched.figures import cell, json_figure, missing, text_figure
from spark_sched.locality.check import achieved_vs_predicted, wait_level
from spark_sched.locality.cost import SLACK, WAIT_STEP_S, application_seconds, cost_aware_wait
from spark_sched.locality.history import AppLog, load_app, slots_text
from spark_sched.locality.recommend import _check_target
from spark_sched.locality.stages import NO_LOCAL_SHARE, StageRun, app_stage_runs
from spark_sched.locality.waits import LocalityWait
from spark_sched.sparkversions import UNKNOWN_REASON, SparkVersion, settings_for, timer_reset_note

MAX_TARGET_WAIT_S = 60.0
NO_STAGES = "no stage read cached or located data"
NO_MISS = "no task ran away from its data, so a miss's cost cannot be measured"


@dataclass(frozen=True)
class Advice:
    """The recommended waits for an application, what the model expects of them, and the run they come from."""

    app_id: str
    mode: str  # "cost", "target" or "unmeasured"
    level: str
    wait: LocalityWait
    run_wait: LocalityWait
    nodes: int
    slots: int
    replication: int
    miss_seconds: float | None
    predicted_locality: float
    run_predicted_locality: float
    run_locality: float
    predicted_seconds: float | None
    run_predicted_seconds: float | None
    stages: list[StageRun] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    spark_version: SparkVersion | None = None
    slots_inferred: bool = False
    version_note: str = ""  # what the run's Spark does instead of a setting it lacks

    @property
    def predicted_change(self) -> float | None:
        """Model's job time with the advice over the model's time with the run's wait, minus 1."""
        if self.predicted_seconds is None or not self.run_predicted_seconds:
            return None
        return self.predicted_seconds / self.run_predicted_seconds - 1.0

    def spark_conf(self) -> dict[str, str]:
        """The advised settings that the run's Spark has (none it would not know)."""
        return settings_for(self.spark_version, self.wait.spark_conf())

    def reasons(self) -> dict[str, str]:
        """Why each figure that can be missing is missing here."""
        seconds = NO_MISS if self.stages else NO_STAGES
        local = NO_LOCAL_SHARE if self.stages else NO_STAGES
        return {"miss_seconds": seconds, "predicted_locality": NO_STAGES,
                "run_predicted_locality": NO_STAGES, "run_locality": local, "predicted_seconds": seconds,
                "run_predicted_seconds": seconds, "predicted_change": seconds}

    def to_json(self) -> dict[str, Any]:
        """Strict JSON: every figure the log cannot give is null with `<figure>_reason` beside it."""
        figures: dict[str, Any] = {}
        for key, reason in self.reasons().items():
            figures.update(json_figure(key, getattr(self, key), reason))
        version = self.spark_version.text if self.spark_version else None
        return {
            "application": self.app_id, **json_figure("spark_version", version, UNKNOWN_REASON),
            "mode": self.mode, "level": self.level,
            "spark_conf": self.spark_conf(), "wait_seconds": asdict(self.wait),
            "run_wait_seconds": asdict(self.run_wait),
            "nodes": self.nodes, "slots": self.slots, "slots_inferred": self.slots_inferred,
            "replication": self.replication, **figures,
            "stages": [s.to_json() for s in self.stages], "achieved_vs_predicted": self.checks, "note": self.note,
            "version_note": self.version_note,
        }


def _weighted(values: list[float], weights: list[int]) -> float:
    """The weighted mean of the finite values; NaN when there is none (the caller says why)."""
    pairs = [(v, w) for v, w in zip(values, weights, strict=True) if math.isfinite(v) and w]
    if not pairs:
        return float("nan")
    return float(np.average([v for v, _ in pairs], weights=[w for _, w in pairs]))


def pooled_miss(runs: list[StageRun]) -> float | None:
    """The stages' miss costs, weighted by their misses (None when no stage measured one)."""
    measured = [(r.miss_seconds, r.misses) for r in runs if r.miss_seconds is not None and r.misses]
    if not measured:
        return None
    return _weighted([m for m, _ in measured], [n for _, n in measured])


def _locality_at(app: AppLog, runs: list[StageRun], wait: float) -> float:
    return _weighted([r.predicted(wait, app.slots, app.hosts, app.replication) for r in runs], [r.tasks for r in runs])


def _target_wait(app: AppLog, runs: list[StageRun], target: float) -> float:
    """The shortest wait (on the cost model's grid) whose task-weighted predicted locality reaches `target`."""
    for wait in np.arange(0.0, MAX_TARGET_WAIT_S + WAIT_STEP_S / 2, WAIT_STEP_S):
        if _locality_at(app, runs, float(wait)) >= target:
            return float(wait)
    return MAX_TARGET_WAIT_S


def _as_waits(level: str, wait: float) -> LocalityWait:
    return LocalityWait(wait, 0.0, 0.0, True) if level == "process" else LocalityWait(0.0, wait, 0.0, True)


def advise(app: AppLog, target: float | None = None, slack: float = SLACK) -> Advice:
    """The waits for `app`'s workload: by miss cost (default), or reaching `target` locality when one is given."""
    target = None if target is None else _check_target(target)
    runs = app_stage_runs(app)
    level, run_waits = wait_level(app), app.waits
    run_wait = run_waits.at(level)
    checks = achieved_vs_predicted(app, runs)
    miss = pooled_miss(runs)
    note = ""
    if not runs:
        mode, wait, note = "unmeasured", run_wait, "no stage read cached or located data: the wait does not matter here"
    elif app.hosts == 1:
        mode, wait, note = "cost", 0.0, "one host: every slot is local, no wait needed"
    elif target is not None:
        mode, wait = "target", _target_wait(app, runs, target)
    elif miss is None:
        mode, wait = "unmeasured", run_wait
        note = ("no task ran away from its data, so a miss's cost cannot be measured: keeping the run's wait; run "
                "once with spark.locality.wait=0 to measure it, or pass --target")
    else:
        mode = "cost"
        shapes = [r.shape(app.slots, app.hosts, app.replication, miss) for r in runs]
        wait = cost_aware_wait(shapes, slack)
    seconds: tuple[float | None, float | None] = (None, None)
    if runs and miss is not None:
        shapes = [r.shape(app.slots, app.hosts, app.replication, miss) for r in runs]
        both = application_seconds(shapes, np.array([wait, run_wait]))
        seconds = (float(both[0]), float(both[1]))
    advised = run_waits if mode == "unmeasured" else _as_waits(level, wait)
    return Advice(
        app_id=app.app_id, mode=mode, level=level, wait=advised, run_wait=run_waits, nodes=app.hosts,
        slots=app.slots, replication=app.replication, miss_seconds=miss,
        predicted_locality=_locality_at(app, runs, wait) if runs else float("nan"),
        run_predicted_locality=_locality_at(app, runs, run_wait) if runs else float("nan"),
        run_locality=_weighted([r.local_fraction for r in runs], [r.tasks for r in runs]),
        predicted_seconds=seconds[0], run_predicted_seconds=seconds[1], stages=runs, checks=checks, note=note,
        spark_version=app.spark_version, slots_inferred=app.slots_inferred,
        version_note=timer_reset_note(app.spark_version) if advised.reset_on_launch else "",
    )


def advise_eventlog(path: str | Path, target: float | None = None) -> Advice:
    """`advise` on an application's event log (file or rolled directory, zstd or plain)."""
    return advise(load_app(path), target)


def advice_text(advice: Advice) -> list[str]:
    """The advice as `spark-sched locality advise` prints it: conf lines, then '#' lines of evidence."""
    reasons = advice.reasons()
    lines = [f"{key}={value}" for key, value in advice.spark_conf().items()]
    run = advice.run_wait.at(advice.level)
    miss = "not measured" if advice.miss_seconds is None else f"{advice.miss_seconds:.3f}s"
    version = f"Spark {advice.spark_version}" if advice.spark_version else "Spark version not in the log"
    slots = slots_text(advice.slots, advice.slots_inferred)
    lines.append(f"# {advice.app_id} ({version}): {len(advice.stages)} located stage(s), M={advice.nodes} hosts, "
                 f"{slots}, R={advice.replication}, miss penalty {miss} ({advice.mode} mode)")
    run_locality = text_figure(advice.run_locality, ".3f", reasons["run_locality"])
    if not missing(advice.run_predicted_locality):  # missing only with no located stage, as run_locality then is
        run_locality += f" (model {advice.run_predicted_locality:.3f})"
    lines.append(f"# run: {advice.level} wait {run * 1000:.0f}ms, locality {run_locality}")
    change = advice.predicted_change
    change_text = "" if change is None else f", job time {change:+.1%} vs the run's wait (model)"
    predicted = text_figure(advice.predicted_locality, ".3f", reasons["predicted_locality"])
    lines.append(f"# advised: {advice.level} wait {advice.wait.at(advice.level) * 1000:.0f}ms, predicted locality "
                 f"{predicted}{change_text}")
    lines.append(f"# {'stage':>5} {'tasks':>6} {'T s':>7} {'miss s':>7} {'achieved':>9} {'predicted':>9}")
    for stage, check in zip(advice.stages, advice.checks, strict=True):
        lines.append(f"# {stage.stage_id:>5} {stage.tasks:>6} {stage.task_seconds:>7.3f} "
                     f"{cell(stage.miss_seconds, '.3f', 7)} {cell(check['achieved'], '.3f', 9)} "
                     f"{check['predicted']:>9.3f}")
    if any(check["achieved"] is None for check in advice.checks):
        lines.append(f"# (-: {NO_LOCAL_SHARE})")
    if advice.note:
        lines.append(f"# note: {advice.note}")
    if advice.version_note:
        lines.append(f"# note: {advice.version_note}")
    return lines
