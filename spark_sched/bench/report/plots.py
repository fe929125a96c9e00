"""The report's plots: one bar chart per experiment drawn from its JSON, and the extra PNGs an experiment wrote.

`spark-sched bench` (via `output.write_plot`) and the report draw through the same
`plot_result`, so a run's plot and a report's plot are one code path.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from spark_sched.bench.report.cells import Result, as_number, fmt, metric_names, section_of
from spark_sched.bench.report.load import SOURCE_KEY, WHO
from spark_sched.files import replaced, writable_dir
from spark_sched.plots import figure

PLOT_COLUMNS = 4  # subplots per row in a plot
MAX_PLOTTED_METRICS = 24


def extra_plots(result: Result, names: Sequence[str] = ()) -> list[Path]:
    """PNG files beside the result's JSON named `<experiment>-...png` or `<experiment>.<...>.png`, sorted.

    The experiment's own `<experiment>.png` is not extra (it is rendered here); a file whose
    name fits a longer experiment name in `names` (or is another experiment's own plot) is that one's.
    """
    if not result.get(SOURCE_KEY):
        return []
    name = str(result["experiment"])
    folder = Path(str(result[SOURCE_KEY])).parent
    longer = [n for n in names if len(n) > len(name)]
    return [
        png
        for png in sorted(folder.glob("*.png"))
        if png.name != f"{name}.png" and _claims(name, png.name) and not any(_claims(o, png.name) for o in longer)
    ]


def _claims(name: str, file_name: str) -> bool:
    """Whether a PNG's name makes it one of experiment `name`'s plots (its own, or `name-...`, `name.<...>`)."""
    return file_name.startswith((f"{name}-", f"{name}."))


def _bar_data(result: Result, metric: str) -> tuple[list[float], list[float], list[float]]:
    """Per variant: median, and the whisker lengths down to min and up to max.

    Never negative (matplotlib refuses that); NaN where unknown, which draws nothing: a zero-length
    whisker would claim the repetitions agreed exactly.
    """
    medians, lows, highs = [], [], []
    spread = section_of(result, "spread")
    for variant, metrics in section_of(result, "variants").items():
        median = as_number(metrics.get(metric))
        bounds = spread.get(variant, {}).get(metric) if isinstance(spread.get(variant), Mapping) else None
        bounds = bounds if isinstance(bounds, Mapping) else {}
        low, high = as_number(bounds.get("min")), as_number(bounds.get("max"))
        medians.append(math.nan if median is None else median)
        if median is None or low is None or high is None:
            lows.append(math.nan)
            highs.append(math.nan)
        else:
            lows.append(max(0.0, median - low))
            highs.append(max(0.0, high - median))
    return medians, lows, highs


@contextmanager
def _figure_in_place(path: Path, **layout: Any) -> Iterator[tuple[Any, Any]]:
    """`plots.figure`, drawn beside `path` and renamed over it whole: a report re-rendered in place never shows
    half a PNG, and a failed drawing leaves the previous one."""
    with replaced(path) as tmp:
        drawn = tmp.with_suffix(".png")  # matplotlib takes the format from the name
        try:
            with figure(drawn, **layout) as pair:
                yield pair
            os.replace(drawn, tmp)
        finally:
            drawn.unlink(missing_ok=True)


def plot_result(result: Result, path: Path) -> Path:
    """One bar chart per metric: each variant's median, whiskers from min to max of its repetitions.

    The one plotting code path: `spark-sched bench` (via output.write_plot) and the report both
    draw from the JSON dict, through `spark_sched.plots.figure` (Agg, no display, closed once saved).
    """
    metrics = metric_names(result)
    shown = metrics[:MAX_PLOTTED_METRICS] or ["(no metrics)"]
    columns = min(PLOT_COLUMNS, len(shown))
    rows = math.ceil(len(shown) / columns)
    size = (max(4.0, 3.2 * columns), 0.4 + 3.2 * rows)
    with _figure_in_place(path, nrows=rows, ncols=columns, figsize=size, squeeze=False) as (fig, grid):
        axes = grid.flatten()
        variants = [str(v) for v in section_of(result, "variants")]
        for ax, metric in zip(axes, shown, strict=False):
            _bars(ax, result, metric, variants)
        for ax in axes[len(shown) :]:
            ax.set_visible(False)
        more = f"; first {len(shown)} of {len(metrics)} metrics" if len(metrics) > len(shown) else ""
        runs = fmt(result.get("repetitions"))
        fig.suptitle(f"{result['experiment']}: median of {runs} runs (whiskers: min-max){more}", fontsize=10)
    return path


def _bars(ax: Any, result: Result, metric: str, variants: list[str]) -> None:
    medians, lows, highs = _bar_data(result, metric)
    positions = list(range(len(variants)))  # numbers, not categories: a variant with no value keeps its slot
    ax.bar(positions, medians, yerr=[lows, highs], capsize=4, color="#4c72b0")
    ax.set_xticks(positions, variants, rotation=30, fontsize=8)
    ax.set_xlim(-0.6, len(variants) - 0.4)
    ax.set_title(metric, fontsize=10)


def render_plots(results: Sequence[Result], out_dir: Path) -> list[Path]:
    """`<out_dir>/<experiment>.png` for every result; the paths written."""
    writable_dir(out_dir, f"{WHO}: --out")
    return [plot_result(r, Path(out_dir) / f"{r['experiment']}.png") for r in results]
