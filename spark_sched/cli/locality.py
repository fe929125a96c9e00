"""`spark-sched locality recommend|report`: waits from the delay-scheduling model; locality a run achieved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pandas as pd

from spark_sched.locality import LEVELS, LocalityError, achieved_locality, inputs_from_tasks, recommend_locality_wait


def _load_tasks(path: Path) -> pd.DataFrame:
    """The task frame of an application's event log (measurement's reader, as `spark-sched report` uses)."""
    from spark_sched.measure import eventlog
    from spark_sched.measure.frames import tasks_frame

    return tasks_frame(eventlog.load(path))


@click.group()
def locality() -> None:
    """Locality waits from the delay-scheduling model, and the locality a run achieved."""


@locality.command()
@click.option("--nodes", "-M", type=int, default=None, help="Nodes (hosts with executors).")
@click.option("--slots-per-node", "-L", type=int, default=None, help="Task slots (cores) per node.")
@click.option("--replication", "-R", type=int, default=None, help="Copies of each input block [default: 1, cached].")
@click.option("--tasks", "-N", type=int, default=None, help="Tasks in the job (stage).")
@click.option("--task-seconds", "-T", type=float, default=None, help="Mean task length in seconds.")
@click.option("--target", type=float, default=0.95, show_default=True, help="Locality to reach, 0 < target < 1.")
@click.option("--racks", type=int, default=1, show_default=True, help="Racks the nodes sit in (rack wait).")
@click.option("--input", "input_kind", type=click.Choice(["cached", "disk"]), default="cached", show_default=True,
              help="Input in executors' memory (wait at PROCESS_LOCAL) or on the hosts' disks (NODE_LOCAL).")
@click.option("--from-eventlog", type=click.Path(path_type=Path), default=None,
              help="Take M, L, N and T from a past run's event log (flags given explicitly win).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def recommend(
    nodes: int | None,
    slots_per_node: int | None,
    replication: int | None,
    tasks: int | None,
    task_seconds: float | None,
    target: float,
    racks: int,
    input_kind: str,
    from_eventlog: Path | None,
    as_json: bool,
) -> None:
    """Print spark.locality.wait.process/node/rack for a target locality, and the predicted locality."""
    given = {"nodes": nodes, "slots_per_node": slots_per_node, "tasks": tasks, "task_seconds": task_seconds}
    if from_eventlog is not None:
        measured = inputs_from_tasks(_load_tasks(from_eventlog))
        given = {k: v if v is not None else measured[k] for k, v in given.items()}
    missing = [f"--{k.replace('_', '-')}" for k, v in given.items() if v is None]
    if missing:
        raise LocalityError(f"{', '.join(missing)} missing; allowed: give them, or --from-eventlog PATH")
    rec = recommend_locality_wait(
        replication=1 if replication is None else replication,
        target=target,
        racks=racks,
        cached=input_kind == "cached",
        **given,  # type: ignore[arg-type]
    )
    if as_json:
        click.echo(json.dumps(rec.to_json()))
        return
    for key, value in rec.wait.spark_conf().items():
        click.echo(f"{key}={value}")
    inputs = rec.inputs
    click.echo(
        f"# predicted locality {rec.predicted_locality:.3f} after D={rec.skips} skipped offers "
        f"(M={inputs['nodes']} L={inputs['slots_per_node']} R={inputs['replication']} N={inputs['tasks']} "
        f"T={inputs['task_seconds']:.3g}s)"
    )


@locality.command()
@click.argument("eventlog_path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def report(eventlog_path: Path, as_json: bool) -> None:
    """Share of tasks at each locality level, per stage and per job, from an event log (file or directory)."""
    tasks = _load_tasks(eventlog_path)
    if tasks.empty:
        raise LocalityError(f"{eventlog_path}: no tasks in this event log; allowed: the log of a run that ran tasks")
    levels: dict[str, Any] = {
        "stages": achieved_locality(tasks, "stageId").to_dict(orient="records"),
        "jobs": achieved_locality(tasks, "jobId").to_dict(orient="records"),
        "application": achieved_locality(tasks, None).to_dict(orient="records")[0],
    }
    if as_json:
        click.echo(json.dumps(levels, default=float))
        return
    header = f"{'':<12} {'tasks':>6} " + " ".join(f"{level:>13}" for level in LEVELS) + f" {'local':>7}"
    click.echo(header)
    for kind, key in (("stages", "stageId"), ("jobs", "jobId")):
        for row in levels[kind]:
            click.echo(_row(f"{kind[:-1]} {row[key]}", row))
    click.echo(_row("application", levels["application"]))


def _row(label: str, row: dict[str, Any]) -> str:
    shares = " ".join(f"{row[level]:>13.3f}" for level in LEVELS)
    return f"{label:<12} {row['tasks']:>6} {shares} {row['local_fraction']:>7.3f}"
