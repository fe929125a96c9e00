"""Preempted LOW jobs held at their gates: marking a job preempted, and letting it go again.

A preempted job waits at its gate until released: once no HIGH task has waited
for the controller's hold, when HIGH waits only behind LOW work the guard keeps
running, or when the guard's bound on LOW's wait says so (even while HIGH
waits). Releasing accounts the time the job spent preempted (its ageing credit).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from spark_sched.priority.policy.guards import Guard, Held

if TYPE_CHECKING:
    from spark_sched.priority.jobs.cooperative import SignalServer
    from spark_sched.priority.jobs.preemptible import LowJob
    from spark_sched.priority.runtime.stats import Reporter


class PreemptedJobs:
    """The ids of the LOW jobs the controller stopped and has not released yet."""

    def __init__(self, jobs: dict[str, LowJob], signal: SignalServer, reporter: Reporter) -> None:
        self.jobs = jobs
        self.signal = signal
        self.reporter = reporter
        self.ids: set[str] = set()

    def __contains__(self, job_id: object) -> bool:
        return job_id in self.ids

    def __bool__(self) -> bool:
        return bool(self.ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def mark(self, job_id: str, scope: str, now: float) -> None:
        """A job's first stop since its last release: close its gate and count the preemption."""
        if job_id in self.ids:
            return
        state = self.jobs[job_id].state
        state.preemptions += 1  # before the cancel: the job tells a preemption from a failure by it
        state.preempted_since = now
        state.gate.clear()
        self.ids.add(job_id)
        self.reporter.stats.preemptions += 1
        self.reporter.event("preempt", f"{job_id} {scope}")
        self.reporter.notify("preempt", job_id)

    def release_all(self, now: float) -> None:
        self.release(sorted(self.ids), now)

    def release_overdue(self, guard: Guard, now: float) -> list[str]:
        """The guard's bound on LOW's wait: release the preempted jobs it names, even while HIGH waits."""
        held = []
        for job_id in sorted(self.ids):
            state = self.jobs[job_id].state
            if state.preempted_since is not None:
                held.append(Held(job_id, state.preempted_since, state.preempted_s))
        overdue = sorted(guard.overdue(held, now))
        if overdue:
            self.release(overdue, now)
        return overdue

    def release(self, job_ids: Sequence[str], now: float) -> None:
        for job_id in job_ids:
            job = self.jobs[job_id]
            if job.state.preempted_since is not None:
                job.state.preempted_s += now - job.state.preempted_since
                job.state.preempted_since = None
            self.signal.clear(job_id)
            job.state.gate.set()
            self.reporter.stats.releases += 1
            self.ids.discard(job_id)
            self.reporter.notify("release", job_id)
        if job_ids:
            self.reporter.event("release", ",".join(job_ids))

    def only_kept_work_running(self) -> bool:
        """Every preempted job still running runs only tasks the guard exempts (nothing left to stop).

        A preempted job still running anything but its exempt tasks (or tasks that have not polled
        yet, such as a Python worker still starting) is a stop on its way.
        """
        for job_id in self.ids:
            job = self.jobs[job_id]
            if not job.state.running:
                continue  # waiting at its gate
            tasks = self.signal.running(job_id)
            if job.signal is None or not tasks or not all(self.signal.exempt(job_id, t.partition) for t in tasks):
                return False
        return True
