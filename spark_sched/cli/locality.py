"""`spark-sched locality recommend|advise|report`: waits from the model, advice from a run, locality achieved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from spark_sched.cli.jsonout import echo_json
from spark_sched.figures import cell, json_figure
from spark_sched.locality import LEVELS, LocalityError, achieved_locality, inputs_from_tasks, recommend_locality_wait
from spark_sched.locality.advise import advice_text, advise, pooled_miss
from spark_sched.locality.history import load_app
from spark_sched.locality.stages import app_stage_runs
from spark_sched.sparkversions import settings_for, timer_reset_note

NO_PREFERENCE = "no task had a locality preference (all NO_PREF)"


@click.group()
def locality() -> None:
    """Locality waits: the delay-scheduling model, advice from an event log, and the locality a run achieved."""


def _from_log(path: Path) -> dict[str, Any]:
    """M, L, N, T (all tasks) and the miss cost (located stages) of a past run, and the Spark it ran on."""
    app = load_app(path)
    measured = inputs_from_tasks(app.tasks)
    miss = pooled_miss(app_stage_runs(app))
    if miss is not None:
        measured["miss_seconds"] = max(0.0, miss)
    measured["spark_version"] = app.spark_version
    return measured


@locality.command()
@click.option("--nodes", "-M", type=int, default=None, help="Nodes (hosts with executors).")
@click.option("--slots-per-node", "-L", type=int, default=None, help="Task slots (cores) per node.")
@click.option("--replication", "-R", type=int, default=None, help="Copies of each input block [default: 1, cached].")
@click.option("--tasks", "-N", type=int, default=None, help="Tasks in the job (stage).")
@click.option("--task-seconds", "-T", type=float, default=None, help="Mean task length in seconds.")
@click.option("--miss-seconds", "-P", type=float, default=None,
              help="How much longer a non-local task runs (s): choose the wait by cost (the default mode then).")
@click.option("--target", type=float, default=None, help="Locality to reach, 0 < target < 1 (target mode; "
              "the default when no miss cost is known, at 0.95).")
@click.option("--racks", type=int, default=1, show_default=True, help="Racks the nodes sit in (rack wait).")
@click.option("--input", "input_kind", type=click.Choice(["cached", "disk"]), default="cached", show_default=True,
              help="Input in executors' memory (wait at PROCESS_LOCAL) or on the hosts' disks (NODE_LOCAL).")
@click.option("--from-eventlog", type=click.Path(path_type=Path), default=None,
              help="Take M, L, N, T and the miss cost from a past run's event log (flags given explicitly win).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def recommend(
    nodes: int | None,
    slots_per_node: int | None,
    replication: int | None,
    tasks: int | None,
    task_seconds: float | None,
    miss_seconds: float | None,
    target: float | None,
    racks: int,
    input_kind: str,
    from_eventlog: Path | None,
    as_json: bool,
) -> None:
    """Print spark.locality.wait.process/node/rack by the cost of a miss (or for a target), and the prediction."""
    given = {"nodes": nodes, "slots_per_node": slots_per_node, "tasks": tasks, "task_seconds": task_seconds}
    measured: dict[str, Any] = {}
    if from_eventlog is not None:
        measured = _from_log(from_eventlog)
        given = {k: v if v is not None else measured[k] for k, v in given.items()}
        if miss_seconds is None and target is None:
            miss_seconds = measured.get("miss_seconds")
    missing = [f"--{k.replace('_', '-')}" for k, v in given.items() if v is None]
    if missing:
        raise LocalityError(f"{', '.join(missing)} missing; allowed: give them, or --from-eventlog PATH")
    rec = recommend_locality_wait(
        replication=1 if replication is None else replication,
        target=target,
        racks=racks,
        cached=input_kind == "cached",
        miss_seconds=miss_seconds,
        **given,  # type: ignore[arg-type]
    )
    conf, version_note = rec.wait.spark_conf(), ""
    if from_eventlog is not None:  # only settings the run's Spark has, and what it does instead of the others
        version = measured["spark_version"]
        conf, version_note = settings_for(version, conf), timer_reset_note(version)
    if as_json:
        document = {**rec.to_json(), "spark_conf": conf}
        echo_json({**document, "version_note": version_note} if from_eventlog is not None else document)
        return
    for key, value in conf.items():
        click.echo(f"{key}={value}")
    inputs = rec.inputs
    why = f"P={inputs['miss_seconds']:.3g}s" if rec.mode == "cost" else f"target {inputs['target']}"
    change = "" if rec.predicted_change is None else f", job time {rec.predicted_change:+.1%} vs no wait"
    click.echo(
        f"# predicted locality {rec.predicted_locality:.3f}{change} after D={rec.skips} skipped offers "
        f"(M={inputs['nodes']} L={inputs['slots_per_node']} R={inputs['replication']} N={inputs['tasks']} "
        f"T={inputs['task_seconds']:.3g}s, {rec.mode} mode, {why})"
    )
    if version_note:
        click.echo(f"# note: {version_note}")


@locality.command("advise")
@click.argument("eventlog_path", type=click.Path(path_type=Path))
@click.option("--target", type=float, default=None, help="Reach this locality instead of minimising job time.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def advise_cmd(eventlog_path: Path, target: float | None, as_json: bool) -> None:
    """spark.locality.wait* for an application's workload, from its own event log (any Spark app's).

    Reads task length, slots, locality by level and the cost of non-local tasks per
    stage, and prints the waits that minimise expected job time, with the predicted
    locality and job-time change. Only settings the log's Spark version has are named.
    """
    result = advise(load_app(eventlog_path), target)
    if as_json:
        echo_json(result.to_json())
        return
    for line in advice_text(result):
        click.echo(line)


@locality.command()
@click.argument("eventlog_path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def report(eventlog_path: Path, as_json: bool) -> None:
    """Share of tasks at each locality level, per stage and per job, from an event log (file or directory)."""
    tasks = load_app(eventlog_path).tasks
    levels: dict[str, Any] = {
        "stages": achieved_locality(tasks, "stageId").to_dict(orient="records"),
        "jobs": achieved_locality(tasks, "jobId").to_dict(orient="records"),
        "application": achieved_locality(tasks, None).to_dict(orient="records")[0],
    }
    if as_json:
        echo_json({kind: [_strict(r) for r in rows] if isinstance(rows, list) else _strict(rows)
                   for kind, rows in levels.items()})
        return
    header = f"{'':<12} {'tasks':>6} " + " ".join(f"{level:>13}" for level in LEVELS) + f" {'local':>7}"
    click.echo(header)
    rows = [(f"{kind[:-1]} {row[key]}", row) for kind, key in (("stages", "stageId"), ("jobs", "jobId"))
            for row in levels[kind]]
    for label, row in [*rows, ("application", levels["application"])]:
        click.echo(_row(label, row))
    if any(_strict(row)["local_fraction"] is None for _, row in rows):
        click.echo(f"(-: {NO_PREFERENCE})")


def _strict(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its local share as null and the reason beside it when no task had a preference."""
    return {**row, **json_figure("local_fraction", row["local_fraction"], NO_PREFERENCE)}


def _row(label: str, row: dict[str, Any]) -> str:
    shares = " ".join(f"{row[level]:>13.3f}" for level in LEVELS)
    return f"{label:<12} {row['tasks']:>6} {shares} {cell(row['local_fraction'], '.3f', 7)}"
