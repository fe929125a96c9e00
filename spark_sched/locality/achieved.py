"""What a run achieved, from a task frame (`spark_sched.measure`'s, live or from an event log).

Locality per level, and the model's inputs as the run shows them: hosts, slots,
tasks per stage, task length, and what a miss cost (the extra time of tasks that
ran away from their data over those that ran local, in the same stage).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from spark_sched.locality.waits import LocalityError

if TYPE_CHECKING:
    import pandas as pd

LEVELS = ("PROCESS_LOCAL", "NODE_LOCAL", "RACK_LOCAL", "NO_PREF", "ANY")
LOCAL_LEVELS = ("PROCESS_LOCAL", "NODE_LOCAL")
MISS_LEVELS = ("RACK_LOCAL", "ANY")


def achieved_locality(tasks: pd.DataFrame, by: str | Iterable[str] | None = "stageId") -> pd.DataFrame:
    """Share of tasks launched at each locality level, per group (`by`: "stageId", "jobId", None for all).

    Columns: the group keys, `tasks`, one column per level in LEVELS, and
    `local_fraction` (PROCESS_LOCAL + NODE_LOCAL over tasks that had a preference,
    i.e. excluding NO_PREF). Every launched attempt counts: each was a placement.
    Spark itself reports a task without preferences that it took from its no-preference
    queue as PROCESS_LOCAL, so compare stages that read located data (cached blocks, files).
    """
    import pandas as pd

    frame = tasks.copy()
    frame["taskLocality"] = frame["taskLocality"].map(level_name)
    keys = [by] if isinstance(by, str) else list(by or [])
    if not keys:
        frame["_all"] = "all"
        keys = ["_all"]
    rows = []
    for group, part in frame.groupby(keys, sort=True):
        counts = part["taskLocality"].value_counts()
        total = int(len(part))
        row: dict[str, Any] = dict(zip(keys, group if isinstance(group, tuple) else (group,), strict=True))
        row["tasks"] = total
        for level in LEVELS:
            row[level] = float(counts.get(level, 0)) / total if total else 0.0
        row["local_fraction"] = _local_share(counts)
        rows.append(row)
    out = pd.DataFrame(rows, columns=[*keys, "tasks", *LEVELS, "local_fraction"])
    return out.drop(columns=["_all"]) if "_all" in out.columns else out


def local_fraction(tasks: pd.DataFrame) -> float:
    """PROCESS_LOCAL + NODE_LOCAL share of the tasks that had a locality preference (NaN when none had)."""
    return _local_share(tasks["taskLocality"].map(level_name).value_counts())


def _local_share(counts: pd.Series) -> float:
    with_pref = sum(int(counts.get(level, 0)) for level in LEVELS if level != "NO_PREF")
    local = sum(int(counts.get(level, 0)) for level in LOCAL_LEVELS)
    return local / with_pref if with_pref else float("nan")


def level_name(value: Any) -> str:
    """sparkMeasure codes levels 0..4; Spark's REST API and event log use names."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < len(LEVELS):
        return LEVELS[int(value)]
    return str(value)


def task_seconds(tasks: pd.DataFrame) -> pd.Series:
    """Each task's length, launch to finish, in seconds (what a slot spent on it)."""
    return (tasks["finishTime"] - tasks["launchTime"]).clip(lower=0) / 1000.0


def miss_penalty(tasks: pd.DataFrame, levels: Iterable[str] = MISS_LEVELS) -> tuple[float | None, int]:
    """Extra seconds a task at `levels` ran over the local tasks of its own stage, and how many such tasks.

    Per stage: mean executor run time of its tasks at `levels` minus the mean of its
    PROCESS_LOCAL and NODE_LOCAL tasks (a remote block is read inside the run time;
    the driver's side of a task, result fetching and scheduling, is the same either
    way and only adds noise); stages are weighted by their missed tasks. Successful
    attempts only. None when no stage has both kinds (the cost cannot be measured).
    """
    done = tasks[tasks["status"] == "SUCCESS"] if "status" in tasks else tasks
    names = done["taskLocality"].map(level_name)
    seconds = done["executorRunTime"].clip(lower=0) / 1000.0 if "executorRunTime" in done else task_seconds(done)
    wanted = set(levels)
    total = weight = 0.0
    for _, index in done.groupby("stageId").groups.items():
        stage_names, stage_seconds = names.loc[index], seconds.loc[index]
        missed = stage_seconds[stage_names.isin(wanted)]
        local = stage_seconds[stage_names.isin(LOCAL_LEVELS)]
        if len(missed) and len(local):
            total += (float(missed.mean()) - float(local.mean())) * len(missed)
            weight += len(missed)
    return (total / weight if weight else None), int(weight)


def inputs_from_tasks(tasks: pd.DataFrame) -> dict[str, Any]:
    """The model's M, L, N and T as a past run shows them in its task frame.

    M: distinct hosts that ran tasks; L: the most tasks one host ran at once;
    N: the median number of tasks per stage; T: the mean task length (launch to finish).
    """
    if tasks.empty:
        raise LocalityError("the run has no tasks; allowed: an event log of a run that ran tasks")
    per_stage = tasks.groupby("stageId").size()
    return {
        "nodes": int(tasks["host"].nunique()),
        "slots_per_node": max(peak_concurrency(part) for _, part in tasks.groupby("host")),
        "tasks": max(1, int(round(float(per_stage.median())))),
        "task_seconds": max(0.001, float(task_seconds(tasks).mean())),
    }


def peak_concurrency(tasks: pd.DataFrame) -> int:
    """Most tasks running at one instant: the slots they had.

    A task's interval is launch to launch + executorRunTime: the driver's finish time comes
    after the result travelled back, when the slot had already taken the next task.
    """
    ends = tasks["launchTime"] + tasks["executorRunTime"].clip(lower=0)
    events = sorted([(t, 1) for t in tasks["launchTime"]] + [(t, -1) for t in ends])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return max(1, peak)
