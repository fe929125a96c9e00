"""`spark-sched sim replay EVENTLOG`: an application replayed as recorded, then under other settings."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from spark_sched.cli.jsonout import echo_json
from spark_sched.sim.replay import DEFAULT_SEEDS, Comparison, whatif_settings
from spark_sched.sim.replay import replay as replay_trace
from spark_sched.sim.trace import load_trace
from spark_sched.topology import load_topology


@click.command()
@click.argument("eventlog", type=click.Path(path_type=Path))
@click.option("--pools", type=click.Path(path_type=Path), default=None,
              help="What-if: this pool file (TOML or XML; FAIR with its pools).")
@click.option("--locality-wait", type=click.FloatRange(min=0), default=None,
              help="What-if: this wait (seconds) at every locality level.")
@click.option("--mode", type=click.Choice(["FIFO", "FAIR"], case_sensitive=False), default=None,
              help="What-if: spark.scheduler.mode.")
@click.option("--legacy-reset/--no-legacy-reset", default=None,
              help="What-if: restart the locality wait on every local launch (Spark's legacy reset) or not.")
@click.option("--topology", type=click.Path(path_type=Path), default=None,
              help="Rack map and link rates of the hosts (toolkit topology TOML) [default: no racks].")
@click.option("--seeds", type=click.IntRange(min=1), default=DEFAULT_SEEDS, show_default=True,
              help="Model runs per setting (offers are randomised).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (strict JSON, null for no value).")
def replay(eventlog: Path, pools: Path | None, locality_wait: float | None, mode: str | None,
           legacy_reset: bool | None, topology: Path | None, seeds: int, as_json: bool) -> None:
    """Replay EVENTLOG as recorded and under the given settings (predicted against recorded)."""
    trace = load_trace(eventlog, load_topology(topology) if topology is not None else None)
    overrides = any(v is not None for v in (pools, locality_wait, mode, legacy_reset))
    settings = whatif_settings(trace.settings, pools, locality_wait, mode, legacy_reset) if overrides else None
    comparison = replay_trace(trace, settings, seeds=seeds)
    if as_json:
        echo_json(comparison.to_json(), indent=2)
    else:
        click.echo(render(comparison))


def _num(value: float | None, unit: str = "s", digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}f}{unit}" if unit != "%" else f"{100 * value:.1f}%"


def render(c: Comparison) -> str:
    """Recorded against predicted as recorded, then the what-if's changes, as plain text."""
    t, rec, pred = c.trace, c.recorded, c.predicted
    lines = [f"{t.path} ({t.app_id}): {len(t.jobs)} jobs, {t.stage_count} stages, {t.task_count} tasks on "
             f"{len(t.cluster.hosts)} hosts x {t.cluster.slots} slots; {t.settings.mode}, {len(c.seeds)} seeds",
             f"{'':22}{'recorded':>12}{'predicted':>12}",
             f"{'job time median':22}{_num(rec['median_s']):>12}{_num(pred['median_s']):>12}",
             f"{'job time p99':22}{_num(rec['p99_s']):>12}{_num(pred['p99_s']):>12}",
             f"{'locality':22}{_num(rec['locality'], '%'):>12}{_num(pred['locality'], '%'):>12}",
             f"median abs error of job time: {_num(c.median_abs_error, '%')} "
             f"over {int(c.error['compared_jobs'])} jobs"]
    for group, row in c.groups.items():
        lines.append(f"  {group}: median {_num(row['recorded_median_s'])} recorded, "
                     f"{_num(row['predicted_median_s'])} predicted, error {_num(row['median_abs_error'], '%')}")
    if c.whatif is not None:
        lines += ["", "what-if " + _settings_line(c.whatif["settings"]),
                  "  (change: median over seeds of the paired change; +- sqrt(seed spread^2 + as-recorded error^2))"]
        for group, figures in c.whatif["figures"].items():
            lines.append(f"  {group}: " + "; ".join(_change_text(name, f) for name, f in figures.items()))
    for note in [*t.notes, *c.notes]:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _settings_line(s: dict[str, Any]) -> str:
    w = s["locality_wait_s"]
    pools = ", ".join(f"{p['name']}(w{p['weight']},m{p['minShare']})" for p in s["pools"]) or "-"
    return (f"mode {s['mode']}, pools {pools}, waits {w['process']:g}/{w['node']:g}/{w['rack']:g}s, "
            f"legacy reset {'on' if s['legacy_reset'] else 'off'}")


def _change_text(name: str, f: dict[str, Any]) -> str:
    label = {"median_s": "median", "p99_s": "p99", "locality": "locality"}[name]
    if f["kind"] == "absolute":
        return (f"{label} {_num(f['as_recorded'], '%')} -> {_num(f['whatif'], '%')} "
                f"({_signed(f['change'], 'pt')} +- {_num(f['uncertainty'] * 100, 'pt', 1)})")
    return (f"{label} {_num(f['as_recorded'])} -> {_num(f['whatif'])} "
            f"({_signed(f['change'], '%')} +- {_num(f['uncertainty'], '%')})")


def _signed(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{100 * value:+.1f}{unit}" if unit == "%" else f"{100 * value:+.1f}{unit}"
