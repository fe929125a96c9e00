"""Running queued jobs under the priority controller: at most `in_flight` at a time, outcomes recorded.

"Done" is recorded once however often a job is resubmitted (the queue's
conditional update); the controller tells the runner about preemptions,
releases and ends through its `listeners` hook, and the runner writes them to
the queue, so the queue always says where each job is.
"""

from __future__ import annotations

import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_sched.priority.classes import LOW, PriorityClass
from spark_sched.priority.durable.queue import DurableQueue, QueuedJob, checksum

if TYPE_CHECKING:
    from spark_sched.priority.jobs.preemptible import LowJob
    from spark_sched.priority.runtime.controller import PriorityController


class DurableRunner:
    """Feeds queued jobs to a PriorityController, at most `in_flight` at a time, and records their outcome.

    `submit` enqueues (durably) and returns; a dispatcher thread takes the oldest
    pending jobs as slots free. The controller tells the runner about preemptions,
    releases and ends through its `listeners` hook.
    """

    def __init__(self, controller: PriorityController, queue: DurableQueue, work_dir: str | Path,
                 in_flight: int = 2, cls: PriorityClass = LOW, poll_s: float = 0.02) -> None:
        self.controller = controller
        self.queue = queue
        self.work_dir = Path(work_dir)
        self.in_flight = in_flight
        self.cls = cls
        self.poll_s = poll_s
        self.running: dict[str, LowJob] = {}
        self.dispatch_ms: list[float] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread: threading.Thread | None = None
        controller.listeners.append(self._on_event)

    def submit(self, job_id: str, kind: str, spec: dict[str, Any]) -> bool:
        """Queue a job; it is on disk when this returns. False when the id was queued before."""
        return self.queue.enqueue(job_id, kind, spec)

    def resume(self) -> list[str]:
        """After a restart: put jobs left running or preempted back to pending (their partitions stay committed)."""
        return self.queue.requeue_unfinished()

    def start(self) -> DurableRunner:
        self._thread = threading.Thread(target=self._loop, name="spark-sched-durable-runner", daemon=True)
        self._thread.start()
        return self

    def pause(self) -> None:
        """Dispatch nothing new (running jobs carry on)."""
        self._paused.set()

    def stop(self, wait_s: float = 0.0) -> None:
        """Stop dispatching; wait up to `wait_s` for running jobs to end (the rest stay unfinished in the queue)."""
        self._paused.set()
        deadline = time.monotonic() + wait_s
        while self.running and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        with suppress(ValueError):
            self.controller.listeners.remove(self._on_event)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def idle(self) -> bool:
        return not self.running and not self.queue.next_pending(1)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            if not self._paused.is_set():
                self.dispatch()

    def dispatch(self) -> int:
        """Start the oldest pending jobs while fewer than `in_flight` run; returns how many started.

        `dispatch_ms` keeps the time of each look into the queue (and the starts it led to).
        """
        with self._lock:
            free = self.in_flight - len(self.running)
        if free <= 0:
            return 0
        t0 = time.perf_counter()
        started = 0
        for queued in self.queue.next_pending(free):
            self._start(queued)
            started += 1
        self.dispatch_ms.append((time.perf_counter() - t0) * 1000.0)
        return started

    def _start(self, queued: QueuedJob) -> None:
        if queued.kind not in self.queue.kinds:
            self.queue.fail(queued.job_id, f"unknown kind {queued.kind!r}")
            return
        build = self.queue.kinds.get(queued.kind)
        job = build(queued.job_id, queued.spec, self.work_dir, self.cls)
        self.queue.mark_running(queued.job_id)
        with self._lock:
            self.running[queued.job_id] = job
        self.controller.submit(job)

    def _on_event(self, kind: str, job_id: str) -> None:
        """The controller's hook: preempt / release / done / failed for one LOW job id.

        Ignored once the runner is stopped: jobs that a stopping driver cancels stay
        unfinished in the queue for the next driver, never "failed".
        """
        if self._stop.is_set():
            return
        if kind == "preempt":
            self.queue.mark_preempted(job_id)
        elif kind == "release":
            self.queue.mark_resumed(job_id)
        elif kind in ("done", "failed"):
            with self._lock:
                job = self.running.pop(job_id, None)
            if job is None:
                return
            if kind == "done":
                self.queue.complete(job_id, checksum(job.state.result))
            else:
                self.queue.fail(job_id, repr(job.state.error))

    def wait(self, timeout: float) -> bool:
        """Wait until nothing is queued or running; False on timeout."""
        deadline = time.monotonic() + timeout
        while not self.idle():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

