"""What one variant of the unified application measured, and the figures reports and benches compare."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spark_sched.priority.classes import JobTags
from spark_sched.priority.streaming import percentile


@dataclass
class UnifiedResult:
    """What one variant measured."""

    variant: str
    seconds: float
    latencies_ms: list[tuple[float, float]] = field(default_factory=list)  # (commit wall time, latency)
    durations_ms: list[float] = field(default_factory=list)
    batch_jobs: int = 0
    completions: list[float] = field(default_factory=list)  # wall time (s) each LOW job finished, in the window
    batch_task_ms: float = 0.0  # useful LOW task time: successful LOW task run time less the time spent suspended
    suspended_ms: float = 0.0  # time LOW tasks spent suspended in their stop check (suspend policy)
    relaunch_ms: float = 0.0  # launch, deserialize and scheduling time of LOW Python tasks that restarted a partition
    stream_task_ms: float = 0.0  # run time of the stream's (HIGH) tasks: the slot time the stream itself used
    wasted_task_ms: float = 0.0
    reactions_ms: list[float] = field(default_factory=list)
    preemptions: int = 0
    max_job_preemptions: int = 0
    stream_complete: bool = True
    stream_problems: list[str] = field(default_factory=list)
    idle_slot_s_while_pending: float = 0.0
    idle_core_s_while_pending: float = 0.0  # the same on the cores: a suspended task holds a slot, not a core
    jobs_lost: int = 0  # LOW jobs submitted that did not finish, or failed
    duplicate_commits: int = 0  # partitions committed a second time (dropped by the commit; counts as run twice)
    cancel_to_free_ms: list[float] = field(default_factory=list)
    slots: int = 0
    # (start s, end s, class) of every task attempt, relative to the measured window's start
    task_spans: list[tuple[float, float, str]] = field(default_factory=list)

    def jobs_per_min(self) -> float:
        """LOW jobs per minute from the spacing of completions: (n - 1) / (last - first).

        A run holds only a handful of multi-second jobs, so counting completions in
        the window is quantized (one job = 5-15 %); the spacing between the first
        and last completion is not. Fewer than 3 completions: the plain count.
        """
        done = sorted(self.completions)
        if len(done) >= 3 and done[-1] > done[0]:
            return 60.0 * (len(done) - 1) / (done[-1] - done[0])
        return self.batch_jobs / (self.seconds / 60.0)

    def metrics(self) -> dict[str, float]:
        lat = [v for _, v in self.latencies_ms]
        return {
            "stream_p50_ms": percentile(lat, 50),
            "stream_p99_ms": percentile(lat, 99),
            "stream_batches": float(len(lat)),
            "batch_jobs_per_min": self.jobs_per_min(),
            "batch_jobs": float(self.batch_jobs),
            "batch_task_ms": self.batch_task_ms,
            "suspended_ms": self.suspended_ms,
            "relaunch_ms": self.relaunch_ms,
            "stream_task_ms": self.stream_task_ms,
            "wasted_task_ms": self.wasted_task_ms,
            "reaction_p99_ms": percentile(self.reactions_ms, 99) if self.reactions_ms else 0.0,
            "preemptions": float(self.preemptions),
            "max_job_preemptions": float(self.max_job_preemptions),
            "idle_slot_s_while_pending": self.idle_slot_s_while_pending,
            "idle_core_s_while_pending": self.idle_core_s_while_pending,
            "jobs_lost_or_doubled": float(self.jobs_lost + self.duplicate_commits),
            "cancel_to_free_p50_ms": percentile(self.cancel_to_free_ms, 50) if self.cancel_to_free_ms else 0.0,
            "cancel_to_free_p99_ms": percentile(self.cancel_to_free_ms, 99) if self.cancel_to_free_ms else 0.0,
            "stream_complete": 1.0 if self.stream_complete else 0.0,
        }


def task_times(tasks: Any, result: UnifiedResult, partitions: dict[str, int] | None = None) -> None:
    """Useful and wasted (killed or failed attempts) run time of LOW tasks, the stream's task time, relaunches.

    A cooperative stop ends as a successful task, and a suspended task's run time
    includes its suspension: useful time is successful run time less `suspended_ms`
    (set it first). `partitions` (cooperative LOW job id -> its partitions): every
    task of such a job past its partitions' count restarted a stopped partition,
    and its launch cost (scheduler delay and deserialization) is relaunch overhead.
    """
    if tasks.empty:
        return
    high = tasks[tasks["jobTags"].map(lambda tags: any(t.startswith("spark-sched-priority-high") for t in tags))]
    result.stream_task_ms = float(high["executorRunTime"].fillna(0).sum())
    low = tasks[tasks["jobTags"].map(lambda tags: any(t.startswith("spark-sched-priority-low") for t in tags))]
    ok = low[low["status"] == "SUCCESS"]
    bad = low[low["status"].isin(["KILLED", "FAILED"])]
    result.batch_task_ms = max(0.0, float(ok["executorRunTime"].fillna(0).sum()) - result.suspended_ms)
    run = bad["executorRunTime"].fillna(0)
    result.wasted_task_ms = float(run.where(run > 0, bad["taskDuration"].fillna(0)).sum())
    result.relaunch_ms = relaunch_ms(low, partitions or {})


def relaunch_ms(low: Any, partitions: dict[str, int]) -> float:
    """Launch cost of the LOW Python tasks that restarted a partition (each job's tasks past its partition count)."""
    total = 0.0
    job_of = low["jobTags"].map(lambda tags: JobTags.parse(tags).get("job", ""))
    for job_id, count in partitions.items():
        mine = low[job_of == job_id].sort_values("launchTime")
        extra = mine.iloc[count:]
        total += float((extra["schedulerDelayTime"].fillna(0) + extra["executorDeserializeTime"].fillna(0)).sum())
    return total
