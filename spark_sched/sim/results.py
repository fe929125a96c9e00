"""What a simulation produced: one outcome per job (and per task when asked), and the summaries benches judge."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spark_sched.sim.taskset import LEVEL_NAMES, NODE_LOCAL, PROCESS_LOCAL


@dataclass(slots=True)
class JobOutcome:
    """One job: when it arrived, first ran, ended; how it ended; its tasks by locality level."""

    job_id: int
    pool: str
    kind: str
    tags: tuple[str, ...]
    arrival: float
    start: float = -1.0
    finish: float = -1.0
    status: str = "RUNNING"  # SUCCEEDED | CANCELLED | RUNNING (when the simulation stopped first)
    localities: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])
    killed: int = 0

    @property
    def duration(self) -> float:
        return self.finish - self.arrival if self.finish >= 0 else float("nan")

    @property
    def tasks(self) -> int:
        return sum(self.localities)

    @property
    def local(self) -> int:
        return self.localities[PROCESS_LOCAL] + self.localities[NODE_LOCAL]


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """One task attempt: where and when it ran, at which locality, and whether it was killed."""

    job_id: int
    stage_id: int
    index: int
    host: str
    locality: str
    launch: float
    end: float
    killed: bool


@dataclass
class SimResult:
    """Jobs (and tasks, when recorded) of one simulation, with the engine's own counts."""

    jobs: list[JobOutcome]
    tasks: list[TaskOutcome]
    end_time: float
    events: int
    busy_slot_seconds: float
    cross_rack_bytes: float

    def finished(self, kind: str | None = None) -> list[JobOutcome]:
        return [j for j in self.jobs if j.status == "SUCCEEDED" and (kind is None or j.kind == kind)]

    def job_times(self, kind: str | None = None) -> np.ndarray:
        return np.array([j.duration for j in self.finished(kind)], dtype=float)

    def locality_fraction(self, kind: str | None = None) -> float:
        """Share of the finished jobs' tasks Spark would record as PROCESS_LOCAL or NODE_LOCAL."""
        jobs = self.finished(kind)
        total = sum(j.tasks for j in jobs)
        return sum(j.local for j in jobs) / total if total else float("nan")

    def summary(self, kind: str | None = None) -> dict[str, float]:
        times = self.job_times(kind)
        if not len(times):
            return {"jobs": 0}
        return {"jobs": len(times), "mean_s": float(times.mean()), "p50_s": float(np.percentile(times, 50)),
                "p99_s": float(np.percentile(times, 99)), "locality": self.locality_fraction(kind)}


__all__ = ["LEVEL_NAMES", "JobOutcome", "SimResult", "TaskOutcome"]
