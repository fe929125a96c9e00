"""Per stage of a past run: what the model needs (N, T, S, M, R, miss cost) and what the run achieved.

Only stages whose tasks had a place to be count: stages that read a persisted
RDD an earlier stage computed, and stages with a task launched NODE_LOCAL or
RACK_LOCAL (a preference Spark could meet). A task without preferences is
reported PROCESS_LOCAL, and one whose preferences name hosts no executor runs on
(a shuffle's map outputs under another host name, as in local mode) launches ANY
whatever the wait, so neither level alone says a stage cared where it ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spark_sched.figures import json_figure
from spark_sched.locality.achieved import LOCAL_LEVELS, achieved_locality, level_name, miss_penalty, task_seconds
from spark_sched.locality.cost import StageShape
from spark_sched.locality.model import expected_locality, skips_for_wait

if TYPE_CHECKING:
    import pandas as pd

    from spark_sched.locality.history import AppLog

PREFERENCE_LEVELS = ("NODE_LOCAL", "RACK_LOCAL")
NO_LOCAL_SHARE = "no task of the stage had a locality preference (all NO_PREF)"
NO_STAGE_MISS = "the stage has no successful task away from its data beside local ones to measure a miss by"


@dataclass(frozen=True)
class StageRun:
    """One located stage of a past run."""

    stage_id: int
    tasks: int
    task_seconds: float
    local_fraction: float
    levels: dict[str, float]
    miss_seconds: float | None
    misses: int

    def shape(self, slots: int, nodes: int, replication: int, miss_seconds: float) -> StageShape:
        """The stage for the cost model, with a given miss cost (the application's pooled one: a stage's own
        few misses are a noisy measure, and one wait serves every stage)."""
        return StageShape(self.tasks, self.task_seconds, slots, nodes, replication, max(0.0, miss_seconds))

    def predicted(self, wait_seconds: float, slots: int, nodes: int, replication: int) -> float:
        """The model's locality for this stage under a wait."""
        return expected_locality(nodes, replication, self.tasks, skips_for_wait(wait_seconds, self.task_seconds, slots))

    def to_json(self) -> dict[str, Any]:
        """Strict JSON: a share or cost the stage cannot give is null with its reason beside it."""
        return {"stageId": self.stage_id, "tasks": self.tasks, "task_seconds": self.task_seconds,
                **json_figure("local_fraction", self.local_fraction, NO_LOCAL_SHARE), "levels": self.levels,
                **json_figure("miss_seconds", self.miss_seconds, NO_STAGE_MISS), "misses": self.misses}


def located_stage_ids(tasks: pd.DataFrame, cached_stages: set[int]) -> list[int]:
    """Stages that read cached data, or whose tasks show preferences Spark met at node or rack level."""
    names = tasks["taskLocality"].map(level_name)
    shown = set(tasks.loc[names.isin(PREFERENCE_LEVELS), "stageId"].astype(int))
    present = set(tasks["stageId"].astype(int))
    return sorted((shown | cached_stages) & present)


def stage_runs(tasks: pd.DataFrame, stage_ids: list[int]) -> list[StageRun]:
    """Task length (mean of the local tasks, else of all), locality by level and miss cost of each stage."""
    levels = achieved_locality(tasks, "stageId").set_index("stageId")
    runs = []
    for stage_id in stage_ids:
        part = tasks[tasks["stageId"] == stage_id]
        done = part[part["status"] == "SUCCESS"] if "status" in part else part
        local = done[done["taskLocality"].map(level_name).isin(LOCAL_LEVELS)]
        length = float(task_seconds(local if len(local) else done).mean()) if len(done) else 0.0
        miss, misses = miss_penalty(part)
        row = levels.loc[stage_id]
        runs.append(StageRun(int(stage_id), int(len(part)), max(0.001, length), float(row["local_fraction"]),
                             {level: float(row[level]) for level in ("PROCESS_LOCAL", "NODE_LOCAL", "RACK_LOCAL",
                                                                      "NO_PREF", "ANY")}, miss, misses))
    return runs


def app_stage_runs(app: AppLog) -> list[StageRun]:
    return stage_runs(app.tasks, located_stage_ids(app.tasks, app.cached_stages))
