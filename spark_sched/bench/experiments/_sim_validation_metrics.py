"""The Spark-free half of bench `sim_validation`: figures from a replay, predictions from another run's log.

A bench application tags the jobs it judges (the pools' jobs, the locality
iterations, the stream's jobs); everything here reads those jobs only, while
the whole log is replayed, so the cluster's other work (a warm-up, the caching
of blocks) still takes its slots in the model as it did in the run.

`as_recorded` turns a `Comparison` (the log replayed under its own settings)
into measured-vs-predicted figures. `predicted_figures` replays a log under
other settings; with a `chain` tag, the jobs carrying it are replayed as the
driver ran them, one after another: each is submitted when the one before it
ended, after the gap the log recorded between them (a driver loop such as
`for _ in range(n): rdd.sum()`). The model's replay is open loop (arrivals as
recorded), which is right for the run it came from but wrong for a what-if in
which those jobs take longer: they would pile up at their old arrival times.

`direction` compares a measured ratio with a predicted one: the model is
right about the direction when both sit on the same side of 1 by more than
`tol`, or both within it; a ratio just inside the band counts with a neighbour
just outside it (within `2 * tol`), so noise at the band's edge is not a
wrong direction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from spark_sched.sim.replay import Comparison
from spark_sched.sim.results import JobOutcome, SimResult
from spark_sched.sim.settings import SimSettings
from spark_sched.sim.simulator import Hook, JobRun, Simulation
from spark_sched.sim.trace import Trace, TraceScan
from spark_sched.sim.workload import JobSpec

DIRECTION_TOL = 0.05
FIGURES = ("job_time", "p99", "locality")
Figure = Callable[[Sequence[JobOutcome]], float]


def _median(values: Iterable[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.median(finite)) if finite else math.nan


def _p99(values: Iterable[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.percentile(finite, 99)) if finite else math.nan


def rel_error(predicted: float, measured: float) -> float:
    """|predicted - measured| / measured (NaN when either is missing or measured is not positive)."""
    if not (math.isfinite(predicted) and math.isfinite(measured)) or measured <= 0:
        return math.nan
    return abs(predicted - measured) / measured


def as_recorded(comparison: Comparison, tag: str, stream_tag: str | None = None) -> dict[str, float]:
    """Measured vs predicted (the log replayed under its own settings) over the finished jobs carrying `tag`.

    job_time_*: median over those jobs; job_time_abs_err: median over them of each job's
    |predicted - measured| / measured; locality_*: PROCESS/NODE_LOCAL share of their tasks;
    with `stream_tag`, the p99 job time of the jobs carrying it, and its relative error.
    """
    rows = [r for r in comparison.jobs if tag in r["tags"]]
    tasks = {j.job_id: sum(j.localities.values()) for j in comparison.trace.recorded}
    weights = [tasks.get(r["job"], 0) for r in rows]
    out = {
        "jobs_compared": float(len(rows)),
        "job_time_measured_s": _median(r["recorded_s"] for r in rows),
        "job_time_predicted_s": _median(r["predicted_s"] for r in rows),
        "job_time_abs_err": _median(r["error"] for r in rows),
        "locality_measured": _weighted([r["recorded_locality"] for r in rows], weights),
        "locality_predicted": _weighted([r["predicted_locality"] for r in rows], weights),
    }
    out["locality_gap"] = abs(out["locality_predicted"] - out["locality_measured"])
    if stream_tag is not None:
        stream = [r for r in rows if stream_tag in r["tags"]]
        out["stream_p99_measured_s"] = _p99(r["recorded_s"] for r in stream)
        out["stream_p99_predicted_s"] = _p99(r["predicted_s"] for r in stream)
        out["stream_p99_err"] = rel_error(out["stream_p99_predicted_s"], out["stream_p99_measured_s"])
    return out


def _weighted(values: Sequence[float], weights: Sequence[int]) -> float:
    pairs = [(v, w) for v, w in zip(values, weights, strict=True) if math.isfinite(v) and w > 0]
    total = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / total if total else math.nan


def figure_of(name: str) -> Figure:
    """A figure over finished job outcomes: median job time, p99 job time, or locality fraction."""
    if name == "job_time":
        return lambda jobs: _median(j.duration for j in jobs)
    if name == "p99":
        return lambda jobs: _p99(j.duration for j in jobs)
    if name == "locality":
        return lambda jobs: (sum(j.local for j in jobs) / sum(j.tasks for j in jobs)
                             if sum(j.tasks for j in jobs) else math.nan)
    raise ValueError(f"figure = {name!r}; allowed: {', '.join(FIGURES)}")


def measured_figure(trace: Trace, tag: str, name: str) -> float:
    """The same figure over what the log recorded for the finished jobs carrying `tag`."""
    jobs = [j for j in trace.finished() if tag in j.tags]
    if name == "job_time":
        return _median(j.duration for j in jobs)
    if name == "p99":
        return _p99(j.duration for j in jobs)
    if name == "locality":
        total = sum(sum(j.localities.values()) for j in jobs)
        return sum(j.local for j in jobs) / total if total else math.nan
    raise ValueError(f"figure = {name!r}; allowed: {', '.join(FIGURES)}")


class Chain:
    """Replays the jobs of one driver loop closed: each submitted `gap` after the one before it ended."""

    def __init__(self, jobs: Sequence[JobSpec], gaps: Sequence[float]) -> None:
        self.jobs, self.gaps = list(jobs), list(gaps)
        self.next = 1

    def job_arrived(self, sim: Simulation, job: JobRun) -> None:
        return None

    def job_ended(self, sim: Simulation, job: JobRun) -> None:
        if self.next < len(self.jobs) and job.job_id == self.jobs[self.next - 1].job_id:
            following = self.jobs[self.next]
            sim.submit(replace(following, arrival_s=sim.events.now + self.gaps[self.next]))
            self.next += 1


def chain_of(trace: Trace, tag: str) -> tuple[list[JobSpec], list[float]] | None:
    """The jobs carrying `tag` in submission order and the recorded gap before each (None: they overlapped)."""
    recorded = {j.job_id: j for j in trace.recorded}
    jobs = sorted((j for j in trace.jobs if tag in j.tags), key=lambda j: (j.arrival_s, j.job_id))
    gaps = [0.0]
    for before, after in zip(jobs, jobs[1:], strict=False):
        gap = after.arrival_s - recorded[before.job_id].finish
        if not gap >= 0:  # overlapping (or unfinished) jobs are not one driver loop
            return None
        gaps.append(gap)
    return (jobs, gaps) if jobs else None


def simulate_trace(trace: Trace, settings: SimSettings, seed: int, chain: str | None = None,
                   hooks: Sequence[Hook] = ()) -> SimResult:
    """The trace's jobs under `settings` (and `hooks`); the jobs tagged `chain` (one driver loop) closed-loop."""
    loop = chain_of(trace, chain) if chain else None
    sim = Simulation(trace.cluster, settings, seed, hooks=[*hooks, *([Chain(*loop)] if loop else [])])
    looped = {j.job_id for j in loop[0][1:]} if loop else set()
    for job in trace.jobs:
        if job.job_id not in looped:
            sim.submit(job)
    return sim.run()


@dataclass(frozen=True)
class Prediction:
    """Figures of one log's tagged jobs, per seed, under each of some named settings: values[settings][figure]."""

    values: dict[str, dict[str, tuple[float, ...]]]

    def median(self, settings: str, figure: str) -> float:
        return _median(self.values[settings][figure])

    def ratio(self, top: str, bottom: str, figure: str) -> float:
        """Median over seeds of top / bottom, each pair from the same seed."""
        tops, bottoms = self.values[top][figure], self.values[bottom][figure]
        return _median(t / b if b > 0 else math.nan for t, b in zip(tops, bottoms, strict=True))


def predicted_figures(trace: Trace, settings: dict[str, SimSettings], tag: str, seeds: Sequence[int],
                      chain: str | None = None, figures: Sequence[str] = FIGURES,
                      hooks: Mapping[str, Callable[[int], Sequence[Hook]]] | None = None) -> Prediction:
    """Each figure of the finished jobs tagged `tag` when the trace runs under each named settings, per seed.

    `hooks[name](seed)`: what-if decisions taken inside the run under the settings called `name`.
    """
    hooks = hooks or {}
    measures = {name: figure_of(name) for name in figures}
    values: dict[str, dict[str, tuple[float, ...]]] = {}
    for name, chosen in settings.items():
        per_seed: dict[str, list[float]] = {f: [] for f in figures}
        for seed in seeds:
            made = hooks[name](seed) if name in hooks else ()
            jobs = [j for j in simulate_trace(trace, chosen, seed, chain, made).finished() if tag in j.tags]
            for figure, measure in measures.items():
                per_seed[figure].append(measure(jobs))
        values[name] = {f: tuple(v) for f, v in per_seed.items()}
    return Prediction(values)


def driver_latency(path: str | Path, tag: str) -> float:
    """Median over the finished jobs tagged `tag` of the driver's time from the last task's end to the job's end.

    The model ends a job with its last task; Spark's driver takes this long more (the task's
    result handled, the job-end event), from the log's own timestamps (a second pass over
    it). Submission to first launch is not counted: there the driver's time and the wait
    for a slot cannot be told apart.
    """
    from spark_sched.measure import eventlog

    scan = TraceScan()
    eventlog.read(Path(path), scan)
    out = []
    for job in scan.jobs.values():
        runs = [r for sid, _, _ in job["stages"] for r in scan.tasks.get(sid, {}).values()]
        if tag in job["tags"] and "end" in job and runs:
            out.append((job["end"] - max(r.finish_ms for r in runs)) / 1000)
    return _median(out)


def side(ratio: float, tol: float = DIRECTION_TOL) -> int:
    """+1 above 1 + tol, -1 below 1 - tol, 0 within the band."""
    return 1 if ratio > 1 + tol else -1 if ratio < 1 - tol else 0


def direction_right(measured: float, predicted: float, tol: float = DIRECTION_TOL) -> float:
    """1.0 when the predicted ratio points the way the measured one does (module doc), else 0.0; NaN if missing."""
    if not (math.isfinite(measured) and math.isfinite(predicted)):
        return math.nan
    m, p = side(measured, tol), side(predicted, tol)
    if m == p:
        return 1.0
    if m == 0:
        return float(abs(predicted - 1) <= 2 * tol)
    if p == 0:
        return float(abs(measured - 1) <= 2 * tol)
    return 0.0


def ratio_metrics(name: str, measured: float, predicted: float, tol: float = DIRECTION_TOL) -> dict[str, float]:
    """`ratio.<name>.measured`, `.predicted` and `.direction_right`."""
    return {f"ratio.{name}.measured": measured, f"ratio.{name}.predicted": predicted,
            f"ratio.{name}.direction_right": direction_right(measured, predicted, tol)}


def prefixed(prefix: str, metrics: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}.{k}": float(v) for k, v in metrics.items()}
