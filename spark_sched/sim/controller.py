"""The priority controller inside the model: the toolkit's own policy and guard objects decide, the model stops.

Like `spark_sched.priority.runtime.controller` on each tick: when tasks of HIGH
jobs wait in live task sets and the free slots cannot take them, the running
LOW jobs become guard `Candidate`s, the guard narrows them
(`Guard.preemptible`), the policy picks victims (`Policy.choose(Demand,
ClusterView)`), and each victim is stopped the way the policy's mode says:

* `kill` (cancel by tag, not cooperative): the job is cancelled
  (`Simulation.cancel_job`); it is held at its gate and, when released, its
  unfinished partitions are resubmitted as a new job (same kind, pool and
  tags), the killed ones from scratch.
* `requeue` (`requeue`, `lb`; the LOW tasks poll the stop signal): a stopped
  task saves its progress as it returns, `kill_s` after the decision. A stop of
  the whole job with no task exempt is a cancel and, at release, a new job of
  the unfinished partitions, each shortened by its saved progress. A stop of
  some tasks only (`lb`'s host scope, or a job the guard keeps tasks of) kills
  those attempts (`Simulation.kill_task`) and puts each back among its task
  set's pending tasks with its remaining work (the stage's TaskSpec is replaced
  by one of the remaining compute seconds: scenarios build fresh JobSpecs per
  run). Such a job is held as preempted (not a candidate again, ageing credit
  counted) but its tasks are not gated: the HIGH pool's minShare and weight give
  HIGH every slot it waits for before LOW's pending tasks, which is what the
  real gate's release rule (let go once HIGH no longer waits) achieves, less
  its `hold_s`.

Release is the real one's: a held job is let go once no HIGH task has waited
for `hold_s`, once HIGH waits only behind work the guard keeps, or when the
guard's `overdue` says so. The real controller ticks every 20 ms; the model
checks at each HIGH arrival and then every `interval_s` while HIGH waits or a
job is held. `settle_s` spaces stops as the real one does.

Not modelled: `suspend`. A suspended Python task keeps its slot and gives up
its core, so the policy needs hosts with more task slots than cores and a cap
on the LOW tasks running unsuspended; the model's hosts have slots only (a
task's speed does not depend on how many run beside it), so there is nothing
to give up. Choosing `suspend` is refused with one error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from spark_sched.errors import SettingsError
from spark_sched.priority.classes import DEFAULT_CLASSES, PriorityClass
from spark_sched.priority.policy.guards import Candidate, Guard, Held, guard
from spark_sched.priority.policy.policies import ClusterView, Demand, LowRunning, Policy, Victim, policy
from spark_sched.sim.settings import PoolSpec
from spark_sched.sim.simulator import JobRun, RunningTask, Simulation, live
from spark_sched.sim.workload import JobSpec, StageSpec

HIGH_KINDS = ("stream",)
PARTITION_STRIDE = 1 << 20  # a partition id the policies see: stage * stride + task index (unique in a job)
TaskKey = tuple[int, int, int]  # (job id, stage id, task index)


def class_pools(classes: Sequence[PriorityClass] = DEFAULT_CLASSES) -> tuple[PoolSpec, ...]:
    """The pools the priority classes give Spark (FAIR inside each, the class's weight and minShare)."""
    return tuple({c.pool: PoolSpec(c.pool, "FAIR", c.weight, c.min_share) for c in classes}.values())


@dataclass
class _Held:
    """A preempted logical job at its gate; `resubmit`: what is left of it when it was cancelled (None: not)."""

    held: Held
    resubmit: JobSpec | None = None
    origins: list[list[TaskKey]] = field(default_factory=list)  # per resubmitted stage: each task's first key


@dataclass
class ControllerStats:
    """What the controller did: stops decided, task attempts stopped, work kept and lost by them (seconds)."""

    preemptions: int = 0
    stop_decisions: int = 0
    tasks_stopped: int = 0
    saved_s: float = 0.0
    lost_s: float = 0.0
    resubmitted_jobs: int = 0


class PriorityHook:
    """The toolkit's priority controller as a simulation hook (`job_arrived` / `job_ended`).

    `policy_name` and `guard_name` (with `guard_options`) name the toolkit's own objects
    (`spark_sched.priority.policy`), or pass the objects themselves.
    """

    def __init__(self, policy_name: str | Policy = "requeue", guard_name: str | Guard = "share",
                 guard_options: dict[str, float] | None = None, *, hold_s: float = 0.1, settle_s: float = 0.25,
                 interval_s: float = 0.02, high_kinds: Sequence[str] = HIGH_KINDS) -> None:
        self.policy = policy(policy_name) if isinstance(policy_name, str) else policy_name
        if self.policy.mode == "suspend":
            raise SettingsError("priority policy (simulation)", self.policy.name,
                                "none, kill, requeue, lb: the model's hosts have slots, not cores to give up")
        self.guard = guard(guard_name, **(guard_options or {})) if isinstance(guard_name, str) else guard_name
        self.hold_s, self.settle_s, self.interval_s = hold_s, settle_s, interval_s
        self.high_kinds = frozenset(high_kinds)
        self.stats = ControllerStats()
        self.root: dict[int, int] = {}  # job id of a resubmitted job -> the job id it first arrived under
        self.origin: dict[TaskKey, TaskKey] = {}  # a resubmitted task -> the task it first was
        self._high: dict[int, JobRun] = {}
        self._low: dict[int, JobRun] = {}  # active LOW runs by logical (root) job id
        self._credit: dict[int, list[float]] = {}  # root -> [preemptions, seconds preempted]
        self._first: dict[int, float] = {}  # root -> when the logical job first arrived
        self._held: dict[int, _Held] = {}
        self._kept: dict[int, frozenset[int]] = {}  # root -> partitions the guard keeps running
        self._stopping: set[RunningTask] = set()
        self._armed = False
        self._settled_at = -math.inf
        self._last_busy = 0.0
        self._nothing_to_stop = False

    @property
    def cooperative(self) -> bool:
        """LOW tasks poll the stop signal when the policy requeues (as the toolkit's submissions bind them)."""
        return self.policy.mode == "requeue"

    # -- the hook --------------------------------------------------------------------------------------------

    def job_arrived(self, sim: Simulation, job: JobRun) -> None:
        if job.spec.kind in self.high_kinds:
            self._high[job.job_id] = job
            if self.policy.mode != "none":
                self._arm(sim, sim.events.now)
        else:
            root = self.root_of(job.job_id)
            self._low[root] = job
            self._first.setdefault(root, job.spec.arrival_s)

    def job_ended(self, sim: Simulation, job: JobRun) -> None:
        self._high.pop(job.job_id, None)
        root = self.root_of(job.job_id)
        if self._low.get(root) is job:
            del self._low[root]

    def root_of(self, job_id: int) -> int:
        return self.root.get(job_id, job_id)

    # -- the tick --------------------------------------------------------------------------------------------

    def _arm(self, sim: Simulation, at: float) -> None:
        if not self._armed:
            self._armed = True
            sim.at(at, lambda: self._tick(sim))

    def _tick(self, sim: Simulation) -> None:
        self._armed = False
        now = sim.events.now
        self._stopping = {rt for rt in self._stopping if not rt.over}
        waiting = sum(ts.pending for run in self._high.values() for ts in run.tasksets if not ts.zombie)
        if waiting == 0:
            self._nothing_to_stop = False
        if waiting > 0 and not self._blocked_by_kept_work(now):
            self._last_busy = now
        elif self._held and now - self._last_busy >= self.hold_s:
            self._release(sim, sorted(self._held), now)
        overdue = self.guard.overdue([h.held for h in self._held.values()], now)
        self._release(sim, sorted(int(j) for j in overdue), now)
        if waiting > 0 and now >= self._settled_at:
            self._preempt(sim, now, waiting)
        if waiting > 0 or self._held:
            self._arm(sim, now + self.interval_s)

    def _blocked_by_kept_work(self, now: float) -> bool:
        """HIGH waits, but only behind LOW work the guard keeps: nothing left to stop, no stop on its way."""
        return self._nothing_to_stop and now >= self._settled_at and not self._stopping

    def _preempt(self, sim: Simulation, now: float, waiting: int) -> None:
        free = sum(sim.free.values())
        jobs = self._view(sim)
        self._nothing_to_stop = waiting > free and not jobs
        if waiting <= free or not jobs:
            return
        victims = self.policy.choose(Demand(waiting), ClusterView(jobs, {"*": free}))
        if victims:
            self.stats.stop_decisions += 1
            self._stop(sim, victims, now)
            self._settled_at = now + self.settle_s

    # -- what the policy sees --------------------------------------------------------------------------------

    def _running(self, sim: Simulation, run: JobRun) -> dict[int, RunningTask]:
        """The job's running attempts not already told to stop, by the partition id the policies see."""
        out = {}
        for ts in run.tasksets:
            for rt in live(ts):
                if rt not in self._stopping:
                    out[ts.stage_id * PARTITION_STRIDE + rt.index] = rt
        return out

    def _view(self, sim: Simulation) -> list[LowRunning]:
        """Running, not preempted LOW jobs as the guard narrows them; remembers the partitions it keeps."""
        candidates, protected = [], 0
        for root, run in self._low.items():
            running = self._running(sim, run)
            if root in self._held:
                protected += sum(1 for p in running if p in self._kept.get(root, ()))
                continue
            if not running:
                continue
            if not self.cooperative:
                protected += len(running)  # JVM-only tasks: cancelled whole, never kept task by task
            tasks = tuple(sorted((p, rt.host) for p, rt in running.items())) if self.cooperative else ()
            preemptions, preempted_s = self._credit.get(root, [0, 0.0])
            candidates.append(Candidate(str(root), self.cooperative, int(preemptions), preempted_s,
                                        self._first[root], tasks))
        allowed = {c.job_id: c for c in self.guard.preemptible(candidates, protected)}
        self._kept = {int(c.job_id): frozenset(p for p, _ in set(c.tasks) - set(allowed[c.job_id].tasks))
                      for c in candidates if c.job_id in allowed}
        return [LowRunning(c.job_id, c.cooperative, c.hosts, c.tasks) for c in allowed.values()]

    # -- stopping --------------------------------------------------------------------------------------------

    def _stop(self, sim: Simulation, victims: Sequence[Victim], now: float) -> None:
        kill_s = sim.settings.kill_s
        for victim in victims:
            root = int(victim.job_id)
            run = self._low.get(root)
            if run is None or not run.active:
                continue
            self._mark(root, now)
            running = self._running(sim, run)
            kept = self._kept.get(root, frozenset()) if self.cooperative else frozenset()
            chosen = {p: rt for p, rt in running.items() if p not in kept and _in_scope(victim.scope, p, rt)}
            if not self.cooperative or (victim.scope == "*" and not kept):
                self._cancel(sim, root, run, now, kill_s)
            else:
                self._stop_tasks(sim, chosen.values(), now, kill_s)

    def _mark(self, root: int, now: float) -> None:
        """A job's first stop since its last release: hold it and count the preemption (its ageing credit)."""
        if root in self._held:
            return
        credit = self._credit.setdefault(root, [0, 0.0])
        credit[0] += 1
        self.stats.preemptions += 1
        self._held[root] = _Held(Held(str(root), now, credit[1]))

    def _account(self, rt: RunningTask, now: float, kill_s: float) -> float:
        """Seconds of the task's work a stop decided now keeps (it returns `kill_s` later; a kill keeps none)."""
        ran = max(0.0, now + kill_s - rt.launch)
        saved = min(rt.ts.tasks[rt.index].compute_s, ran) if self.cooperative else 0.0
        self.stats.tasks_stopped += 1
        self.stats.saved_s += saved
        self.stats.lost_s += ran - saved
        return saved

    def _stop_tasks(self, sim: Simulation, tasks: Iterable[RunningTask], now: float, kill_s: float) -> None:
        """Stop single attempts: each goes back among its task set's pending tasks with the work it has left."""
        for rt in list(tasks):
            saved = self._account(rt, now, kill_s)
            task = rt.ts.tasks[rt.index]
            rt.ts.tasks[rt.index] = replace(task, compute_s=task.compute_s - saved)
            self._stopping.add(rt)
            sim.kill_task(rt)

    def _cancel(self, sim: Simulation, root: int, run: JobRun, now: float, kill_s: float) -> None:
        """Cancel the whole job; what is left of it waits at the gate as a job to resubmit on release."""
        left: dict[tuple[int, int], float] = {}
        for p, rt in self._running(sim, run).items():
            work = rt.ts.tasks[rt.index].compute_s
            left[(p // PARTITION_STRIDE, p % PARTITION_STRIDE)] = work - self._account(rt, now, kill_s)
        done = set(sim.cancel_job(run))
        stages, origins = [], []
        for stage in run.spec.stages:
            keep = [i for i in range(len(stage.tasks)) if (stage.stage_id, i) not in done]
            if not keep:
                continue
            tasks = [replace(stage.tasks[i], compute_s=left.get((stage.stage_id, i), stage.tasks[i].compute_s))
                     for i in keep]
            stages.append(StageSpec(stage.stage_id, tasks, stage.parents))
            origins.append([self.origin.get((run.job_id, stage.stage_id, i), (run.job_id, stage.stage_id, i))
                            for i in keep])
        if stages:
            held = self._held[root]
            held.resubmit = replace(run.spec, stages=stages)
            held.origins = origins

    def _release(self, sim: Simulation, roots: Sequence[int], now: float) -> None:
        for root in roots:
            entry = self._held.pop(root, None)
            if entry is None:
                continue
            self._credit[root][1] += now - entry.held.since
            if entry.resubmit is not None:
                self._resubmit(sim, root, entry, now)

    def _resubmit(self, sim: Simulation, root: int, entry: _Held, now: float) -> None:
        """What was left of a cancelled job, as a new job (a new id, as Spark gives the resubmitted job)."""
        assert entry.resubmit is not None
        job_id = max(run.job_id for run in sim.jobs) + 1
        spec = replace(entry.resubmit, job_id=job_id, arrival_s=now)
        self.root[job_id] = root
        for stage, firsts in zip(spec.stages, entry.origins, strict=True):
            for index, first in enumerate(firsts):
                self.origin[(job_id, stage.stage_id, index)] = first
        self.stats.resubmitted_jobs += 1
        sim.submit(spec)


def _in_scope(scope: str, partition: int, rt: RunningTask) -> bool:
    """Whether a victim's scope (`*`, `h<host>`, `p<partition>`) covers this running task."""
    return scope == "*" or scope == f"h{rt.host}" or scope == f"p{partition}"


__all__ = ["HIGH_KINDS", "ControllerStats", "PriorityHook", "class_pools"]
