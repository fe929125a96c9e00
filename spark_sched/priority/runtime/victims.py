"""Choosing and stopping victims: what the policy may see of LOW work, and how a chosen victim is stopped.

The guard narrows the running LOW jobs to what may be stopped (remembering the
tasks it protects, which the signal then exempts); the policy picks among them;
a cooperative job is told to stop through the signal (its Python tasks save
their progress), any other job is cancelled by its job tag.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from spark_sched.priority.classes import JobTags
from spark_sched.priority.policy.guards import Candidate, Guard
from spark_sched.priority.policy.policies import ClusterView, LowRunning, Victim

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_sched.priority.jobs.cooperative import SignalServer
    from spark_sched.priority.jobs.preemptible import LowJob
    from spark_sched.priority.runtime.release import PreemptedJobs
    from spark_sched.priority.runtime.snapshot import SchedulerSnapshot
    from spark_sched.priority.runtime.stats import ControllerStats


class Victims:
    """The LOW jobs a policy may stop on one tick, and the stops themselves."""

    def __init__(self, spark: SparkSession, jobs: dict[str, LowJob], signal: SignalServer,
                 preempted: PreemptedJobs, stats: ControllerStats, low_pools: frozenset[str]) -> None:
        self.spark = spark
        self.jobs = jobs
        self.signal = signal
        self.preempted = preempted
        self.stats = stats
        self.low_pools = low_pools
        self.exempt: dict[str, frozenset[int]] = {}  # partitions the guard keeps running, per candidate job

    def view(self, snap: SchedulerSnapshot, guard: Guard) -> ClusterView:
        """The LOW jobs the policy may stop (running, not protected, not already preempted) and free slots."""
        free = max(0, snap.slots - snap.running())
        return ClusterView(self._candidates(snap, guard), {"*": free})

    def _candidates(self, snap: SchedulerSnapshot, guard: Guard) -> list[LowRunning]:
        """Running, not yet preempted LOW jobs, as the guard narrows them; remembers the tasks it protects."""
        running = self.signal.running()
        candidates = []
        for job in list(self.jobs.values()):
            if not job.state.running or job.job_id in self.preempted:
                continue
            tasks = tuple(sorted((t.partition, t.host) for t in running if t.job_id == job.job_id))
            s = job.state
            candidates.append(Candidate(job.job_id, job.signal is not None, s.preemptions, s.preempted_s,
                                        s.submitted_wall, tasks if job.signal is not None else ()))
        # LOW tasks that keep running whatever the policy picks: exempt ones of preempted jobs, and JVM-only
        # tasks (the policies cancel those only when stopping cooperative work cannot make room)
        exempt = sum(1 for t in running if t.job_id in self.preempted and self.signal.exempt(t.job_id, t.partition))
        polling = sum(1 for t in running if t.job_id in self.jobs)
        jvm_only = max(0, snap.running(self.low_pools) - polling)
        allowed = {c.job_id: c for c in guard.preemptible(candidates, exempt + jvm_only)}
        self.exempt = {
            c.job_id: frozenset(p for p, _ in set(c.tasks) - set(allowed[c.job_id].tasks))
            for c in candidates if c.job_id in allowed
        }
        return [LowRunning(c.job_id, c.cooperative, c.hosts, c.tasks) for c in allowed.values()]

    def stop(self, victims: Sequence[Victim], now: float) -> None:
        """Stop each victim: through the signal where its tasks poll it, else by cancelling its job tag."""
        sc = self.spark.sparkContext
        wall = time.time()
        for victim in victims:
            job = self.jobs[victim.job_id]
            self.preempted.mark(victim.job_id, victim.scope, now)
            if job.signal is not None:
                exempt = self.exempt.get(victim.job_id, ())
                self.signal.stop(victim.job_id, victim.scope, exempt=exempt)
                told = [t.host for t in self.signal.running(victim.job_id)
                        if t.partition not in exempt and victim.scope in ("*", f"h{t.host}", f"p{t.partition}")]
                self.stats.stops.append((wall, victim.job_id, tuple(told)))
            else:
                self.stats.stops.append((wall, victim.job_id, ()))
                sc.cancelJobsWithTag(JobTags(job.cls.name, job.job_id, 0).job_tag)
