"""Records -> pandas frames (tasks, stages, jobs), sparkMeasure-style aggregates and job latency percentiles.

Aggregates follow sparkMeasure's StageMetrics: sums over successful tasks,
except resultSize (the largest stage total); numStages, stageDuration and
elapsedTime (first stage submitted to last stage completed) over the stages
that ran. What
sparkMeasure cannot see is added: killed and failed attempts (`wastedTaskTime`,
their executor run time) and the share of successful tasks per locality level.
Sums are taken in Spark's own units (ns for CPU and shuffle-write time) and
converted once, so many short tasks do not each lose their fraction of a ms. A
metric the source's Spark did not record (`Records.unrecorded`) has no value
(None in the aggregate, an empty column in the frames), never a 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from spark_sched.measure.records import Record, Records
from spark_sched.measure.schema import (
    JOB_COLUMNS,
    LOCALITY_LEVELS,
    MAX_STAGE_METRICS,
    METRICS,
    STAGE_COLUMNS,
    TASK_COLUMNS,
    from_native,
    native,
)

PERCENTILES = (50, 95, 99)
WASTED_STATUSES = ("KILLED", "FAILED")


def _frame(rows: list[Record], columns: tuple[str, ...], order: list[str],
           unrecorded: dict[str, str] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    if rows:
        frame = frame.sort_values(order, kind="stable").reset_index(drop=True)
    for name in unrecorded or {}:
        if name in frame:
            frame[name] = None  # Spark did not record it: no value rather than a 0
    return frame


def tasks_frame(records: Records) -> pd.DataFrame:
    """One row per task attempt (any status), sparkMeasure's names plus status, locality, host, pool, tags."""
    return _frame(records.tasks, TASK_COLUMNS, ["launchTime", "taskId"], records.unrecorded)


def stages_frame(records: Records) -> pd.DataFrame:
    """One row per stage attempt that ran; metric columns are Spark's stage totals (all attempts' tasks)."""
    return _frame(records.stages, STAGE_COLUMNS, ["stageId", "attemptId"], records.unrecorded)


def jobs_frame(records: Records) -> pd.DataFrame:
    """One row per job: status, submission/completion (epoch ms), duration (ms), stage ids, job tags."""
    return _frame(records.jobs, JOB_COLUMNS, ["jobId"])


def wasted_time(task: Record) -> int:
    """Run time a killed or failed attempt burned: executor run time, else its wall time if metrics were lost."""
    return int(task.get("executorRunTime") or task.get("taskDuration") or 0)


def locality_fraction(tasks: list[Record]) -> dict[str, float]:
    """Share of the given tasks launched at each locality level (every level present, 0.0 when unused)."""
    counts = {level: 0 for level in LOCALITY_LEVELS}
    for task in tasks:
        level = task.get("taskLocality", "")
        if level in counts:
            counts[level] += 1
    total = sum(counts.values())
    return {level: (count / total if total else 0.0) for level, count in counts.items()}


def elapsed_time(stages: list[Record]) -> int:
    """sparkMeasure's elapsedTime: from the first stage's submission to the last stage's completion (ms)."""
    spans = [(s["submissionTime"], s["completionTime"]) for s in stages if s["submissionTime"] and s["completionTime"]]
    if not spans:
        return 0
    return int(max(end for _, end in spans) - min(start for start, _ in spans))


def _largest_stage_total(tasks: list[Record], name: str) -> int:
    totals: dict[tuple[int, int], int] = {}
    for task in tasks:
        key = (task["stageId"], task["stageAttemptId"])
        totals[key] = totals.get(key, 0) + int(task.get(name) or 0)
    return max(totals.values(), default=0)


def aggregate(records: Records) -> dict[str, Any]:
    """sparkMeasure's aggregate names over successful tasks, plus wasted work and locality fractions."""
    succeeded = [t for t in records.tasks if t["status"] == "SUCCESS"]
    wasted = [t for t in records.tasks if t["status"] in WASTED_STATUSES]
    result: dict[str, Any] = {
        "numStages": len(records.stages),
        "numTasks": len(succeeded),
        "elapsedTime": elapsed_time(records.stages),
        "stageDuration": int(sum(s["stageDuration"] for s in records.stages)),
    }
    for name in METRICS:
        if name in records.unrecorded:
            result[name] = None
        elif name in MAX_STAGE_METRICS:
            result[name] = _largest_stage_total(succeeded, name)
        else:
            result[name] = from_native(name, sum(native(t, name) for t in succeeded))
    result["numKilledTasks"] = sum(1 for t in wasted if t["status"] == "KILLED")
    result["numFailedTasks"] = sum(1 for t in wasted if t["status"] == "FAILED")
    result["wastedTaskTime"] = sum(wasted_time(t) for t in wasted)
    result["localityFraction"] = locality_fraction(succeeded)
    return result


def _group_of(tag: str, prefix: str) -> str | None:
    if not tag.startswith(prefix):
        return None
    return tag[len(prefix) :] or tag


def latency_percentiles(records: Records, tag_prefix: str = "") -> dict[str, dict[str, float]]:
    """Job latency (submission to completion, ms) p50/p95/p99 per job tag that starts with `tag_prefix`.

    The group is the rest of the tag after the prefix, so jobs tagged
    `spark-sched:class=high` and `...=low` with prefix `spark-sched:class=` give
    groups `high` and `low`. Jobs still running have no latency and are left out.
    """
    groups: dict[str, list[float]] = {}
    for job in records.jobs:
        if job.get("duration") is None:
            continue
        for tag in job["jobTags"]:
            group = _group_of(tag, tag_prefix)
            if group is not None:
                groups.setdefault(group, []).append(float(job["duration"]))
    result: dict[str, dict[str, float]] = {}
    for group, values in sorted(groups.items()):
        stats = {f"p{p}": float(np.percentile(values, p)) for p in PERCENTILES}
        result[group] = {"count": float(len(values)), "mean": float(np.mean(values)), **stats}
    return result
