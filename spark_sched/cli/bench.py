"""`spark-sched bench`: one experiment (`bench NAME`), all of them (`bench all`), or their report (`bench report`).

Every run holds the bench lock (no test session, no other bench beside it),
waits for a quiet machine, records the machine's state, and ends with each
target's median, 95% interval, worst repetition and verdict.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from spark_sched.bench import registry
from spark_sched.bench.base import BenchContext, Experiment
from spark_sched.bench.harness import BenchResult, prefer_sparkmeasure, run_experiment
from spark_sched.bench.lock import BENCH_ALL_ENV, bench_lock
from spark_sched.bench.machine import MachineLog, spark_jvms, static_state, wait_until_quiet
from spark_sched.bench.output import write_all
from spark_sched.config import check_master
from spark_sched.errors import SparkSchedError
from spark_sched.files import writable_dir

DEFAULT_OUT = Path("bench-out")
QUICK_MAX, FULL_MAX = 5, 7
EXIT_INTERRUPTED = 130


def _say(line: str) -> None:
    click.echo(line, err=True)


def _list() -> None:
    entries = registry.discover()
    if not entries:
        click.echo("no experiments found")
    for name, entry in sorted(entries.items()):
        if entry.experiment is None:
            click.echo(f"{name:16s} (cannot load: {entry.error})")
        else:
            variants = ", ".join(entry.experiment.variants)
            click.echo(f"{name:16s} {entry.experiment.description} [variants: {variants}]")


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so every experiment's teardown stops what it started."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True))


def _on_run(progress: Progress, task: TaskID, experiment: Experiment,
            ctx: BenchContext) -> Callable[[str, int, dict[str, float]], None]:
    def on_run(variant: str, repetition: int, metrics: dict[str, float]) -> None:
        total = len(experiment.variants) * ctx.repetitions
        done = progress.tasks[task].completed + 1
        if done >= total:  # past the minimum: the harness goes on while a target is inconclusive
            total = len(experiment.variants) * ctx.max_repetitions
        label = f"{experiment.name}: {variant} #{repetition + 1}"
        progress.update(task, total=total, completed=done, description=label)

    return on_run


def _machine(quiet_timeout: float) -> MachineLog:
    """Before the first run: the static state, other Spark JVMs, and a wait for a quiet machine."""
    machine = MachineLog(static=static_state(), spark_jvms_at_start=spark_jvms())
    machine.quiet, machine.quiet_wait_s = wait_until_quiet(quiet_timeout, _say)
    return machine


def _run_one(name: str, options: dict[str, Any], progress: Progress) -> BenchResult:
    experiment = registry.get(name)
    ctx = BenchContext(out_dir=options["out_dir"], quick=options["quick"], master=options["master"],
                       repetitions=options["repetitions"], max_repetitions=options["max_repetitions"])
    machine = _machine(options["quiet_timeout"])
    machine.lock = options["lock"]
    task = progress.add_task(f"{name}: setting up", total=None)
    try:
        result = run_experiment(experiment, ctx, on_run=_on_run(progress, task, experiment, ctx),
                                machine=machine)
    finally:
        progress.update(task, description=f"{name}: done", total=progress.tasks[task].completed or 1)
    write_all(result, options["out_dir"])
    return result


def _fmt(value: float | None) -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _table_console() -> Console:
    """A console for the summary; at least 160 columns when writing to a file or pipe, so names are not cut."""
    console = Console()
    return console if console.is_terminal else Console(width=160)


def summary_table(results: list[dict[str, Any]]) -> Table:
    """One row per target: experiment, target, median, 95% interval, worst repetition, wanted, verdict.

    `results` are bench JSON documents (`BenchResult.to_json()` or a NAME.json read back).
    """
    table = Table(title="spark-sched bench: targets")
    for column in ("experiment", "target", "median", "95% interval", "worst", "wanted", "verdict"):
        table.add_column(column)
    colour = {"met": "green", "missed": "red", "inconclusive": "yellow"}
    for result in results:
        noisy = " (noisy)" if result.get("machine", {}).get("noisy") else ""
        for name, t in result.get("targets", {}).items():
            low, high = t["ci95"]
            table.add_row(result["experiment"] + noisy, name, _fmt(t["value"]), f"[{_fmt(low)}, {_fmt(high)}]",
                          _fmt(t["worst"]), t["target"], f"[{colour[t['verdict']]}]{t['verdict']}[/]")
    return table


def _run_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--out", "out_dir", type=click.Path(path_type=Path), default=DEFAULT_OUT, show_default=True,
                     help="Where NAME.json, NAME.md and the plots go."),
        click.option("--quick", is_flag=True, help="Smaller runs, at most 5 repetitions (the default is 7)."),
        click.option("--master", default=None, help="Spark master URL (default: the experiment's own choice)."),
        click.option("--repetitions", type=click.IntRange(min=3), default=3, show_default=True,
                     help="Minimum interleaved repetitions per variant."),
        click.option("--max-repetitions", type=click.IntRange(min=3), default=None,
                     help="Most repetitions while a target is inconclusive [default: 5 quick, 7 full]."),
        click.option("--quiet-timeout", type=click.FloatRange(min=0), default=300.0, show_default=True,
                     help="Seconds to wait for a quiet machine before the first run; past it the run is marked noisy."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _prepare(out_dir: Path, quick: bool, master: str | None, repetitions: int, max_repetitions: int | None,
             quiet_timeout: float) -> dict[str, Any]:
    if master is not None:
        check_master(master, "spark-sched bench", "--master")
    writable_dir(out_dir, "spark-sched bench: --out")
    maximum = max_repetitions or (QUICK_MAX if quick else FULL_MAX)
    return {"out_dir": out_dir, "quick": quick, "master": master, "repetitions": repetitions,
            "max_repetitions": max(maximum, repetitions), "quiet_timeout": quiet_timeout}


def _interrupted(results: list[dict[str, Any]]) -> None:
    if results:
        _table_console().print(summary_table(results))
    _say("spark-sched bench: interrupted; every process the bench started was stopped")
    sys.exit(EXIT_INTERRUPTED)


def _summarize(results: list[dict[str, Any]], out_dir: Path) -> None:
    """The one table a bench ends with, and where its JSON went."""
    _table_console().print(summary_table(results))
    click.echo("wrote " + ", ".join(str(out_dir / f"{r['experiment']}.json") for r in results))


def _run_experiment(name: str, options: dict[str, Any]) -> None:
    """`bench NAME`: run one experiment in this process under the lock; end with its summary table."""
    _say(prefer_sparkmeasure())
    try:
        with _stop_on_sigterm(), bench_lock(_say) as how, _progress() as progress:
            options["lock"] = how
            result = _run_one(name, options, progress).to_json()
    except KeyboardInterrupt:
        _interrupted([])
    _summarize([result], options["out_dir"])


def _child_args(name: str, options: dict[str, Any]) -> list[str]:
    """`spark-sched bench NAME` with the options `bench all` was given."""
    args = [sys.executable, "-m", "spark_sched.cli.main", "bench", name, "--out", str(options["out_dir"]),
            "--repetitions", str(options["repetitions"]), "--max-repetitions", str(options["max_repetitions"]),
            "--quiet-timeout", str(options["quiet_timeout"])]
    if options["quick"]:
        args.append("--quick")
    if options["master"]:
        args += ["--master", options["master"]]
    return args


def _run_each_in_its_own_process(names: list[str], options: dict[str, Any]) -> None:
    """`bench all`: every experiment in a process of its own, under this process's lock; one table at the end.

    A driver JVM keeps what it was launched with (the first application's conf as
    system properties, SPARK_LOCAL_IP for its UI), so experiments that place the
    driver differently cannot share one; a child process each gives every
    experiment the start a lone `bench NAME` gets.
    """
    results: list[dict[str, Any]] = []
    failed: list[str] = []
    with _stop_on_sigterm(), bench_lock(_say) as how:
        env = {**os.environ, BENCH_ALL_ENV: str(os.getpid())} if how == "exclusive" else dict(os.environ)
        for name in names:
            _say(f"spark-sched bench all: {name} ({len(results) + len(failed) + 1}/{len(names)})")
            child = subprocess.Popen(_child_args(name, options), env=env)
            try:
                code = child.wait()
            except KeyboardInterrupt:
                child.send_signal(signal.SIGTERM)  # its own handler stops what it started
                child.wait()
                _interrupted(results)
            path = options["out_dir"] / f"{name}.json"
            if code == 0 and path.exists():
                results.append(json.loads(path.read_text()))
            else:
                failed.append(f"{name} (exit {code})")
    _summarize(results, options["out_dir"])
    if failed:
        raise SparkSchedError(f"spark-sched bench all: failed: {', '.join(failed)}")


class BenchGroup(click.Group):
    """`bench all`, `bench report`, and one command per experiment found by the registry."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*sorted(self.commands), *sorted(registry.discover())]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        return _experiment_command(name)


def _experiment_command(name: str) -> click.Command:
    entry = registry.discover().get(name)
    help_text = entry.experiment.description if entry and entry.experiment else f"(experiment {name!r})"

    @click.command(name=name, help=help_text)
    @_run_options
    def run(**kwargs: Any) -> None:
        registry.get(name)  # an unknown or broken experiment is refused before anything is made
        _run_experiment(name, _prepare(**kwargs))

    return run


@click.group(cls=BenchGroup, invoke_without_command=True)
@click.option("--list", "list_only", is_flag=True, help="List the experiments and exit.")
@click.pass_context
def bench(ctx: click.Context, list_only: bool) -> None:
    """Run experiments' variants side by side and judge their targets with 95% intervals.

    `spark-sched bench NAME` runs one experiment, `bench all` every one in turn,
    `bench report DIR...` renders Markdown tables and plots from their JSON.
    """
    if list_only:
        _list()
        ctx.exit(0)
    if ctx.invoked_subcommand is None:
        raise SparkSchedError("spark-sched bench: give an experiment NAME, `all` or `report` "
                              "(see `spark-sched bench --list`)")


@bench.command(name="all")
@_run_options
def bench_all(**kwargs: Any) -> None:
    """Run every experiment in turn; end with one table: experiment, target, median, 95% interval, verdict.

    Holds the bench lock (it waits for test sessions and other benches) and runs each experiment in a
    process of its own, which waits for a quiet machine and records the machine's state in its NAME.json.
    Ctrl-C or SIGTERM stops every process the bench started and prints the table of the experiments that
    finished; an experiment that fails does not stop the others, and the command then exits non-zero.
    """
    options = _prepare(**kwargs)
    names = sorted(name for name, entry in registry.discover().items() if entry.experiment is not None)
    _run_each_in_its_own_process(names, options)


@bench.command(name="report")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("bench-report"), show_default=True,
              help="Where the Markdown page and the plots are written.")
@click.option("--page", default="README.md", show_default=True, help="File name of the Markdown page.")
@click.option("--pages", "pages", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also refresh the `<!-- bench targets: NAME -->` blocks of these Markdown files (repeatable).")
def bench_report(sources: tuple[Path, ...], out_dir: Path, page: str, pages: tuple[Path, ...]) -> None:
    """Render Markdown tables and plots from bench JSON files or directories of them (never typed figures)."""
    from spark_sched.bench.report import fill_pages, write_report

    writable_dir(out_dir, "spark-sched bench report: --out")
    paths = write_report(list(sources), out_dir, page_name=page)
    click.echo("wrote " + ", ".join(str(p) for p in paths))
    if pages:
        changed = fill_pages(list(pages), list(sources))
        click.echo("refreshed " + (", ".join(str(p) for p in changed) or "no page (all current)"))
