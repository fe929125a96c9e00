"""Write a bench result: `<out>/<name>.json` (machine readable), `<name>.md` (for people), `<name>.png` (plot).

The JSON is strict (no NaN/Infinity: a missing figure is null) so any JSON
reader accepts it. Plots use matplotlib's Agg backend: no display needed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from spark_sched.bench.harness import BenchResult
from spark_sched.bench.report import MAX_PLOTTED_METRICS, plot_result, render_markdown

__all__ = ["MAX_PLOTTED_METRICS", "markdown", "write_all", "write_json", "write_markdown", "write_plot"]


def _clean(value: Any) -> Any:
    """Replace NaN/Infinity (not JSON) with None, recursively; numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(result: BenchResult, out_dir: Path) -> Path:
    path = out_dir / f"{result.experiment}.json"
    path.write_text(json.dumps(_clean(result.to_json()), indent=2, allow_nan=False, default=str) + "\n")
    return path


def markdown(result: BenchResult) -> str:
    """The result as a Markdown page, rendered from its JSON by the report: one renderer for runs and reports."""
    return render_markdown([_clean(result.to_json())])


def write_markdown(result: BenchResult, out_dir: Path) -> Path:
    path = out_dir / f"{result.experiment}.md"
    path.write_text(markdown(result))
    return path


def write_plot(result: BenchResult, out_dir: Path) -> Path:
    """One bar chart per metric: the median of each variant, whiskers from min to max.

    Drawn from the JSON dict by the report's plotter, so a run's plot and a report's plot are one code path.
    """
    return plot_result(_clean(result.to_json()), out_dir / f"{result.experiment}.png")


def write_all(result: BenchResult, out_dir: Path) -> list[Path]:
    """Write JSON, Markdown and PNG into `out_dir` (created if missing); return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [write_json(result, out_dir), write_markdown(result, out_dir), write_plot(result, out_dir)]
