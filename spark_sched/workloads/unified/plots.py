"""Plots per variant: stream latency over time and as a CDF, slots held per class (PNG files, no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_sched.plots import figure
from spark_sched.workloads.timeline import slots_held

if TYPE_CHECKING:
    from spark_sched.workloads.unified.metrics import UnifiedResult

Series = Mapping[str, Sequence[tuple[float, float]]]
COLOURS = {"high": "#c44e52", "low": "#4c72b0", "other": "#999999"}


def plot_latency(series: Series, out_dir: Path, prefix: str = "latency", title: str = "") -> list[Path]:
    """Write `<prefix>-over-time.png` and `<prefix>-cdf.png` for {variant: [(wall time s, latency ms)]}."""
    paths = [out_dir / f"{prefix}-over-time.png", out_dir / f"{prefix}-cdf.png"]
    with figure(paths[0], figsize=(8, 4)) as (_, ax):
        for name, points in series.items():
            if points:
                t0 = points[0][0]
                ax.plot([t - t0 for t, _ in points], [v for _, v in points], marker=".", label=name)
        ax.set(xlabel="time since the variant started (s)", ylabel="micro-batch latency (ms)", title="Stream latency")
        ax.legend()
    with figure(paths[1], figsize=(6, 4)) as (_, ax):
        for name, points in series.items():
            values = sorted(v for _, v in points)
            if values:
                ax.step([0.0, *values], [0.0, *((i + 1) / len(values) for i in range(len(values)))], where="post",
                        label=name)
        ax.set(xlabel="micro-batch latency (ms)", ylabel="fraction of batches",
               title=f"Stream latency CDF {title}".strip())
        ax.legend()
    return paths


def plot_slots(results: Mapping[str, UnifiedResult], path: Path, title: str = "") -> Path:
    """One panel per variant: task slots held by each priority class over time (from Spark's task records)."""
    from matplotlib.patches import Patch

    names = list(results) or ["(none)"]
    with figure(path, nrows=len(names), figsize=(8, 1.6 * len(names) + 0.6), sharex=True, squeeze=False) as (fig, axes):
        for ax, name in zip(axes[:, 0], names, strict=True):
            _slots_panel(ax, name, results.get(name))
        axes[0, 0].legend(handles=[Patch(color=c, label=n) for n, c in COLOURS.items()], loc="upper right",
                          fontsize=7, ncol=3)
        axes[-1, 0].set_xlabel("time since the batch load started (s)")
        fig.suptitle(f"Task slots held per priority class {title}".strip(), fontsize=10)
    return path


def _slots_panel(ax: Any, name: str, result: UnifiedResult | None) -> None:
    series = slots_held(result.task_spans) if result is not None else {}
    times = [t for t, _ in next(iter(series.values()), [])]
    if result is not None and times:
        ax.stackplot(times, *[[n for _, n in s] for s in series.values()], labels=list(series), step="post",
                     colors=[COLOURS.get(c, "#55a868") for c in series])
        ax.axhline(result.slots, color="black", linewidth=0.8, linestyle=":")
    ax.set_ylabel(name, fontsize=8)
    ax.set_xlim(0, result.seconds if result is not None else 1)
