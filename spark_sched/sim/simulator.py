"""The simulation: jobs arrive, stages become task sets, slots are offered as Spark's scheduler offers them.

Offer rounds follow TaskSchedulerImpl.resourceOffers: task sets in the pool
order, each offered the free slots at each of its locality levels in turn, again
while it launches; a task ending offers its executor's slots only, a job
arriving or the revive timer (`spark.scheduler.revive.interval`) offers every
free slot. Spark shuffles the offers each round; the model rotates the list of
free hosts by a random offset, and orders the hosts holding a task set's input
by their place in the cluster's host list rotated by another: the same spread,
without a shuffle's cost per round at 1,000 hosts.
"""

from __future__ import annotations

import gc
import heapq
import math
import random
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Protocol

from spark_sched.sim.cluster import SimCluster
from spark_sched.sim.events import EventQueue
from spark_sched.sim.network import Network
from spark_sched.sim.order import SchedulingOrder
from spark_sched.sim.results import LEVEL_NAMES, JobOutcome, SimResult, TaskOutcome
from spark_sched.sim.settings import SimSettings
from spark_sched.sim.taskset import ANY, NO_PREF, NODE_LOCAL, PROCESS_LOCAL, TaskSet
from spark_sched.sim.workload import JobSpec, StageSpec, TaskSpec


class Hook(Protocol):
    """What a controller inside the simulation is told (the priority controller, the composer)."""

    def job_arrived(self, sim: Simulation, job: JobRun) -> None: ...

    def job_ended(self, sim: Simulation, job: JobRun) -> None: ...


class JobRun:
    """A job inside the simulation: its stages still waiting for parents, and its outcome so far."""

    __slots__ = ("spec", "outcome", "waiting", "children", "tasksets", "output_racks", "stages_left", "job_id")

    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec
        self.job_id = spec.job_id
        self.outcome = JobOutcome(spec.job_id, spec.pool, spec.kind, spec.tags, spec.arrival_s)
        ids = {s.stage_id for s in spec.stages}
        self.waiting = {s.stage_id: {p for p in s.parents if p in ids} for s in spec.stages}
        self.children: dict[int, list[StageSpec]] = {}
        for stage in spec.stages:
            for parent in self.waiting[stage.stage_id]:
                self.children.setdefault(parent, []).append(stage)
        self.tasksets: list[TaskSet] = []
        self.output_racks: dict[int, dict[str, int]] = {}
        self.stages_left = len(spec.stages)

    @property
    def active(self) -> bool:
        return self.outcome.status == "RUNNING"


class RunningTask:
    """A launched task: where, since when, at which level; `killed` once told to stop, so its own end is void.

    A flag rather than a cancellable timer: the running task is the one object its end
    event needs, and on 1,000 hosts thousands of them wait in the queue at once, so each
    object fewer per task is memory the processor does not fetch again when the task ends.
    """

    __slots__ = ("ts", "index", "host", "launch", "locality", "killed", "over")

    def __init__(self, ts: TaskSet, index: int, host: str, launch: float, locality: int) -> None:
        self.ts, self.index, self.host, self.launch, self.locality = ts, index, host, launch, locality
        self.killed = False
        self.over = False


class Simulation:
    """One application's scheduler on a simulated cluster. `submit` jobs, then `run`."""

    def __init__(self, cluster: SimCluster, settings: SimSettings | None = None, seed: int = 0,
                 record_tasks: bool = False, hooks: Iterable[Hook] = ()) -> None:
        self.cluster = cluster
        self.settings = settings or SimSettings()
        self.events = EventQueue()
        self.net = Network(self.events, cluster.rack, cluster.host_bps, cluster.rack_bps)
        self.order = SchedulingOrder(self.settings)
        self.free: dict[str, int] = dict.fromkeys(cluster.hosts, cluster.slots)
        self.free_hosts: dict[str, None] = dict.fromkeys(cluster.hosts)
        self.rng = random.Random(seed)
        self.jobs: list[JobRun] = []
        self.record_tasks = record_tasks
        self.task_outcomes: list[TaskOutcome] = []
        self.hooks = list(hooks)
        self.busy = 0.0
        self._tick_at = math.inf
        self._host_index = {h: i for i, h in enumerate(cluster.hosts)}
        self._rotation = 0
        self._single: str | None = None
        self._offer_list: list[str] | None = None
        self._legacy = self.settings.reset_on_launch
        self._rack_of: Callable[[str], str] | None = cluster.rack if self.settings.rack_levels else None
        self._task_done = self._task_succeeded  # bound once: a bound method made per task is one more object
        self._arrivals: list[tuple[float, int, JobRun]] = []  # submitted before the run, not yet in the queue
        self._started = False

    # ---- jobs in -------------------------------------------------------------------------------------------
    def submit(self, job: JobSpec) -> JobRun:
        """Schedule `job`'s arrival; its stages with no parents are submitted then.

        Jobs submitted before the run wait beside the queue, only the next of them in it:
        100,000 arrivals in the queue would make every task's start and end sift through
        them. Each keeps the place among ties it was submitted in, so nothing runs in
        another order.
        """
        run = JobRun(job)
        self.jobs.append(run)
        if self._started:
            self.events.at(job.arrival_s, self._arrive, run)
        else:
            heapq.heappush(self._arrivals, (max(job.arrival_s, 0.0), self.events.reserve(), run))
        return run

    def _queue_next_arrival(self) -> None:
        if self._arrivals:
            time, seq, run = self._arrivals[0]
            self.events.at_reserved(time, seq, self._next_arrival, run)

    def _next_arrival(self, run: JobRun) -> None:
        heapq.heappop(self._arrivals)
        self._queue_next_arrival()
        self._arrive(run)

    def _arrive(self, run: JobRun) -> None:
        for hook in self.hooks:
            hook.job_arrived(self, run)
        if not run.active:
            return
        for stage in run.spec.stages:
            if not run.waiting[stage.stage_id]:
                self._submit_stage(run, stage, range(len(stage.tasks)))
        if not run.spec.stages:
            self._end_job(run, "SUCCEEDED")
        self._round(all_free=True)

    def _submit_stage(self, run: JobRun, stage: StageSpec, indices: Iterable[int], attempt: int = 0) -> TaskSet:
        ts = TaskSet(run, stage.stage_id, attempt, stage.tasks, list(indices), self.events.now,
                     self.settings.waits, self._rack_of, self.free.__contains__)
        if stage.needed is not None:
            ts.needed = min(ts.needed, stage.needed)
        ts.feeds = stage.stage_id in run.children
        run.tasksets.append(ts)
        ts.pool = self.order.pool_of(ts)
        self._take_offers(ts)
        if not ts.needed:
            self._stage_done(ts)
        return ts

    # ---- offers --------------------------------------------------------------------------------------------
    def _take_offers(self, ts: TaskSet) -> None:
        if ts.pending and not ts.zombie and not ts.in_order:
            ts.in_order = True
            self._rank_hosts(ts)
            self.order.wait(ts)

    def _rank_hosts(self, ts: TaskSet) -> None:
        """Order the task set's hosts by their place in the cluster's list (hosts not in it never get offers)."""
        rank = self._host_index.__getitem__
        try:
            hosts = sorted(ts.for_host, key=rank)  # a key in C: this runs once per job, for 30 hosts at 1,000
        except KeyError:
            hosts = sorted((h for h in ts.for_host if h in self._host_index), key=rank)
        ts.host_order, ts.host_rank = hosts, list(map(rank, hosts))

    def _stop_offers(self, ts: TaskSet) -> None:
        """`ts` has nothing to launch (or is done): out of the order, and its per-host lists freed.

        Most jobs launch every task in the round they arrive in; what they kept to find a task
        for a host is then garbage, and on 1,000 hosts (30 hosts named by a job of 10 tasks) it
        is most of the memory a round would otherwise fetch again.
        """
        if ts.in_order:
            ts.in_order = False
            self.order.park(ts)
            ts.release_pending()

    def _round(self, all_free: bool, host: str | None = None) -> None:
        """One resourceOffers round: every free slot (`all_free`) or one executor's."""
        if (self.free[host] <= 0) if host is not None else not self.free_hosts:
            return
        self._single, self._offer_list = host, None
        if host is None:
            self._rotation = self.rng.randrange(len(self._host_index))
        now = self.events.now
        for ts in self.order.sorted():
            if not self.free_hosts or (host is not None and self.free[host] <= 0):
                break
            if not ts.pending or ts.zombie:
                continue
            if host is not None and self._holds_back(ts, host, now):
                ts.no_rejects_since_reset = False  # the ANY pass would have counted a rejection
                continue
            launched_any, no_rejects, min_loc = False, True, None
            for max_level in ts.levels:
                while True:
                    rejected, best = self._pass(ts, max_level, now)
                    no_rejects &= not rejected
                    if best is None:
                        break
                    launched_any = True
                    min_loc = best if min_loc is None else min(min_loc, best)
            if not self._legacy:
                if no_rejects:
                    if launched_any and (all_free or ts.no_rejects_since_reset):
                        ts.reset_timer(min_loc, now)
                        ts.no_rejects_since_reset = True
                else:
                    ts.no_rejects_since_reset = False
        self._arm_tick()

    def _holds_back(self, ts: TaskSet, host: str, now: float) -> bool:
        """Whether delay scheduling turns down `host` at every level, as the passes would find one by one.

        True when the task set may only run local tasks now, has none for this host and no task
        without a preference: then every pass finds nothing and the ANY pass counts a rejection.
        With thousands of task sets waiting on a big cluster, this keeps a one-executor round cheap.
        """
        return (ts.left[2] == 0 and ts.allowed_level(now) <= NODE_LOCAL and host not in ts.for_host
                and host not in ts.for_exec)

    def _offers(self) -> list[str]:
        """This round's offers in order: the one executor's, or every host with a free slot, rotated at random."""
        if self._single is not None:
            return [self._single]
        if self._offer_list is None:  # built once per round, and only when a pass needs every offer
            offers = list(self.free_hosts)
            if len(offers) > 1:
                k = self.rng.randrange(len(offers))
                offers = offers[k:] + offers[:k]
            self._offer_list = offers
        return self._offer_list

    def _open_offers(self) -> int:
        """How many of the round's offers still have a free slot."""
        if self._single is not None:
            return int(self.free[self._single] > 0)
        return len(self.free_hosts)  # hosts only lose free slots during a round: all of them were offered

    def _pass(self, ts: TaskSet, max_level: int, now: float) -> tuple[bool, int | None]:
        """resourceOfferSingleTaskSet: each free offer once; (a delay rejection happened, best locality launched)."""
        free = self.free
        best: int | None = None
        if not ts.pending:
            return False, None
        allowed = max_level if max_level == NO_PREF else min(ts.allowed_level(now), max_level)
        candidates = self._local_candidates(ts, allowed)
        if candidates is not None:  # only hosts holding pending input can take a task at this level
            table = ts.for_exec if allowed == PROCESS_LOCAL else ts.for_host
            open_offers = self._open_offers() if max_level == ANY else 0
            launched_hosts = 0
            for h in candidates:
                if not ts.pending:
                    break
                if free[h] <= 0 or h not in table:  # its tasks launched on hosts met earlier in this pass
                    continue
                index, locality, _ = ts.offer(h, max_level, now, self._legacy)
                if index >= 0:
                    self._launch(ts, index, h, locality)
                    launched_hosts += 1
                    best = locality if best is None else min(best, locality)
            rejected = max_level == ANY and open_offers > launched_hosts and (ts.pending > 0 or launched_hosts == 0)
            return rejected, best
        rejected = False
        for h in self._offers():
            if not ts.pending:
                break
            if free[h] <= 0:
                continue
            index, locality, reject = ts.offer(h, max_level, now, self._legacy)
            rejected |= reject
            if index >= 0:
                self._launch(ts, index, h, locality)
                best = locality if best is None else min(best, locality)
        return rejected, best

    def _local_candidates(self, ts: TaskSet, allowed: int) -> list[str] | None:
        """The offers that may take a task when only PROCESS/NODE_LOCAL is allowed, in offer order (None: all may).

        The task set's hosts from the round's rotation on; the pass skips those with no free
        slot or no task left as it meets them, and stops when the task set has none left.
        """
        if allowed > NODE_LOCAL:
            return None
        if self._single is not None:
            table = ts.for_exec if allowed == PROCESS_LOCAL else ts.for_host
            return [self._single] if self._single in table else []
        order = ts.host_order  # the task set's hosts by their place in the cluster's list
        first = bisect_left(ts.host_rank, self._rotation)
        return order[first:] + order[:first]

    def _arm_tick(self) -> None:
        """Keep the revive timer running while some task set waits with slots free (Spark's periodic revive)."""
        if self._tick_at < math.inf or not self.free_hosts:
            return
        if self.order.waiting:
            step = self.settings.revive_s
            self._tick_at = (math.floor(self.events.now / step) + 1) * step
            self.events.at(self._tick_at, self._tick)

    def _tick(self) -> None:
        self._tick_at = math.inf
        self._round(all_free=True)

    # ---- tasks ---------------------------------------------------------------------------------------------
    def _take_slot(self, host: str) -> None:
        self.free[host] -= 1
        if self.free[host] == 0:
            del self.free_hosts[host]

    def _give_slot(self, host: str) -> None:
        if self.free[host] == 0:
            self.free_hosts[host] = None
        self.free[host] += 1

    def _launch(self, ts: TaskSet, index: int, host: str, locality: int) -> None:
        now = self.events.now
        self._take_slot(host)
        task = ts.tasks[index]
        rt = RunningTask(ts, index, host, now, locality)
        ts.attempts.append(rt)
        ts.pool.running += 1  # type: ignore[attr-defined]
        if not ts.pending:
            self._stop_offers(ts)
        run: JobRun = ts.job  # type: ignore[assignment]
        if run.outcome.start < 0:
            run.outcome.start = now
        remote = task.read_bytes if locality not in (PROCESS_LOCAL, NODE_LOCAL) and task.preferred else 0.0
        shuffle = self._cross_rack_shuffle(run, task, host, ts.stage_id)
        if remote <= 0 and shuffle <= 0:
            self.events.at(now + task.compute_s, self._task_done, rt)
            return
        self._fetch(rt, task, remote, shuffle)

    def _cross_rack_shuffle(self, run: JobRun, task: TaskSpec, host: str, stage_id: int) -> float:
        if task.shuffle_bytes <= 0 or not run.output_racks:
            return 0.0
        rack = self.cluster.rack(host)
        here = total = 0
        for stage, counts in run.output_racks.items():
            if stage == stage_id:  # the stage's own finished tasks are not what it reads
                continue
            total += sum(counts.values())
            here += counts.get(rack, 0)
        return task.shuffle_bytes * (1 - here / total) if total else 0.0

    def _fetch(self, rt: RunningTask, task: TaskSpec, remote: float, shuffle: float) -> None:
        """Shuffle bytes across racks, then input from a host holding it, then compute."""
        def computed() -> None:
            if not rt.over:
                self.events.at(self.events.now + task.compute_s, self._task_done, rt)

        def read_input() -> None:
            if not rt.over:
                self.net.read(remote, task.preferred[0] if task.preferred else rt.host, rt.host, computed)

        if shuffle > 0:
            self.net.read(shuffle, "", rt.host, read_input, cross_rack=True)
        else:
            read_input()

    def _task_succeeded(self, rt: RunningTask) -> None:
        """A task's own end (the one-argument form keeps its queue entry to one tuple)."""
        self._task_end(rt, True)

    def _task_end(self, rt: RunningTask, succeeded: bool) -> None:
        if rt.over or (succeeded and rt.killed):
            return
        rt.over = True
        ts, now = rt.ts, self.events.now
        self._give_slot(rt.host)
        self.busy += now - rt.launch
        ts.pool.running -= 1  # type: ignore[attr-defined]
        ts.task_ended(rt.index, succeeded)
        self._take_offers(ts)
        if succeeded:
            ts.localities[rt.locality] += 1
            if ts.feeds:  # a later stage reads this output: where it is counts
                racks = ts.job.output_racks.setdefault(ts.stage_id, {})  # type: ignore[attr-defined]
                rack = self.cluster.rack(rt.host)
                racks[rack] = racks.get(rack, 0) + 1
        else:
            ts.job.outcome.killed += 1  # type: ignore[attr-defined]
        if self.record_tasks:
            run: JobRun = ts.job  # type: ignore[assignment]
            self.task_outcomes.append(TaskOutcome(run.job_id, ts.stage_id, rt.index, rt.host,
                                                  LEVEL_NAMES[rt.locality], rt.launch, now, not succeeded))
        if succeeded and ts.complete and not ts.zombie:
            self._stage_done(ts)
        self._round(all_free=False, host=rt.host)

    def _stage_done(self, ts: TaskSet) -> None:
        ts.zombie = True
        self._stop_offers(ts)
        for rt in live(ts):  # done with `needed` of its tasks: kill the others
            self.kill_task(rt)
        run: JobRun = ts.job  # type: ignore[assignment]
        run.stages_left -= 1
        for child in run.children.get(ts.stage_id, []):
            waiting = run.waiting[child.stage_id]
            waiting.discard(ts.stage_id)
            if not waiting:
                self._submit_stage(run, child, range(len(child.tasks)))
                self.events.at(self.events.now, self._round, True)
        if run.stages_left == 0 and run.active:
            self._end_job(run, "SUCCEEDED")

    def _end_job(self, run: JobRun, status: str) -> None:
        run.outcome.status = status
        run.outcome.finish = self.events.now
        fold_localities(run)
        for hook in self.hooks:
            hook.job_ended(self, run)
        # An ended job needs only its outcome: a run of 100,000 jobs must not keep every task set it had,
        # or each full garbage collection walks them all again and the cost per task grows with the run.
        # Its task sets' attempt lists go too: each attempt points back at its task set, a cycle that only
        # the collector could free, and the run is tuned to collect seldom (see `run`).
        for ts in run.tasksets:
            ts.attempts = []
        run.tasksets, run.output_racks, run.children = [], {}, {}

    # ---- cancellation --------------------------------------------------------------------------------------
    def cancel_job(self, run: JobRun) -> list[tuple[int, int]]:
        """Cancel a job as SparkContext.cancelJob does; the (stage, partition) pairs it had finished are returned."""
        if not run.active:
            return []
        finished = []
        for ts in run.tasksets:
            finished += [(ts.stage_id, i) for i, d in enumerate(ts.done) if d]
            if ts.zombie:
                continue
            ts.zombie = True
            self._stop_offers(ts)
            for rt in live(ts):
                self.kill_task(rt)
        self._end_job(run, "CANCELLED")
        return finished

    def cancel_tag(self, tag: str) -> list[JobRun]:
        """Cancel every active job carrying `tag` (SparkContext.cancelJobsWithTag)."""
        hit = [run for run in self.jobs if run.active and tag in run.spec.tags]
        for run in hit:
            self.cancel_job(run)
        return hit

    def kill_task(self, rt: RunningTask) -> None:
        """Kill one attempt (TaskSetManager.killTaskAttempt): its slot frees `kill_s` later, its task pends again."""
        if rt.over or rt.killed:
            return
        rt.killed = True
        self.events.at(self.events.now + self.settings.kill_s, self._task_end, rt, False)

    def at(self, time: float, action: Callable[[], None]) -> None:
        """Run `action()` at `time` of simulated time (a controller's timer)."""
        self.events.at(time, action)

    # ---- run -----------------------------------------------------------------------------------------------
    def run(self, until: float = math.inf) -> SimResult:
        """Process events until none is left (or `until`); jobs still running keep status RUNNING.

        The workload's objects (a million task specs at scale) never form garbage cycles: they
        are moved out of the collector's reach while the events run (`gc.freeze`), or every full
        collection would walk them all again; and the young generation is collected every 50,000
        allocations instead of 700, since the events allocate (queue entries, running tasks) much
        and cycle little.
        """
        if not self._started:
            self._started = True
            self._queue_next_arrival()
        thresholds = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(50_000, *thresholds[1:])
        try:
            self.events.run(until)
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()
        for run in self.jobs:
            if run.active:  # stopped at `until`: its counts so far
                fold_localities(run)
        return SimResult([r.outcome for r in self.jobs], self.task_outcomes, self.events.now, self.events.processed,
                         self.busy, self.net.cross_rack_bytes())


def live(ts: TaskSet) -> list[RunningTask]:
    """The task set's attempts still running (ended ones stay in its list: taking them out costs at every end)."""
    return [rt for rt in ts.attempts if not rt.over]  # type: ignore[attr-defined]


def fold_localities(run: JobRun) -> None:
    """Add the job's task sets' locality counts to its outcome (kept per task set while it runs: the task set is
    in hand when a task ends, the job's outcome is one more object to fetch)."""
    counts = run.outcome.localities
    for ts in run.tasksets:
        for level, n in enumerate(ts.localities):
            counts[level] += n
        ts.localities = [0, 0, 0, 0, 0]


def simulate(cluster: SimCluster, jobs: Iterable[JobSpec], settings: SimSettings | None = None, seed: int = 0,
             record_tasks: bool = False, hooks: Iterable[Hook] = ()) -> SimResult:
    """Run `jobs` on `cluster` under `settings`: the one-call form of `Simulation`."""
    sim = Simulation(cluster, settings, seed, record_tasks, hooks)
    for job in jobs:
        sim.submit(job)
    return sim.run()
