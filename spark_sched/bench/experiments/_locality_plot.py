"""The figure of bench `locality`: job time and locality against the wait, each variant marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from spark_sched.locality import predicted_locality
from spark_sched.plots import figure

COLORS = {"wait_0": "tab:red", "wait_3s": "tab:green", "recommended": "tab:blue",
          "advised": "tab:cyan", "loopback_wait_0": "tab:red", "loopback_recommended": "tab:blue"}
MARKERS = {"wait_0": "o", "wait_3s": "s", "recommended": "*", "advised": "D",
           "loopback_wait_0": "o", "loopback_recommended": "*"}


def plot(runs: dict[str, list[dict[str, float]]], inputs: dict[str, Any], out: Path) -> Path:
    """Two panels sharing the wait axis: job time (median, min-max bars) and locality (measured, model curve)."""
    with figure(out, ncols=2, figsize=(10, 3.8)) as (_, (time_ax, loc_ax)):
        for variant, values in runs.items():
            if values:
                _mark(time_ax, loc_ax, variant, values)
        if inputs:
            grid = np.linspace(0, 3.2, 161)
            model = [predicted_locality(float(w), **inputs) for w in grid]
            loc_ax.plot(grid, model, color="tab:orange", label="model (pilot's M, L, N, T)")
        loc_ax.legend(loc="lower right", fontsize=7)
        time_ax.set_xlabel("process locality wait (s)")
        time_ax.set_ylabel("iterative job time (s), median and min-max")
        time_ax.set_title("job time (hollow: loopback scenario)", fontsize=9)
        loc_ax.set_xlabel("process locality wait (s)")
        loc_ax.set_ylabel("local fraction (median)")
        loc_ax.set_ylim(0.6, 1.02)
        loc_ax.set_title("locality against the wait", fontsize=9)
    return out


def _mark(time_ax: Any, loc_ax: Any, variant: str, values: list[dict[str, float]]) -> None:
    """One variant: its job time at its wait (median, min-max bar) and its median locality."""
    waits = values[0]["wait_s"]
    jobs = np.array([v["job_ms"] for v in values]) / 1000
    local = np.nanmedian([v["local_fraction"] for v in values])
    loop = variant.startswith("loopback")
    color = COLORS.get(variant, "tab:gray")
    median = float(np.median(jobs))
    time_ax.errorbar([waits], [median], yerr=[[median - jobs.min()], [jobs.max() - median]],
                     marker=MARKERS.get(variant, "o"), color=color, capsize=3, markersize=8,
                     mfc="white" if loop else color)
    loc_ax.plot([waits], [local], marker=MARKERS.get(variant, "o"), color=color, markersize=8, linestyle="",
                mfc="white" if loop else color, label=f"{variant} ({waits * 1000:.0f} ms)")
