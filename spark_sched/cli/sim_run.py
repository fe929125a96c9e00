"""`spark-sched sim run SCENARIO --hosts N`: a paper's experiment at the scale asked for."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from spark_sched.cli.jsonout import echo_json, json_text
from spark_sched.sim.scenarios import ScenarioReport, get, scenarios
from spark_sched.sim.scenarios.pages import cell, fill_pages

DEFAULT_OUT = Path("sim-out")


def tables(report: ScenarioReport, seconds: float) -> list[Table]:
    """The variants' rows (one column per figure) and the paper-vs-model comparison."""
    title = f"{report.scenario}: {report.hosts} hosts, seed {report.seed} ({seconds:.1f} s)"
    rows = Table(title=title)
    columns = list(dict.fromkeys(k for row in report.rows.values() for k in row))
    rows.add_column("variant", no_wrap=True)
    for column in columns:
        rows.add_column(column, justify="right")
    for name, row in report.rows.items():
        rows.add_row(name, *(cell(c, row.get(c)) for c in columns))
    against = Table(title="paper vs model")
    for column in ("figure", "paper", "model", "note"):
        against.add_column(column)
    for entry in report.comparison:
        against.add_row(entry["figure"], entry["paper"], entry["model"], entry["note"])
    return [rows, against]


class ScenarioCommand(click.Command):
    """Help that lists the scenarios found when it is shown (not at import: scenarios import the mechanisms)."""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help_text(ctx, formatter)
        with formatter.section("Scenarios"):
            formatter.write_dl([(name, s.description) for name, s in scenarios().items()])


@click.command(cls=ScenarioCommand)
@click.argument("scenario")
@click.option("--hosts", type=int, default=100, show_default=True, help="Simulated hosts.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the workload and the offers.")
@click.option("--quick", is_flag=True, help="A small workload (seconds to run): for tests and a first look.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default=True, help="Where <scenario>.json and the plots go.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (strict: null for no value).")
@click.option("--pages", "pages", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also fill this page's `<!-- sim scenario: NAME -->` blocks from the JSON in --out (repeatable).")
def run(scenario: str, hosts: int, seed: int, quick: bool, out_dir: Path, as_json: bool,
        pages: tuple[Path, ...]) -> None:
    """Run SCENARIO on a simulated cluster: every variant on the same workload, a row each, vs the paper."""
    chosen = get(scenario)
    started = time.perf_counter()
    report = chosen.run(hosts, seed, quick, out_dir)
    seconds = time.perf_counter() - started
    document = {**report.to_json(), "quick": quick, "wall_s": seconds}  # written strict by jsonout
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{report.scenario}.json"
    path.write_text(json_text(document, indent=2) + "\n")
    filled = fill_pages(pages, out_dir) if pages else []
    if as_json:
        echo_json(document, indent=2)
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    for table in tables(report, seconds):
        console.print(table)
    console.print(f"wrote {path}" + "".join(f", {p}" for p in [*report.plots, *filled]))
