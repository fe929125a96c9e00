"""PriorityController: a driver-side thread that keeps HIGH work from queueing behind LOW tasks.

Every `interval_s` it reads HIGH demand -- tasks waiting in HIGH pools (live
from the task scheduler's pools) and streaming triggers that are running or
about to fire -- and when HIGH tasks wait for slots that LOW tasks hold, asks
its policy which LOW work to stop and stops it: cooperatively through the
preemption signal (Python work saves its progress and returns within
milliseconds), else by cancelling the job's tag. A preempted job waits at its
gate and is requeued once no HIGH task has waited for `hold_s`, or as soon as
HIGH waits only behind LOW work the guard keeps running: LOW work may then use
the slots HIGH does not need (the HIGH pool's minShare keeps HIGH first for
the next free slot). A starvation guard (`spark_sched.priority.guard`)
decides which LOW work may be stopped and which preempted job must be let go
even while HIGH waits: by default (`share`) LOW keeps a minimum share of
running tasks and no job waits longer than a bound, so neither side starves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyspark import InheritableThread

from spark_sched.errors import SettingsError
from spark_sched.priority.classes import DEFAULT_CLASSES, HIGH, JobTags, PriorityClass, tagged
from spark_sched.priority.guard import Candidate, CountGuard, Guard, Held, guard
from spark_sched.priority.policies import ClusterView, Demand, LowRunning, Policy, Victim, policy
from spark_sched.priority.preemptible import LowJob
from spark_sched.priority.preemption import SignalServer
from spark_sched.priority.snapshot import SchedulerReader, SchedulerSnapshot

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_sched.priority.settings import PrioritySettings
    from spark_sched.priority.streaming import StreamWatch

log = logging.getLogger(__name__)


@dataclass
class ControllerStats:
    """What the controller did: preemptions, reaction times (HIGH tasks seen waiting -> one more running), errors."""

    preemptions: int = 0
    releases: int = 0
    reactions_ms: list[float] = field(default_factory=list)
    tick_errors: int = 0
    events: list[tuple[float, str, str]] = field(default_factory=list)
    # every stop decision: (wall time s, LOW job id, hosts of the tasks told to stop; () = all of the job's tasks)
    stops: list[tuple[float, str, tuple[str, ...]]] = field(default_factory=list)


class PriorityController:
    """Preempt LOW work for HIGH demand under a named policy (`none`, `kill`, `requeue`, `lb`, `lma`).

    `guard` is the starvation guard (a name from `GUARDS` or a guard object);
    `max_preemptions` (with `max_preempted_s`), when given, selects the older
    `count` guard with those bounds.
    """

    def __init__(
        self,
        spark: SparkSession,
        policy_name: str | Policy = "requeue",
        *,
        classes: Sequence[PriorityClass] = DEFAULT_CLASSES,
        guard: str | Guard = "share",
        max_preemptions: int | None = None,
        max_preempted_s: float | None = 30.0,
        interval_s: float = 0.02,
        hold_s: float = 0.1,
        settle_s: float = 0.25,
        trigger: str = "tasks",
    ) -> None:
        self.spark = spark
        self.policy = policy(policy_name) if isinstance(policy_name, str) else policy_name
        self.classes = tuple(classes)
        self.high_pools = tuple(c.pool for c in self.classes if c.level == min(x.level for x in self.classes))
        self._low_pools = frozenset(c.pool for c in self.classes) - frozenset(self.high_pools)
        if max_preemptions is not None:
            self.guard: Guard = CountGuard(max_preemptions, max_preempted_s)
        else:
            self.guard = _guard(guard)
        self.interval_s = interval_s
        self.hold_s = hold_s
        self.settle_s = settle_s
        if trigger not in ("tasks", "predict"):
            raise SettingsError("priority trigger", trigger, ("predict", "tasks"))
        self.trigger = trigger  # "predict": watched streams also count a trigger about to fire as demand
        self.stats = ControllerStats()
        self.listeners: list[Callable[[str, str], None]] = []  # (event, LOW job id), e.g. the durable queue
        self.jobs: dict[str, LowJob] = {}
        self.streams: list[StreamWatch] = []
        self._threads: list[InheritableThread] = []
        self._preempted: set[str] = set()
        self._exempt: dict[str, frozenset[int]] = {}  # partitions the guard keeps running, per candidate job
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_busy = 0.0
        self._nothing_to_stop = False  # the last look found HIGH waiting only behind work the guard keeps
        self._settled_at = 0.0
        self._seen_at: float | None = None
        self._running_at_seen = 0
        self._lock = threading.Lock()
        host = spark.conf.get("spark.driver.host", "127.0.0.1") or "127.0.0.1"
        self.signal = SignalServer(host)
        self._reader = SchedulerReader(spark.sparkContext)  # compiled once per driver JVM; fails here, not mid-run

    @classmethod
    def from_settings(
        cls, spark: SparkSession, settings: PrioritySettings | None = None, **overrides: Any
    ) -> PriorityController:
        """A controller as `[priority]` configures it (default: the settings file's); keywords override."""
        if settings is None:
            from spark_sched.config import load_settings

            settings = load_settings().priority
        options: dict[str, Any] = {"classes": settings.classes, "guard": settings.build_guard(),
                                   "trigger": settings.trigger, **overrides}
        return cls(spark, settings.policy, **options)

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> PriorityController:
        self.signal.start()
        self._thread = threading.Thread(target=self._loop, name="spark-sched-priority-controller", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the loop, let every preempted job resume, close the signal endpoint (jobs keep running)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._release_all(time.monotonic())
        self.signal.close()

    def __enter__(self) -> PriorityController:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- submitting work -------------------------------------------------------------------------------------

    def submit(self, job: LowJob) -> LowJob:
        """Run a LOW job in its own InheritableThread (job tags are thread-local) under this controller."""
        cooperative = job.cooperative and self.policy.mode == "requeue"
        job.bind(self.signal.handle(job.job_id) if cooperative else None, keep_progress=self.policy.mode != "kill",
                 take_stopped=lambda: self.signal.take_stopped(job.job_id))
        job.state.submitted_wall = time.time()
        with self._lock:
            self.jobs[job.job_id] = job
        self._spawn(f"low-{job.job_id}", lambda: self._run_low(job))
        return job

    def _run_low(self, job: LowJob) -> None:
        try:
            job.run(self.spark)
            self._notify("done", job.job_id)
        except Exception as exc:  # noqa: BLE001 - the job's failure is its own; the controller carries on
            job.state.error = exc
            self._event("failed", job.job_id)
            self._notify("failed", job.job_id)
        finally:
            job.state.finished_wall = time.time()
            job.state.finished.set()

    def run_high(self, job_id: str, action: Callable[[SparkSession], Any], cls: PriorityClass = HIGH) -> HighRun:
        """Run `action(spark)` in `cls`'s pool with its tags, in its own thread; returns a handle to wait on."""
        run = HighRun(job_id)

        def body() -> None:
            try:
                with tagged(self.spark.sparkContext, cls, job_id):
                    run.result = action(self.spark)
            except Exception as exc:  # noqa: BLE001
                run.error = exc
            finally:
                run.done.set()

        self._spawn(f"high-{job_id}", body)
        return run

    def watch(self, stream: StreamWatch) -> None:
        """Count a streaming query's triggers (running or, with trigger "predict", about to fire) as HIGH demand."""
        if self.trigger == "predict":
            stream.predict = True
        self.streams.append(stream)

    def _spawn(self, name: str, body: Callable[[], None]) -> None:
        thread = InheritableThread(target=body, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def wait(self, jobs: Iterable[LowJob] | None = None, timeout: float | None = None) -> bool:
        """Wait for the given (default: all submitted) LOW jobs to finish; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for job in list(jobs if jobs is not None else self.jobs.values()):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not job.state.finished.wait(left):
                return False
        return True

    # -- the loop --------------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._tick(time.monotonic())
            except Exception:  # noqa: BLE001 - a failed read (e.g. during a Spark error) must not end the loop
                self.stats.tick_errors += 1
                log.debug("priority controller tick failed", exc_info=True)

    def _tick(self, now: float) -> None:
        snap = self._reader.read()  # one Py4J call: every pool's running and waiting tasks, slots, memory
        waiting, running = snap.waiting(self.high_pools), snap.running(self.high_pools)
        self._track_reaction(now, waiting, running)
        predicted = max((w.demand_slots() for w in self.streams), default=0)
        pending = max(waiting, predicted - running)
        if pending == 0:
            self._nothing_to_stop = False
        if pending > 0 and not self._blocked_by_kept_work(now):
            self._last_busy = now
        elif self._preempted and now - self._last_busy >= self.hold_s:
            # HIGH has every slot it asked for, or waits only behind LOW work the guard keeps running (holding
            # other LOW jobs at their gate would leave slots idle): LOW may go on; the HIGH pool's minShare
            # still hands HIGH the next free slot first
            self._release_all(now)
        self._release_overdue(now)
        if pending > 0 and now >= self._settled_at and self.policy.mode != "none":
            self._preempt(now, pending, snap)

    def _preempt(self, now: float, pending: int, snap: SchedulerSnapshot) -> None:
        view = self._view(snap)
        free = sum(view.free_slots.values())
        self._nothing_to_stop = pending > free and not view.jobs
        if pending <= free or not view.jobs:
            return
        victims = self.policy.choose(Demand(pending), view)
        if victims:
            self._apply(now, victims)
            self._settled_at = now + self.settle_s

    def _apply(self, now: float, victims: Sequence[Victim]) -> None:
        sc = self.spark.sparkContext
        wall = time.time()
        for victim in victims:
            job = self.jobs[victim.job_id]
            if victim.job_id not in self._preempted:
                job.state.preemptions += 1  # before the cancel: the job tells a preemption from a failure by it
                job.state.preempted_since = now
                job.state.gate.clear()
                self._preempted.add(victim.job_id)
                self.stats.preemptions += 1
                self._event("preempt", f"{victim.job_id} {victim.scope}")
                self._notify("preempt", victim.job_id)
            if job.signal is not None:
                exempt = self._exempt.get(victim.job_id, ())
                self.signal.stop(victim.job_id, victim.scope, exempt=exempt)
                told = [t.host for t in self.signal.running(victim.job_id)
                        if t.partition not in exempt and victim.scope in ("*", f"h{t.host}", f"p{t.partition}")]
                self.stats.stops.append((wall, victim.job_id, tuple(told)))
            else:
                self.stats.stops.append((wall, victim.job_id, ()))
                sc.cancelJobsWithTag(JobTags(job.cls.name, job.job_id, 0).job_tag)

    def _blocked_by_kept_work(self, now: float) -> bool:
        """HIGH waits, but only behind LOW work the guard keeps: nothing left to stop, no stop on its way.

        A preempted job still running anything but its exempt tasks (or tasks that have not polled
        yet, such as a Python worker still starting) is a stop on its way.
        """
        if not self._nothing_to_stop or now < self._settled_at or self.signal.stopping():
            return False
        for job_id in self._preempted:
            job = self.jobs[job_id]
            if not job.state.running:
                continue  # waiting at its gate
            tasks = self.signal.running(job_id)
            if job.signal is None or not tasks or not all(self.signal.exempt(job_id, t.partition) for t in tasks):
                return False
        return True

    def _release_overdue(self, now: float) -> None:
        """The guard's bound on LOW's wait: release the preempted jobs it names, even while HIGH waits."""
        held = []
        for job_id in sorted(self._preempted):
            state = self.jobs[job_id].state
            if state.preempted_since is not None:
                held.append(Held(job_id, state.preempted_since, state.preempted_s))
        overdue = self.guard.overdue(held, now)
        if overdue:
            self._release(sorted(overdue), now)

    def _release_all(self, now: float) -> None:
        self._release(sorted(self._preempted), now)

    def _release(self, job_ids: Sequence[str], now: float) -> None:
        for job_id in job_ids:
            job = self.jobs[job_id]
            if job.state.preempted_since is not None:
                job.state.preempted_s += now - job.state.preempted_since
                job.state.preempted_since = None
            self.signal.clear(job_id)
            job.state.gate.set()
            self.stats.releases += 1
            self._preempted.discard(job_id)
            self._notify("release", job_id)
        if job_ids:
            self._event("release", ",".join(job_ids))

    def _track_reaction(self, now: float, pending: int, running: int) -> None:
        if pending > 0 and self._seen_at is None:
            self._seen_at, self._running_at_seen = now, running
        elif self._seen_at is not None and (running > self._running_at_seen or pending == 0):
            if running > self._running_at_seen:
                self.stats.reactions_ms.append((now - self._seen_at) * 1000.0)
            self._seen_at = None

    def _event(self, kind: str, detail: str) -> None:
        self.stats.events.append((time.time(), kind, detail))

    def _notify(self, kind: str, job_id: str) -> None:
        """Tell the listeners (preempt, release, done, failed); a failing listener never stops the controller."""
        for listener in list(self.listeners):
            try:
                listener(kind, job_id)
            except Exception:  # noqa: BLE001
                log.warning("priority controller listener failed on %s %s", kind, job_id, exc_info=True)

    # -- choosing victims ------------------------------------------------------------------------------------

    def _view(self, snap: SchedulerSnapshot) -> ClusterView:
        """The LOW jobs the policy may stop (running, not protected, not already preempted) and free slots."""
        free = max(0, snap.slots - snap.running())
        return ClusterView(self._candidates(snap), {"*": free}, dict(snap.memory_pressure))

    def _candidates(self, snap: SchedulerSnapshot) -> list[LowRunning]:
        """Running, not yet preempted LOW jobs, as the guard narrows them; remembers the tasks it protects."""
        running = self.signal.running()
        candidates = []
        for job in list(self.jobs.values()):
            if not job.state.running or job.job_id in self._preempted:
                continue
            tasks = tuple(sorted((t.partition, t.host) for t in running if t.job_id == job.job_id))
            s = job.state
            candidates.append(Candidate(job.job_id, job.signal is not None, s.preemptions, s.preempted_s,
                                        s.submitted_wall, tasks if job.signal is not None else ()))
        # LOW tasks that keep running whatever the policy picks: exempt ones of preempted jobs, and JVM-only
        # tasks (the policies cancel those only when stopping cooperative work cannot make room)
        exempt = sum(1 for t in running if t.job_id in self._preempted and self.signal.exempt(t.job_id, t.partition))
        polling = sum(1 for t in running if t.job_id in self.jobs)
        jvm_only = max(0, snap.running(self._low_pools) - polling)
        allowed = {c.job_id: c for c in self.guard.preemptible(candidates, exempt + jvm_only)}
        self._exempt = {
            c.job_id: frozenset(p for p, _ in set(c.tasks) - set(allowed[c.job_id].tasks))
            for c in candidates if c.job_id in allowed
        }
        return [LowRunning(c.job_id, c.cooperative, c.hosts) for c in allowed.values()]


@dataclass
class HighRun:
    """A HIGH action started by `run_high`: wait on `done`, then read `result` or `error`."""

    job_id: str
    result: Any = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


def _guard(spec: str | Guard) -> Guard:
    return guard(spec) if isinstance(spec, str) else spec
