"""The priority controller for Spark Connect: the server's REST API read, LOW work cancelled by tag and rerun.

`PriorityController` reads the scheduler inside the driver's JVM through Py4J, which a
Spark Connect client does not have. What a client does have is enough for the simplest
controller that keeps HIGH work from queueing behind LOW work:

* the server's monitoring REST API (its UI): the active stages with their pool,
  running and not-yet-finished tasks, so the HIGH pool's waiting tasks are known;
* job tags on its own session: `interruptTag` cancels the LOW work it submitted.

`RemoteController` polls the REST API every `tick_s`; when the HIGH pool has tasks
waiting and LOW jobs run, the toolkit's policy object (`kill`, `requeue`, `lb`: for
JVM-only Connect work all three cancel the jobs they choose) names the victims, and
each is interrupted by its tag. An interrupted LOW job runs again from the start once
the HIGH pool has nothing waiting: no LOW work is lost, it restarts. What it cannot do
that the in-JVM controller does: keep a job's finished partitions (Connect has no RDD
checkpoints per partition here), suspend tasks in place, or see the scheduler sooner
than the UI's status store does (its listener runs behind the scheduler by milliseconds
on a quiet server, more under load).

HIGH work runs in its own Connect session (`pool(HIGH.pool, high_session)`); the LOW
session is the controller's, in the LOW pool, because Spark Connect's pool is the
session's conf, not a thread's.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spark_sched.errors import SettingsError
from spark_sched.priority.classes import HIGH, LOW, PriorityClass
from spark_sched.priority.policy.policies import ClusterView, Demand, LowRunning, policy

REMOTE_POLICIES = ("none", "kill", "requeue", "lb")
TAG_PREFIX = "spark-sched-low-"


@dataclass(frozen=True)
class PoolLoad:
    """One pool's tasks on the server now: running, and waiting (not finished, not running)."""

    running: int = 0
    waiting: int = 0


def read_pools(ui_url: str, timeout_s: float = 5.0) -> dict[str, PoolLoad]:
    """Running and waiting tasks per pool, from the server application's active stages (REST API)."""
    base = ui_url.rstrip("/") + "/api/v1/applications"
    apps = _get(base, timeout_s)
    if not apps:
        return {}
    loads: dict[str, PoolLoad] = {}
    for stage in _get(f"{base}/{apps[0]['id']}/stages?status=active", timeout_s):
        pool = str(stage.get("schedulingPool") or "default")
        running = int(stage.get("numActiveTasks", 0))
        waiting = max(0, int(stage.get("numTasks", 0)) - running - int(stage.get("numCompleteTasks", 0)))
        was = loads.get(pool, PoolLoad())
        loads[pool] = PoolLoad(was.running + running, was.waiting + waiting)
    return loads


def _get(url: str, timeout_s: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - the server's own UI
        return json.load(response)


@dataclass
class RemoteLowJob:
    """A LOW action on the controller's session: its result, how often it was preempted, its error if it failed."""

    job_id: str
    action: Callable[[Any], Any]
    result: Any = None
    preemptions: int = 0
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)
    interrupted: bool = False

    @property
    def tag(self) -> str:
        return f"{TAG_PREFIX}{self.job_id}"


class RemoteController:
    """Keep HIGH work from queueing behind LOW work on a Spark Connect server (module doc)."""

    def __init__(self, low_session: Any, ui_url: str, policy_name: str = "requeue", *, high: PriorityClass = HIGH,
                 low: PriorityClass = LOW, tick_s: float = 0.05) -> None:
        if policy_name not in REMOTE_POLICIES:
            raise SettingsError("remote priority policy", policy_name, REMOTE_POLICIES)
        self.session, self.ui_url, self.tick_s = low_session, ui_url, tick_s
        self.policy = policy(policy_name)
        self.high, self.low = high, low
        self.session.conf.set("spark.scheduler.pool", low.pool)
        self._jobs: dict[str, RemoteLowJob] = {}
        self._lock = threading.Lock()
        self._clear = threading.Event()  # set while the HIGH pool has nothing waiting: LOW may (re)start
        self._clear.set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RemoteController:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> RemoteController:
        self._thread = threading.Thread(target=self._loop, name="spark-sched-remote-controller", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._clear.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def submit(self, job_id: str, action: Callable[[Any], Any]) -> RemoteLowJob:
        """Run `action(low_session)` in its own thread, tagged; rerun from the start after each preemption."""
        job = RemoteLowJob(job_id, action)
        with self._lock:
            self._jobs[job_id] = job
        threading.Thread(target=self._run, args=(job,), name=f"spark-sched-low-{job_id}", daemon=True).start()
        return job

    def _run(self, job: RemoteLowJob) -> None:
        try:
            while not self._stop.is_set():
                self._clear.wait()
                job.interrupted = False
                self.session.addTag(job.tag)  # the Connect client's tags are this thread's
                try:
                    job.result = job.action(self.session)
                    return
                except Exception as exc:  # noqa: BLE001 - an interruption the controller made is not a failure
                    if not job.interrupted:
                        job.error = exc
                        return
                    job.preemptions += 1
                finally:
                    self.session.removeTag(job.tag)
        finally:
            with self._lock:
                self._jobs.pop(job.job_id, None)
            job.done.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.tick(read_pools(self.ui_url))
            except OSError:  # the UI not answering for a moment: the next tick reads again
                continue

    def tick(self, loads: dict[str, PoolLoad]) -> list[str]:
        """One decision on the pools' loads: interrupt the LOW jobs the policy names; their ids."""
        waiting = loads.get(self.high.pool, PoolLoad()).waiting
        if waiting <= 0 or self.policy.mode == "none":
            self._clear.set()
            return []
        self._clear.clear()
        with self._lock:
            running = [j for j in self._jobs.values() if not j.interrupted]
        view = ClusterView([LowRunning(j.job_id, cooperative=False) for j in running])
        chosen = {v.job_id for v in self.policy.choose(Demand(waiting), view)}
        for job in running:
            if job.job_id in chosen:
                job.interrupted = True
                self.session.interruptTag(job.tag)
        return sorted(chosen)
