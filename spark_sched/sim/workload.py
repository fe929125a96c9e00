"""What the simulator runs: jobs as DAGs of stages, stages as lists of tasks.

A task's time is its compute time plus the time its remote bytes need on the
network it shares: input read from a preferred host when the task does not run
there, and the part of its shuffle read that crosses racks.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class TaskSpec:
    """One task: compute seconds, bytes it reads when not local, hosts its input is on."""

    compute_s: float
    read_bytes: float = 0.0
    preferred: tuple[str, ...] = ()
    cached: bool = False  # input in an executor's cache: Spark's PROCESS_LOCAL level applies
    shuffle_bytes: float = 0.0  # shuffle read, spread over the parent stages' output hosts


@dataclass(slots=True)
class StageSpec:
    """A stage: its tasks and the stages whose output it reads (submitted once they are all done).

    `needed`: the stage is done once this many of its tasks succeeded, and the tasks
    still running are killed (KMN's extra upstream tasks: launch M, keep the first K).
    """

    stage_id: int
    tasks: list[TaskSpec]
    parents: tuple[int, ...] = ()
    needed: int | None = None


@dataclass(slots=True)
class JobSpec:
    """A job arriving at `arrival_s` into `pool`, with tags (for cancellation) and a workload class."""

    job_id: int
    arrival_s: float
    stages: list[StageSpec]
    pool: str = "default"
    tags: tuple[str, ...] = ()
    kind: str = "batch"
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def task_count(self) -> int:
        return sum(len(s.tasks) for s in self.stages)
