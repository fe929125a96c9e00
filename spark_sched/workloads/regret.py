"""The composer's regret curve: per class, cumulative ms lost against the best fixed composition.

A job's regret is its time minus what the best fixed composition of its class
(chosen after the fact) would take for the same work: job_ms - r* x work_ms,
where r* is that composition's median time per ms of work in the same run. A
curve that flattens is a composer that has found its class's winner.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

from spark_sched.plots import figure
from spark_sched.workloads.mixed import Outcome


def per_work(outcomes: list[Outcome]) -> float:
    """Median job time per ms of work."""
    ratios = [o.job_ms / o.job.work_ms for o in outcomes if o.job_ms == o.job_ms and o.job.work_ms > 0]
    return statistics.median(ratios) if ratios else float("nan")


def cumulative_regret(outcomes: list[Outcome], best_ratio: float) -> np.ndarray:
    values = [o.job_ms - best_ratio * o.job.work_ms for o in outcomes if o.job_ms == o.job_ms]
    return np.cumsum(values) if values else np.zeros(0)


def plot_regret(curves: dict[str, np.ndarray], warmup: dict[str, int], path: Path) -> Path:
    """One line per class (x: the class's n-th job under the composer), the warm-up's end marked."""
    with figure(path, figsize=(6.4, 3.6)) as (_, ax):
        for kind, curve in curves.items():
            line = ax.plot(np.arange(1, len(curve) + 1), curve / 1000.0, label=kind)[0]
            if warmup.get(kind):
                ax.axvline(warmup[kind], color=line.get_color(), linestyle=":", linewidth=0.8)
        ax.axhline(0.0, color="grey", linewidth=0.6)
        ax.set_xlabel("jobs of the class run under the composer (dotted: end of warm-up)")
        ax.set_ylabel("cumulative regret (s)")
        ax.set_title("composer vs the best fixed composition per class", fontsize=10)
        ax.legend(fontsize=8)
    return path
