"""What a finished job measured, read from Spark's own status store (the records the REST API and `measure` serve).

Only two numbers are needed to learn from a job: how many tasks it ran and how
much executor run time they took. They are read by the job's unique tag, a
handful of py4j calls after the job ends, outside the decision's time budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark import SparkContext


@dataclass(frozen=True)
class JobStats:
    jobs: int
    tasks: int
    run_ms: float


def stats_for_tag(sc: SparkContext, tag: str) -> JobStats:
    """Spark jobs carrying `tag`, their completed tasks and executor run time (ms); zeros when none is found."""
    if sc._jsc is None:  # a stopped SparkContext keeps no records
        return JobStats(0, 0, 0.0)
    jsc = sc._jsc.sc()
    job_ids = list(jsc.statusTracker().getJobIdsForTag(tag))
    store = jsc.statusStore()
    seen: set[int] = set()
    tasks, run_ms = 0, 0.0
    for job_id in job_ids:
        stage_ids = store.job(int(job_id)).stageIds()
        for i in range(stage_ids.size()):
            stage_id = int(stage_ids.apply(i))
            if stage_id in seen:
                continue
            seen.add(stage_id)
            try:
                stage = store.lastStageAttempt(stage_id)
            except Exception:  # noqa: BLE001 - a skipped stage has no attempt in this job
                continue
            tasks += int(stage.numCompleteTasks())
            run_ms += float(stage.executorRunTime())
    return JobStats(len(job_ids), tasks, run_ms)
