"""Plots of stream latency per variant: over time, and as a CDF (PNG files, no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

Series = Mapping[str, Sequence[tuple[float, float]]]


def plot_latency(series: Series, out_dir: Path, prefix: str = "latency") -> list[Path]:
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
    ax.set(xlabel="micro-batch latency (ms)", ylabel="fraction of batches", title="Stream latency CDF")
    ax.legend()
    fig.tight_layout()
    fig.savefig(paths[1], dpi=100)
    plt.close(fig)
    return paths
