"""Submitting work under the controller: LOW jobs and HIGH actions, each in its own InheritableThread.

Spark's job tags and local properties (the pool) are thread-local, so each job
runs on a thread of its own that inherits them; the LOW job is bound to the
cooperative stop signal when the current policy requeues (a `kill` policy reruns
killed partitions from scratch, so it keeps no progress).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from pyspark import InheritableThread

from spark_sched.priority.classes import HIGH, PriorityClass, tagged
from spark_sched.priority.runtime.stats import HighRun, Reporter

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_sched.priority.jobs.cooperative import SignalServer
    from spark_sched.priority.jobs.preemptible import LowJob


class Submissions:
    """The LOW jobs handed to the controller (by id) and the threads that run them and HIGH actions."""

    def __init__(self, spark: SparkSession, signal: SignalServer, reporter: Reporter, mode: Callable[[], str]) -> None:
        self.spark = spark
        self.signal = signal
        self.reporter = reporter
        self._mode = mode  # the current policy's mode: the composer may swap the policy between jobs
        self.jobs: dict[str, LowJob] = {}
        self._threads: list[InheritableThread] = []
        self._lock = threading.Lock()

    def submit(self, job: LowJob) -> LowJob:
        """Run a LOW job in its own InheritableThread (job tags are thread-local) under the controller."""
        mode = self._mode()
        cooperative = job.cooperative and mode in ("requeue", "suspend")
        job.bind(self.signal.handle(job.job_id) if cooperative else None, keep_progress=mode != "kill",
                 take_stopped=lambda: self.signal.take_stopped(job.job_id))
        job.state.submitted_wall = time.time()
        with self._lock:
            self.jobs[job.job_id] = job
        self.spawn(f"low-{job.job_id}", lambda: self._run_low(job))
        return job

    def _run_low(self, job: LowJob) -> None:
        try:
            job.run(self.spark)
            self.reporter.notify("done", job.job_id)
        except Exception as exc:  # noqa: BLE001 - the job's failure is its own; the controller carries on
            job.state.error = exc
            self.reporter.event("failed", job.job_id)
            self.reporter.notify("failed", job.job_id)
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

        self.spawn(f"high-{job_id}", body)
        return run

    def spawn(self, name: str, body: Callable[[], None]) -> None:
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
