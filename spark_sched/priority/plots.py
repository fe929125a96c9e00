"""Plots per variant: stream latency over time and as a CDF, slots held per class (PNG files, no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spark_sched.priority.unified import UnifiedResult

Series = Mapping[str, Sequence[tuple[float, float]]]


def plot_latency(series: Series, out_dir: Path, prefix: str = "latency", title: str = "") -> list[Path]:
    """Write `<prefix>-over-time.png` and `<prefix>-cdf.png` for {variant: [(wall time s, latency ms)]}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{prefix}-over-time.png", out_dir / f"{prefix}-cdf.png"]
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, points in series.items():
        if points:
            t0 = points[0][0]
            ax.plot([t - t0 for t, _ in points], [v for _, v in points], marker=".", label=name)
    ax.set(xlabel="time since the variant started (s)", ylabel="micro-batch latency (ms)", title="Stream latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(paths[0], dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in series.items():
        values = sorted(v for _, v in points)
        if values:
            ax.step([0.0, *values], [0.0, *((i + 1) / len(values) for i in range(len(values)))], where="post",
                    label=name)
    ax.set(xlabel="micro-batch latency (ms)", ylabel="fraction of batches", title=f"Stream latency CDF {title}".strip())
    ax.legend()
    fig.tight_layout()
    fig.savefig(paths[1], dpi=100)
    plt.close(fig)
    return paths


def plot_slots(results: Mapping[str, UnifiedResult], path: Path, title: str = "") -> Path:
    """One panel per variant: task slots held by each priority class over time (from Spark's task records)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spark_sched.priority.timeline import slots_held

    names = list(results) or ["(none)"]
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 1.6 * len(names) + 0.6), sharex=True, squeeze=False)
    colours = {"high": "#c44e52", "low": "#4c72b0", "other": "#999999"}
    for ax, name in zip(axes[:, 0], names, strict=True):
        result = results.get(name)
        series = slots_held(result.task_spans) if result is not None else {}
        times = [t for t, _ in next(iter(series.values()), [])]
        if times:
            ax.stackplot(times, *[[n for _, n in s] for s in series.values()], labels=list(series), step="post",
                         colors=[colours.get(c, "#55a868") for c in series])
            ax.axhline(result.slots, color="black", linewidth=0.8, linestyle=":")
        ax.set_ylabel(name, fontsize=8)
        ax.set_xlim(0, result.seconds if result is not None else 1)
    from matplotlib.patches import Patch

    axes[0, 0].legend(handles=[Patch(color=c, label=n) for n, c in colours.items()], loc="upper right", fontsize=7,
                      ncol=3)
    axes[-1, 0].set_xlabel("time since the batch load started (s)")
    fig.suptitle(f"Task slots held per priority class {title}".strip(), fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
