"""Suspend mode's tick: keep HIGH's tasks and the LOW tasks running unsuspended within the cluster's cores.

Under the `suspend` policy the cluster runs more task slots than cores, so HIGH
work finds a free slot without waiting, and the controller keeps the CPU for
it: each tick it counts HIGH's active tasks (running and waiting), the LOW
tasks running unsuspended (Python tasks polling the signal, and JVM-only tasks,
which cannot be suspended) and suspends LOW Python tasks in place until the
total fits the cores; when HIGH's tasks end it resumes the tasks suspended
longest first. LOW work never restarts for CPU.

Slots are another matter: when LOW holds every slot and HIGH has waited for
one longer than the hold (short JVM-only tasks end by themselves, and FAIR
hands HIGH the freed slot first), suspended tasks are stopped (saving their
progress) and, if that is not enough, JVM-only LOW jobs cancelled, as under
`requeue`.

A suspended task counts as a preemption of its job: the guard narrows which
tasks may be suspended (`share` keeps `min_slots` running) and its bound
releases a job suspended too long, even while HIGH waits; a released job is
not suspended again for `settle_s`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from spark_sched.priority.policy.guards import Candidate, Guard
from spark_sched.priority.policy.policies import ClusterView, Demand, LowRunning, Policy, Victim

if TYPE_CHECKING:
    from spark_sched.priority.jobs.cooperative import RunningTask, SignalServer
    from spark_sched.priority.jobs.preemptible import LowJob
    from spark_sched.priority.runtime.release import PreemptedJobs
    from spark_sched.priority.runtime.snapshot import SchedulerSnapshot
    from spark_sched.priority.runtime.victims import Victims


@dataclass(frozen=True)
class LowTasks:
    """The LOW tasks on one tick: Python tasks running, Python tasks suspended, JVM-only tasks running."""

    running: tuple[RunningTask, ...]
    suspended: tuple[RunningTask, ...]
    jvm_only: int

    @property
    def unsuspended(self) -> int:
        return len(self.running) + self.jvm_only


@dataclass
class Suspensions:
    """Suspends and resumes LOW Python tasks in place so HIGH's tasks have the cores (and slots) they need."""

    jobs: dict[str, LowJob]
    signal: SignalServer
    preempted: PreemptedJobs
    victims: Victims
    cores: int
    hold_s: float
    settle_s: float
    _grace: dict[str, float] = field(default_factory=dict)  # job -> monotonic time it may be suspended again
    _slot_wait_since: float | None = None  # since when HIGH has waited for a slot
    _slot_wait_at: float = 0.0  # the last tick on which it did
    _settled_at: float = 0.0  # no further stop for slots before this (the last stop is on its way)

    def low_tasks(self, snap: SchedulerSnapshot) -> LowTasks:
        polling = [t for t in self.signal.running() if t.job_id in self.jobs]
        running = tuple(t for t in polling if t.paused_since is None and not t.stopping)
        suspended = tuple(t for t in polling if t.paused_since is not None)
        jvm_only = max(0, snap.running(self.victims.low_pools) - len(polling))
        return LowTasks(running, suspended, jvm_only)

    def tick(self, now: float, snap: SchedulerSnapshot, waiting: int, high_active: int, policy: Policy,
             guard: Guard) -> None:
        """One controller tick: the guard's bound, slots for HIGH if it waits for one, then cores for HIGH."""
        for job_id in self.preempted.release_overdue(guard, now):
            self._grace[job_id] = now + self.settle_s
        self.signal.forget_pauses_of_silent_tasks()
        low = self.low_tasks(snap)
        self._make_room(now, waiting - max(0, snap.slots - snap.running()), low)
        excess = high_active + low.unsuspended - self.cores
        if excess > 0:
            self._suspend(excess, low, now, policy, guard)
        elif excess < 0 and low.suspended:
            self._resume(-excess, low.suspended)
        self._release_settled_jobs(now, slots_calm=now - self._slot_wait_at >= self.hold_s)

    def _make_room(self, now: float, short: int, low: LowTasks) -> None:
        """HIGH waited for a slot past the hold: stop suspended tasks (progress saved), else cancel JVM-only jobs."""
        if short <= 0:
            self._slot_wait_since = None
            return
        self._slot_wait_since = self._slot_wait_since if self._slot_wait_since is not None else now
        self._slot_wait_at = now
        if now - self._slot_wait_since < self.hold_s or now < self._settled_at:
            return
        latest = sorted(low.suspended, key=lambda t: -(t.paused_since or 0.0))
        victims = [Victim(t.job_id, f"p{t.partition}") for t in latest[:short]]
        if len(victims) < short:
            victims += [Victim(j.job_id) for j in list(self.jobs.values()) if j.state.running and j.signal is None]
        if victims:
            self.victims.stop(victims, now)
            self._settled_at = now + self.settle_s

    def _suspend(self, count: int, low: LowTasks, now: float, policy: Policy, guard: Guard) -> None:
        candidates = []
        for job_id in sorted({t.job_id for t in low.running}):
            if self._grace.get(job_id, 0.0) > now:
                continue
            state = self.jobs[job_id].state
            tasks = tuple(sorted((t.partition, t.host) for t in low.running if t.job_id == job_id))
            candidates.append(Candidate(job_id, True, state.preemptions, state.preempted_s, state.submitted_wall,
                                        tasks))
        allowed = guard.preemptible(candidates, 0)
        view = ClusterView([LowRunning(c.job_id, True, c.hosts, c.tasks) for c in allowed])
        for victim in policy.choose(Demand(count), view):
            self.preempted.mark(victim.job_id, victim.scope, now)
            self.signal.pause(victim.job_id, victim.scope)
            self.victims.stats.suspensions += 1

    def _resume(self, count: int, suspended: Sequence[RunningTask]) -> None:
        """Resume up to `count` tasks, the ones suspended longest first (they have waited most)."""
        oldest = sorted(suspended, key=lambda t: (t.paused_since or 0.0, t.job_id, t.partition))
        for task in oldest[:count]:
            self.signal.resume(task.job_id, f"p{task.partition}")
            self.victims.stats.resumes += 1

    def _release_settled_jobs(self, now: float, slots_calm: bool) -> None:
        """Release preempted jobs with no task told to pause (and, unless slots are calm, none told to stop)."""
        idle = [job_id for job_id in sorted(self.preempted)
                if not self.signal.has_pauses(job_id) and (slots_calm or not self.signal.has_stops(job_id))]
        if idle:
            self.preempted.release(idle, now)
        self._grace = {j: t for j, t in self._grace.items() if t > now}
