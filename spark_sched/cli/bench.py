"""`spark-sched bench NAME [--out DIR] [--quick] [--master URL]` and `spark-sched bench --list`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from spark_sched.bench import registry
from spark_sched.bench.base import BenchContext
from spark_sched.bench.harness import BenchResult, prefer_sparkmeasure, run_experiment
from spark_sched.bench.output import write_all
from spark_sched.config import check_master
from spark_sched.errors import SparkSchedError
from spark_sched.files import writable_dir

DEFAULT_OUT = Path("bench-out")


def _list() -> None:
    entries = registry.discover()
    if not entries:
        click.echo("no experiments found")
    for name, entry in sorted(entries.items()):
        if entry.experiment is None:
            click.echo(f"{name:12s} (cannot load: {entry.error})")
        else:
            variants = ", ".join(entry.experiment.variants)
            click.echo(f"{name:12s} {entry.experiment.description} [variants: {variants}]")


def _run(name: str, ctx: BenchContext) -> BenchResult:
    experiment = registry.get(name)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as progress:
        task = progress.add_task(f"{name}: setting up", total=None)

        def on_run(variant: str, repetition: int, metrics: dict[str, float]) -> None:
            total = len(experiment.variants) * ctx.repetitions
            progress.update(task, total=total, advance=1, description=f"{name}: {variant} #{repetition + 1}")

        return run_experiment(experiment, ctx, on_run=on_run)


def _summary(result: BenchResult, paths: list[Path]) -> None:
    for name, value in result.ratios.items():
        click.echo(f"{name} = {value:.4g}")
    for name, target in result.targets.items():
        verdict = "met" if target.met else "NOT met"
        click.echo(f"target {name}: {target.value:.4g} (wanted {target.target}) {verdict}")
    click.echo("wrote " + ", ".join(str(p) for p in paths))


@click.command()
@click.argument("name", required=False)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=DEFAULT_OUT, show_default=True)
@click.option("--quick", is_flag=True, help="Smaller runs: under 3 minutes per experiment on a 2-core machine.")
@click.option("--master", default=None, help="Spark master URL (default: the experiment's own choice).")
@click.option("--repetitions", type=click.IntRange(min=3), default=3, show_default=True, help="Runs per variant.")
@click.option("--list", "list_only", is_flag=True, help="List the experiments and exit.")
def bench(
    name: str | None, out_dir: Path, quick: bool, master: str | None, repetitions: int, list_only: bool
) -> None:
    """Run experiment NAME's variants side by side; write NAME.json, NAME.md and NAME.png to --out."""
    if list_only:
        _list()
        return
    if not name:
        raise SparkSchedError("spark-sched bench: give an experiment NAME (see `spark-sched bench --list`)")
    if master is not None:
        check_master(master, "spark-sched bench", "--master")
    registry.get(name)  # an unknown or broken experiment is refused before anything is made
    writable_dir(out_dir, "spark-sched bench: --out")
    click.echo(prefer_sparkmeasure(), err=True)
    ctx = BenchContext(out_dir=out_dir, quick=quick, master=master, repetitions=repetitions)
    result = _run(name, ctx)
    _summary(result, write_all(result, out_dir))
