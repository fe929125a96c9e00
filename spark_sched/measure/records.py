"""What every source hands over: plain job, stage and task records already in the schema's names.

Keeping sources down to "produce these three lists" is what lets the live REST
reader, the event-log reader and sparkMeasure share frames, aggregates and reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]


@dataclass
class Records:
    """Jobs, stages and tasks of one measurement window (or one whole application)."""

    jobs: list[Record] = field(default_factory=list)
    stages: list[Record] = field(default_factory=list)
    tasks: list[Record] = field(default_factory=list)
    window_ms: int = 0  # the measurement window (live) or the application run (event log), wall time
    source: str = "spark"
    app_id: str = ""
    notes: list[str] = field(default_factory=list)
    spark_version: str = ""  # as the source names it ("2.1.0-SNAPSHOT"); "" when it does not
    # metrics the source's Spark did not record -> what Spark calls them ("Executor CPU Time"): no value, not 0
    unrecorded: dict[str, str] = field(default_factory=dict)


def attribute_stages(jobs: list[Record]) -> dict[int, Record]:
    """Stage id -> the job that ran it: the lowest job id listing it (later jobs list it as skipped)."""
    owner: dict[int, Record] = {}
    for job in sorted(jobs, key=lambda j: j["jobId"]):
        for stage_id in job["stageIds"]:
            owner.setdefault(int(stage_id), job)
    return owner


def finish_task(task: Record, stage_owner: dict[int, Record], pools: dict[tuple[int, int], str]) -> Record:
    """Fill a task's job, tags and pool from its stage's owning job and the stage's pool."""
    job = stage_owner.get(int(task["stageId"]))
    task["jobId"] = job["jobId"] if job else -1
    task["jobTags"] = job["jobTags"] if job else ()
    task["pool"] = pools.get((int(task["stageId"]), int(task["stageAttemptId"])), "default")
    return task
