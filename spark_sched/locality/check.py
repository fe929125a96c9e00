"""Achieved vs predicted: did a run's locality wait do what the model says it should?

For each located stage of a run (see `stages`), the model's locality for the wait
the run had (at the level it waits at: process for cached data, else node), beside
the locality the stage achieved. The model assumes Spark restarts the wait at every
local launch: what Spark before 3.1 always did, and what 3.1 and later do with
`legacyResetOnTaskLaunch=true`; under their default a short wait can run out for the
rest of a busy stage, so achieved can fall short. A stage whose tasks had no
preference has no achieved locality: null with the reason beside it, never NaN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spark_sched.figures import cell, json_figure
from spark_sched.locality.history import AppLog, LocalityScan, app_log
from spark_sched.locality.stages import NO_LOCAL_SHARE, StageRun, app_stage_runs
from spark_sched.locality.waits import LocalityError
from spark_sched.sparkversions import timer_reset_note

if TYPE_CHECKING:
    from spark_sched.measure.eventlog import EventLog


def wait_level(app: AppLog) -> str:
    """The level whose wait matters: process when located stages read cached blocks, else node (files on hosts)."""
    return "process" if app.cached_stages else "node"


def achieved_vs_predicted(app: AppLog, runs: list[StageRun] | None = None) -> list[dict[str, Any]]:
    """One row per located stage: tasks, the run's wait, predicted and achieved locality, achieved - predicted."""
    runs = app_stage_runs(app) if runs is None else runs
    wait = app.waits.at(wait_level(app))
    rows = []
    for run in runs:
        predicted = run.predicted(wait, app.slots, app.hosts, app.replication)
        rows.append({"stageId": run.stage_id, "tasks": run.tasks, "wait_s": wait, "predicted": predicted,
                     **json_figure("achieved", run.local_fraction, NO_LOCAL_SHARE),
                     **json_figure("gap", run.local_fraction - predicted, NO_LOCAL_SHARE)})
    return rows


def check_text(app: AppLog, rows: list[dict[str, Any]]) -> list[str]:
    """The report section: a header line, one line per stage, and how the run set the timer reset."""
    level = wait_level(app)
    lines = [f"Locality, achieved vs predicted (model at this run's {level} wait, M={app.hosts} hosts, "
             f"{app.slots_text}, R={app.replication}):"]
    if not rows:
        return [*lines, "(no stage read cached or located data)"]
    lines.append(f"{'stage':>6} {'tasks':>6} {'wait':>8} {'predicted':>9} {'achieved':>9} {'gap':>7}")
    for row in rows:
        lines.append(f"{row['stageId']:>6} {row['tasks']:>6} {row['wait_s'] * 1000:>6.0f}ms {row['predicted']:>9.3f} "
                     f"{cell(row['achieved'], '.3f', 9)} {cell(row['gap'], '+.3f', 7)}")
    if any(row["achieved"] is None for row in rows):
        lines.append(f"(-: {NO_LOCAL_SHARE})")
    if any(row["wait_s"] > 0 for row in rows):
        lines += reset_lines(app)
    return lines


def reset_lines(app: AppLog) -> list[str]:
    """How the run restarted its locality wait where the model may not hold it, as the run's Spark does it."""
    note = timer_reset_note(app.spark_version)
    if note:
        return [f"Note: {note}."]
    if app.waits.reset_on_launch is not True:
        return ["Note: the run kept Spark's default timer reset (legacyResetOnTaskLaunch=false); the model "
                "assumes a reset at every local launch, so a busy stage can fall short of it."]
    return []


def report_section(log: EventLog, scan: LocalityScan) -> tuple[list[str], list[dict[str, Any]]]:
    """The achieved-vs-predicted lines and rows for `spark-sched report`; a one-line note when the log cannot say.

    From the report's own pass over the log (`eventlog.read(path, scan)`): the log is not read again.
    """
    try:
        app = app_log(log, scan)
    except LocalityError as exc:
        return [f"Locality, achieved vs predicted: not available ({exc})"], []
    rows = achieved_vs_predicted(app)
    return check_text(app, rows), rows
