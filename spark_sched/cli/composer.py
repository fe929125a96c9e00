"""`spark-sched composer show [STATE] [--json]`: what the composer learned, per workload class.

STATE is a state file, a `composer/` directory or a toolkit state directory
(default: the settings' state directory). Read-only: a corrupt file is refused
in one line and left where it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from spark_sched.cli.jsonout import echo_json
from spark_sched.composer.bandit import summary
from spark_sched.composer.errors import ComposerStateError
from spark_sched.composer.state import FILE_NAME, ComposerState, load_state, state_path
from spark_sched.config import load_settings

SEED = 0  # P(best) comes from posterior draws: a fixed seed keeps two `show`s of one state identical


def resolve(path: Path | None) -> Path:
    """The state file STATE names (file, composer dir, or toolkit state dir)."""
    if path is None:
        return state_path(load_settings().state_dir)
    if path.is_dir():
        return path / FILE_NAME if (path / FILE_NAME).is_file() else state_path(path)
    return path


def report(state: ComposerState) -> list[dict[str, Any]]:
    """Per class: decisions, explorations, whether it settled, the composition it runs and every arm's estimates."""
    rng = np.random.default_rng(SEED)
    rows = []
    for name in sorted(state.classes):
        cls = state.classes[name]
        arms = summary(cls, sorted(cls.arms), rng)
        chosen = cls.incumbent if any(a["composition"] == cls.incumbent for a in arms) else None
        rows.append({"class": name, "priority": cls.priority, "jobs": cls.decisions,
                     "explorations": cls.explorations, "settled": cls.settled, "settled_at": cls.settled_at,
                     "switches": cls.switches, "drifts": cls.drifts,
                     "chosen": chosen or (arms[0]["composition"] if arms else None), "last": cls.last, "arms": arms})
    return rows


def _settled(row: dict[str, Any]) -> str:
    """`job N` (settled at its N-th job), `exploring`, or `exploring (drift N)` after a drift."""
    if row["settled"]:
        return f"job {row['settled_at']}"
    return f"exploring (drift {row['drifts']})" if row["drifts"] else "exploring"


def _table(rows: list[dict[str, Any]], source: Path) -> Table:
    table = Table(title=f"composer: {source}")
    columns = ("class", "jobs", "explored", "settled", "chosen", "est. ms", "90% interval", "P(best)", "runner-up")
    for column in columns:
        left = column in ("class", "settled", "chosen", "runner-up")
        table.add_column(column, justify="left" if left else "right", no_wrap=True)
    for row in rows:
        arms = row["arms"]
        if not arms:
            table.add_row(row["class"], str(row["jobs"]), str(row["explorations"]), _settled(row), "(no result yet)",
                          "", "", "", "")
            continue
        best = next(a for a in arms if a["composition"] == row["chosen"])
        others = [a for a in arms if a is not best]
        runner = f"{others[0]['composition']} ({others[0]['estimate_ms']:,.0f} ms)" if others else ""
        table.add_row(row["class"], str(row["jobs"]), str(row["explorations"]), _settled(row), best["composition"],
                      f"{best['estimate_ms']:,.0f}", f"{best['low_ms']:,.0f}-{best['high_ms']:,.0f}",
                      f"{best['p_best']:.2f}", runner)
    return table


@click.group()
def composer() -> None:
    """The composer: which composition each workload class runs, and why."""


@composer.command()
@click.argument("state", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def show(state: Path | None, as_json: bool) -> None:
    """Per class: whether it settled, the composition it runs, its estimated job time, 90% interval and P(best)."""
    file = resolve(state)
    if not file.is_file():
        raise ComposerStateError(f"composer state {file} does not exist (no job has run under the composer there)")
    rows = report(load_state(file, keep_aside=False))
    if as_json:
        echo_json({"state": str(file), "classes": rows}, indent=2)
        return
    console = Console()
    if not console.is_terminal:  # piped: do not squeeze class keys into 80 columns
        console = Console(width=160)
    console.print(_table(rows, file))
