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

MAX_PLOTTED_METRICS = 8


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


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def markdown(result: BenchResult) -> str:
    """The result as a Markdown page: medians (min-max), ratios, targets, parameters."""
    lines = [f"# bench: {result.experiment}", "", result.description, ""]
    lines.append(
        f"Spark {result.spark}, master `{result.cluster.get('master') or result.master or 'default'}`, "
        f"{result.repetitions} interleaved "
        f"repetitions per variant{' (quick)' if result.quick else ''}, {result.seconds:.0f} s in all."
    )
    metrics: list[str] = []
    for per_variant in result.variants.values():
        metrics.extend(m for m in per_variant if m not in metrics)
    lines += ["", "## Medians (min-max)", "", "| variant | " + " | ".join(metrics) + " |"]
    lines.append("|---" * (len(metrics) + 1) + "|")
    for variant, values in result.variants.items():
        cells = []
        for metric in metrics:
            spread = result.spread.get(variant, {}).get(metric)
            cell = _fmt(values.get(metric))
            if spread:
                cell += f" ({_fmt(spread['min'])}-{_fmt(spread['max'])})"
            cells.append(cell)
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    if result.ratios:
        lines += ["", "## Ratios", "", "| ratio | value |", "|---|---|"]
        lines += [f"| {name} | {_fmt(value)} |" for name, value in result.ratios.items()]
    if result.targets:
        lines += ["", "## Targets", "", "| target | value | wanted | met |", "|---|---|---|---|"]
        for name, t in result.targets.items():
            lines.append(f"| {name} | {_fmt(t.value)} | {t.target} | {'yes' if t.met else 'NO'} |")
    if result.params or result.cluster:
        lines += ["", "## Parameters", ""]
        lines += [f"- {k}: `{v}`" for k, v in {**result.params, **result.cluster}.items()]
    return "\n".join(lines) + "\n"


def write_markdown(result: BenchResult, out_dir: Path) -> Path:
    path = out_dir / f"{result.experiment}.md"
    path.write_text(markdown(result))
    return path


def write_plot(result: BenchResult, out_dir: Path) -> Path:
    """One bar chart per metric: the median of each variant, whiskers from min to max."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = list(result.variants)
    metrics: list[str] = []
    for per_variant in result.variants.values():
        metrics.extend(m for m in per_variant if m not in metrics)
    metrics = metrics[:MAX_PLOTTED_METRICS] or ["(no metrics)"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(max(4.0, 3.2 * len(metrics)), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=False):
        medians = [result.variants[v].get(metric, math.nan) for v in variants]
        spreads = [result.spread.get(v, {}).get(metric, {}) for v in variants]
        lows = [m - s.get("min", m) for s, m in zip(spreads, medians, strict=True)]
        highs = [s.get("max", m) - m for s, m in zip(spreads, medians, strict=True)]
        ax.bar(variants, medians, yerr=[lows, highs], capsize=4, color="#4c72b0")
        ax.set_title(metric, fontsize=10)
        ax.tick_params(axis="x", rotation=30, labelsize=8)
    fig.suptitle(f"{result.experiment}: median of {result.repetitions} runs (whiskers: min-max)", fontsize=10)
    fig.tight_layout()
    path = out_dir / f"{result.experiment}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_all(result: BenchResult, out_dir: Path) -> list[Path]:
    """Write JSON, Markdown and PNG into `out_dir` (created if missing); return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [write_json(result, out_dir), write_markdown(result, out_dir), write_plot(result, out_dir)]
