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
the next free slot). A starvation guard (`spark_sched.priority.policy.guards`)
decides which LOW work may be stopped and which preempted job must be let go
even while HIGH waits: by default (`share`) LOW keeps a minimum share of
running tasks and no job waits longer than a bound, so neither side starves.

Under the `suspend` policy nothing is stopped for CPU: Python LOW tasks are
suspended in place and resumed (`suspension`), on a cluster with more task
slots than `cores`; only when HIGH waits for a slot are suspended tasks stopped
(saving their progress) or JVM-only LOW jobs cancelled.

This class is the lifecycle and the tick; submitting work (`submission`),
watched streams (`streams`), stopping victims (`victims`), releasing them
(`release`) and suspending them (`suspension`) are small objects of their own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from spark_sched.connect import refuse_on_connect
from spark_sched.errors import SettingsError
from spark_sched.priority.classes import DEFAULT_CLASSES, HIGH, PriorityClass
from spark_sched.priority.jobs.cooperative import SignalServer
from spark_sched.priority.policy.guards import CountGuard, Guard, guard
from spark_sched.priority.policy.policies import Demand, Policy, policy
from spark_sched.priority.runtime.release import PreemptedJobs
from spark_sched.priority.runtime.snapshot import SchedulerReader, SchedulerSnapshot
from spark_sched.priority.runtime.stats import ControllerStats, HighRun, Listener, Reporter
from spark_sched.priority.runtime.streams import StreamDemand
from spark_sched.priority.runtime.submission import Submissions
from spark_sched.priority.runtime.suspension import Suspensions
from spark_sched.priority.runtime.victims import Victims
from spark_sched.priority.settings import PrioritySettings, load_priority_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_sched.priority.jobs.preemptible import LowJob
    from spark_sched.priority.streaming import StreamWatch

log = logging.getLogger(__name__)
TRIGGERS = ("predict", "tasks")


class PriorityController:
    """Preempt LOW work for HIGH demand under a named policy (`none`, `kill`, `requeue`, `lb`, `suspend`).

    `guard` is the starvation guard (a name from `GUARDS` or a guard object);
    `max_preemptions` (with `max_preempted_s`), when given, selects the older
    `count` guard with those bounds. `cores` (suspend only) is the number of
    tasks the cluster's cores run at once; it must be below the task slots
    (default: half of them).
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
        cores: int | None = None,
    ) -> None:
        refuse_on_connect(spark, "PriorityController")
        self.spark = spark
        self.policy = policy(policy_name) if isinstance(policy_name, str) else policy_name
        self.classes = tuple(classes)
        self.high_pools = tuple(c.pool for c in self.classes if c.level == min(x.level for x in self.classes))
        low_pools = frozenset(c.pool for c in self.classes) - frozenset(self.high_pools)
        self.guard: Guard = CountGuard(max_preemptions, max_preempted_s) if max_preemptions is not None \
            else _guard(guard)
        self.interval_s = interval_s
        self.hold_s = hold_s
        self.settle_s = settle_s
        if trigger not in TRIGGERS:
            raise SettingsError("priority trigger", trigger, TRIGGERS)
        self.trigger = trigger  # "predict": watched streams also count a trigger about to fire as demand
        host = spark.conf.get("spark.driver.host", "127.0.0.1") or "127.0.0.1"
        self.signal = SignalServer(host)
        self._reporter = Reporter()
        self._submissions = Submissions(spark, self.signal, self._reporter, lambda: self.policy.mode)
        self._streams = StreamDemand(predict=trigger == "predict")
        self._preempted = PreemptedJobs(self.jobs, self.signal, self._reporter)
        self._victims = Victims(spark, self.jobs, self.signal, self._preempted, self.stats, low_pools)
        self.cores = cores
        self._suspensions: Suspensions | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_busy = 0.0
        self._nothing_to_stop = False  # the last look found HIGH waiting only behind work the guard keeps
        self._settled_at = 0.0
        self._seen_at: float | None = None
        self._running_at_seen = 0
        self._reader = SchedulerReader(spark.sparkContext)  # compiled once per driver JVM; fails here, not mid-run

    @classmethod
    def from_settings(
        cls, spark: SparkSession, settings: PrioritySettings | None = None, **overrides: Any
    ) -> PriorityController:
        """A controller as `[priority]` configures it (default: the settings file's); keywords override."""
        if settings is None:
            settings = load_priority_settings()
        options: dict[str, Any] = {"classes": settings.classes, "guard": settings.build_guard(),
                                   "trigger": settings.trigger, "cores": settings.cores, **overrides}
        return cls(spark, settings.policy, **options)

    # -- what the parts hold ---------------------------------------------------------------------------------

    @property
    def stats(self) -> ControllerStats:
        return self._reporter.stats

    @property
    def listeners(self) -> list[Listener]:
        """Called with (event, LOW job id) on preempt, release, done and failed, e.g. by the durable queue."""
        return self._reporter.listeners

    @property
    def jobs(self) -> dict[str, LowJob]:
        """Every LOW job submitted, by id."""
        return self._submissions.jobs

    @property
    def suspend_cores(self) -> int | None:
        """The cores suspend mode keeps HIGH's and unsuspended LOW tasks within (None: not suspending)."""
        return self._suspensions.cores if self._suspensions is not None else None

    @property
    def streams(self) -> list[StreamWatch]:
        return self._streams.watched

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> PriorityController:
        if self.policy.mode == "suspend":
            try:
                self._suspensions = self._suspension_for(self._reader.read().slots)
            except SettingsError:
                self.signal.close()  # bound at construction: release the port
                raise
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
        self._preempted.release_all(time.monotonic())
        self.signal.close()

    def __enter__(self) -> PriorityController:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _suspension_for(self, slots: int) -> Suspensions:
        """Suspend mode's part, or one clear error when the cluster has no slots to spare for HIGH."""
        cores = self.cores if self.cores is not None else slots // 2
        if cores < 1 or cores >= slots:
            raise SettingsError(
                "priority cores", cores,
                f"1 to {slots - 1}: suspended tasks keep their slots, so suspend needs more task slots ({slots}) "
                "than cores (run executors with more cores than the host has, e.g. SPARK_WORKER_CORES=2x)")
        return Suspensions(self.jobs, self.signal, self._preempted, self._victims, cores,
                           hold_s=self.hold_s, settle_s=self.settle_s)

    # -- submitting work -------------------------------------------------------------------------------------

    def submit(self, job: LowJob) -> LowJob:
        """Run a LOW job in its own InheritableThread (job tags are thread-local) under this controller."""
        return self._submissions.submit(job)

    def run_high(self, job_id: str, action: Callable[[SparkSession], Any], cls: PriorityClass = HIGH) -> HighRun:
        """Run `action(spark)` in `cls`'s pool with its tags, in its own thread; returns a handle to wait on."""
        return self._submissions.run_high(job_id, action, cls)

    def watch(self, stream: StreamWatch) -> None:
        """Count a streaming query's triggers (running or, with trigger "predict", about to fire) as HIGH demand."""
        self._streams.watch(stream)

    def wait(self, jobs: Iterable[LowJob] | None = None, timeout: float | None = None) -> bool:
        """Wait for the given (default: all submitted) LOW jobs to finish; False on timeout."""
        return self._submissions.wait(jobs, timeout)

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
        pending = max(waiting, self._streams.slots() - running)
        if self._suspensions is not None:
            self._suspensions.tick(now, snap, waiting, running + pending, self.policy, self.guard)
            return
        if pending == 0:
            self._nothing_to_stop = False
        if pending > 0 and not self._blocked_by_kept_work(now):
            self._last_busy = now
        elif self._preempted and now - self._last_busy >= self.hold_s:
            # HIGH has every slot it asked for, or waits only behind LOW work the guard keeps running (holding
            # other LOW jobs at their gate would leave slots idle): LOW may go on; the HIGH pool's minShare
            # still hands HIGH the next free slot first
            self._preempted.release_all(now)
        self._preempted.release_overdue(self.guard, now)
        if pending > 0 and now >= self._settled_at and self.policy.mode != "none":
            self._preempt(now, pending, snap)

    def _preempt(self, now: float, pending: int, snap: SchedulerSnapshot) -> None:
        view = self._victims.view(snap, self.guard)
        free = sum(view.free_slots.values())
        self._nothing_to_stop = pending > free and not view.jobs
        if pending <= free or not view.jobs:
            return
        victims = self.policy.choose(Demand(pending), view)
        if victims:
            self._victims.stop(victims, now)
            self._settled_at = now + self.settle_s

    def _blocked_by_kept_work(self, now: float) -> bool:
        """HIGH waits, but only behind LOW work the guard keeps: nothing left to stop, no stop on its way."""
        if not self._nothing_to_stop or now < self._settled_at or self.signal.stopping():
            return False
        return self._preempted.only_kept_work_running()

    def _track_reaction(self, now: float, pending: int, running: int) -> None:
        if pending > 0 and self._seen_at is None:
            self._seen_at, self._running_at_seen = now, running
        elif self._seen_at is not None and (running > self._running_at_seen or pending == 0):
            if running > self._running_at_seen:
                self.stats.reactions_ms.append((now - self._seen_at) * 1000.0)
            self._seen_at = None


def _guard(spec: str | Guard) -> Guard:
    return guard(spec) if isinstance(spec, str) else spec
