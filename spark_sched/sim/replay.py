"""An event log replayed in the model: as recorded (how far the model is from the run), then under other settings.

As recorded, the trace's jobs run under the settings the application had, once
per seed (the model randomises the order of offers as Spark shuffles them); each
job's predicted time is its median over the seeds, and the model's error is the
median over finished jobs of |predicted - recorded| / recorded.

A what-if runs the same jobs with the same seeds under the other settings, so
each seed gives a paired change of each figure (median and p99 job time,
locality, per pool and tag). The change reported is the median of those; its
uncertainty is sqrt(s^2 + e^2), s the change's spread over seeds (standard
deviation) and e the model's as-recorded error on that figure (relative for
times, absolute for locality): the recorded run's error is taken to hold for the
what-if prediction as well and not to cancel in the difference (the cautious
reading; an error that is the same in both runs would cancel).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from spark_sched.errors import SettingsError
from spark_sched.locality.waits import LocalityWait
from spark_sched.sim.results import SimResult
from spark_sched.sim.settings import MODES, SimSettings
from spark_sched.sim.simulator import simulate
from spark_sched.sim.trace import RecordedJob, Trace

DEFAULT_SEEDS = 5
TIME_FIGURES = ("median_s", "p99_s")


@dataclass(frozen=True)
class Predicted:
    """One job over the seeds: its predicted time (median) and locality (finished jobs only)."""

    job_id: int
    times: tuple[float, ...]
    local: int
    tasks: int

    @property
    def time(self) -> float:
        finite = [t for t in self.times if math.isfinite(t)]
        return float(np.median(finite)) if finite else math.nan


@dataclass
class Comparison:
    """Recorded against predicted as recorded, and (when settings were given) the what-if's predicted change."""

    trace: Trace
    seeds: tuple[int, ...]
    recorded: dict[str, float]
    predicted: dict[str, float]
    spread: dict[str, float]
    jobs: list[dict[str, Any]]
    groups: dict[str, dict[str, float]]
    error: dict[str, float]
    whatif: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def median_abs_error(self) -> float:
        return self.error["job_time"]

    def to_json(self) -> dict[str, Any]:
        """Strict JSON: every NaN or infinity as null."""
        t = self.trace
        return _finite({
            "eventlog": str(t.path), "app_id": t.app_id, "seeds": list(self.seeds),
            "cluster": {"hosts": len(t.cluster.hosts), "slots_per_host": t.cluster.slots,
                        "racks": len(set(t.cluster.rack(h) for h in t.cluster.hosts))},
            "settings": describe(t.settings), "counts": {"jobs": len(t.jobs), "stages": t.stage_count,
                                                          "tasks": t.task_count},
            "recorded": self.recorded, "predicted": self.predicted, "predicted_spread": self.spread,
            "error": self.error, "groups": self.groups, "jobs": self.jobs, "whatif": self.whatif,
            "notes": [*t.notes, *self.notes],
        })


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def describe(settings: SimSettings) -> dict[str, Any]:
    w = settings.waits
    return {"mode": settings.mode, "pools": [{"name": p.name, "mode": p.mode, "weight": p.weight,
                                              "minShare": p.min_share} for p in settings.pools],
            "locality_wait_s": {"process": w.process, "node": w.node, "rack": w.rack},
            "legacy_reset": settings.reset_on_launch, "revive_s": settings.revive_s}


def whatif_settings(base: SimSettings, pools: str | Path | None = None, locality_wait: float | None = None,
                    mode: str | None = None, legacy_reset: bool | None = None) -> SimSettings:
    """`base` with the overrides given: a pool file (FAIR with its pools), one wait for every level, a mode, a reset."""
    settings = base.with_pool_file(pools) if pools is not None else base
    if locality_wait is not None:
        wait = float(locality_wait)
        reset = settings.waits.reset_on_launch
        settings = replace(settings, waits=LocalityWait(wait, wait, wait, reset))
    if mode is not None:
        if mode.upper() not in MODES:
            raise SettingsError("--mode", mode, MODES)
        settings = replace(settings, mode=mode.upper())
    if legacy_reset is not None:
        w = settings.waits
        settings = replace(settings, waits=LocalityWait(w.process, w.node, w.rack, legacy_reset))
    return settings


def replay(trace: Trace, settings: SimSettings | None = None, seed: int = 0,
           seeds: int = DEFAULT_SEEDS) -> Comparison:
    """Replay `trace` as recorded over `seeds` seeds from `seed`; with `settings`, also the what-if against it."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise SettingsError("--seeds", seeds, "a whole number >= 1")
    seed_list = tuple(range(seed, seed + seeds))
    base = [simulate(trace.cluster, trace.jobs, trace.settings, s) for s in seed_list]
    compared = trace.finished()
    predicted = _per_job(base, compared)
    rows = [_job_row(job, predicted[job.job_id]) for job in compared]
    recorded = _recorded_figures(compared)
    per_seed = [_figures(result, compared) for result in base]
    figures = {k: _median([f[k] for f in per_seed]) for k in recorded}
    spread = {k: _sd([f[k] for f in per_seed]) for k in recorded}
    errors = [r["error"] for r in rows if math.isfinite(r["error"])]
    error = {"job_time": _median(errors),
             "median_s": _rel(figures["median_s"], recorded["median_s"]),
             "p99_s": _rel(figures["p99_s"], recorded["p99_s"]),
             "locality": abs(figures["locality"] - recorded["locality"]), "compared_jobs": float(len(errors))}
    comparison = Comparison(trace, seed_list, recorded, figures, spread, rows, _groups(compared, predicted), error)
    if len(compared) < len(trace.recorded):
        comparison.notes.append(f"{len(trace.recorded) - len(compared)} jobs did not succeed in the log: simulated, "
                                "not compared")
    if settings is not None:
        runs = [simulate(trace.cluster, trace.jobs, settings, s) for s in seed_list]
        comparison.whatif = _whatif(settings, base, runs, compared, error)
    return comparison


def _per_job(results: Sequence[SimResult], jobs: Iterable[RecordedJob]) -> dict[int, Predicted]:
    wanted = {j.job_id for j in jobs}
    times: dict[int, list[float]] = {j: [] for j in wanted}
    local = dict.fromkeys(wanted, 0)
    tasks = dict.fromkeys(wanted, 0)
    for result in results:
        for out in result.jobs:
            if out.job_id in wanted:
                times[out.job_id].append(out.duration if out.status == "SUCCEEDED" else math.nan)
                local[out.job_id] += out.local
                tasks[out.job_id] += out.tasks
    return {j: Predicted(j, tuple(times[j]), local[j], tasks[j]) for j in wanted}


def _job_row(job: RecordedJob, predicted: Predicted) -> dict[str, Any]:
    return {"job": job.job_id, "pool": job.pool, "tags": list(job.tags), "arrival_s": job.arrival,
            "recorded_s": job.duration, "predicted_s": predicted.time,
            "error": abs(predicted.time - job.duration) / job.duration if job.duration > 0 else math.nan,
            "recorded_locality": job.local / max(1, sum(job.localities.values())),
            "predicted_locality": predicted.local / predicted.tasks if predicted.tasks else math.nan}


def _stats(times: Sequence[float], local: int, total: int) -> dict[str, float]:
    finite = np.array([t for t in times if math.isfinite(t)], dtype=float)
    if not len(finite):
        return {"jobs": 0.0, "median_s": math.nan, "p99_s": math.nan, "mean_s": math.nan,
                "locality": local / total if total else math.nan}
    return {"jobs": float(len(finite)), "median_s": float(np.median(finite)),
            "p99_s": float(np.percentile(finite, 99)), "mean_s": float(finite.mean()),
            "locality": local / total if total else math.nan}


def _recorded_figures(jobs: Sequence[RecordedJob]) -> dict[str, float]:
    return _stats([j.duration for j in jobs], sum(j.local for j in jobs),
                  sum(sum(j.localities.values()) for j in jobs))


def _figures(result: SimResult, jobs: Sequence[RecordedJob], keep: Callable[[Any], bool] = lambda _: True
             ) -> dict[str, float]:
    """The figures of one simulation over the compared jobs (those `keep` accepts)."""
    wanted = {j.job_id for j in jobs}
    outs = [o for o in result.jobs if o.job_id in wanted and keep(o)]
    done = [o for o in outs if o.status == "SUCCEEDED"]
    return _stats([o.duration for o in done], sum(o.local for o in done), sum(o.tasks for o in done))


def _group_keys(pool: str, tags: Iterable[str]) -> list[str]:
    return [f"pool:{pool}", *(f"tag:{t}" for t in tags)]


def _groups(jobs: Sequence[RecordedJob], predicted: dict[int, Predicted]) -> dict[str, dict[str, float]]:
    """Per pool and per tag (when the log has more than one pool, or any tag): recorded, predicted, error."""
    keys = sorted({k for j in jobs for k in _group_keys(j.pool, j.tags)})
    if len([k for k in keys if k.startswith("pool:")]) < 2:
        keys = [k for k in keys if not k.startswith("pool:")]
    out = {}
    for key in keys:
        members = [j for j in jobs if key in _group_keys(j.pool, j.tags)]
        rec = float(np.median([j.duration for j in members]))
        pred = _median([predicted[j.job_id].time for j in members])
        errs = [abs(predicted[j.job_id].time - j.duration) / j.duration for j in members if j.duration > 0]
        out[key] = {"jobs": float(len(members)), "recorded_median_s": rec, "predicted_median_s": pred,
                    "median_abs_error": _median(errs)}
    return out


def _whatif(settings: SimSettings, base: Sequence[SimResult], runs: Sequence[SimResult],
            jobs: Sequence[RecordedJob], error: dict[str, float]) -> dict[str, Any]:
    """Each figure's paired change (what-if minus as recorded, per seed), its median, spread and uncertainty."""
    figures = {"all": lambda _: True}
    for key in sorted({k for j in jobs for k in _group_keys(j.pool, j.tags)}):
        kind, _, name = key.partition(":")
        figures[key] = ((lambda o, n=name: o.pool == n) if kind == "pool" else (lambda o, n=name: n in o.tags))
    out: dict[str, Any] = {"settings": describe(settings), "figures": {}}
    for group, keep in figures.items():
        before = [_figures(r, jobs, keep) for r in base]
        after = [_figures(r, jobs, keep) for r in runs]
        out["figures"][group] = {name: _change(name, before, after, error) for name in (*TIME_FIGURES, "locality")}
    return out


def _change(name: str, before: Sequence[dict[str, float]], after: Sequence[dict[str, float]],
            error: dict[str, float]) -> dict[str, float]:
    a = [b[name] for b in before]
    w = [x[name] for x in after]
    if name == "locality":
        changes = [y - x for x, y in zip(a, w, strict=True)]
        model = error["locality"]
    else:
        changes = [y / x - 1 if x > 0 else math.nan for x, y in zip(a, w, strict=True)]
        model = error["job_time"]
    change, spread = _median(changes), _sd(changes)
    uncertainty = math.hypot(spread, model) if math.isfinite(model) else spread
    return {"as_recorded": _median(a), "whatif": _median(w), "change": change, "spread": spread,
            "uncertainty": uncertainty, "beyond_uncertainty": bool(abs(change) > uncertainty)
            if math.isfinite(change) and math.isfinite(uncertainty) else False,
            "kind": "absolute" if name == "locality" else "relative"}


def _median(values: Iterable[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.median(finite)) if finite else math.nan


def _sd(values: Iterable[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0


def _rel(predicted: float, recorded: float) -> float:
    return abs(predicted - recorded) / recorded if recorded > 0 else math.nan
