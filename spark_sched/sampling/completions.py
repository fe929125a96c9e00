"""One job of M upstream tasks whose completions reach the driver as each task finishes; the rest cancelled by tag.

Every task reports (its partition, task id, host, output bytes and, for
partial results, the output itself) through an accumulator keyed by
partition. Spark merges a task's accumulator update on the driver when the
task succeeds, once per partition, and never for a killed task; PySpark's
accumulator server applies it by calling `addInPlace` at that moment, which
wakes the waiting chooser. So one job replaces M one-task jobs, the driver
sleeps until a task finishes (no polling), and after `cancel` nothing of the
cancelled rest is ever counted. With `cut_by`, the rest also stop at their next
row instead of when Spark's kill reaches a Python task (`sampling.cut`).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark import RDD, AccumulatorParam, InheritableThread, TaskContext

from spark_sched.jobscope import job_scope
from spark_sched.priority.jobs.cooperative import SignalHandle, executor_host
from spark_sched.sampling.cut import cut, cut_signal, until_cut
from spark_sched.sampling.upstream import nbytes

Report = tuple[int, str, int, float, Any]  # task id, host, output bytes, seconds in fn, output (None: stays cached)
_WAITERS: dict[str, Completions] = {}  # driver side: accumulator key -> its job, woken on every merge


@dataclass(frozen=True)
class Completion:
    """One finished upstream task: partition of the RDD the job ran, where it ran, what it produced, when."""

    partition: int
    task_id: int
    host: str
    size: int
    finished: float  # driver's monotonic clock when the update arrived
    seconds: float = 0.0  # the task's time in the partition function
    output: Any = None


class ReportsParam(AccumulatorParam):
    """partition -> report; on the driver, every merge also wakes the job waiting on it."""

    def __init__(self, key: str) -> None:
        self.key = key

    def zero(self, value: dict[int, Report]) -> dict[int, Report]:
        return {}

    def addInPlace(self, value1: dict[int, Report], value2: dict[int, Report]) -> dict[int, Report]:  # noqa: N802
        waiter = _WAITERS.get(self.key)
        if waiter is None:  # an executor adding its own report
            value1.update(value2)
            return value1
        waiter.arrived(value2)
        return value1


def reporting(
    fn: Callable[[Iterable[Any]], Iterable[Any]] | None, accumulator: Any, keep: bool, handle: SignalHandle | None
) -> Callable:
    """The task body: run `fn` (None: consume the partition), report it, return nothing to runJob.

    With a `handle`, the rows end when the job is cut, and a cut task reports nothing.
    """

    def run(rows: Iterable[Any]) -> list[Any]:
        started = time.monotonic()
        ctx = TaskContext.get()
        with cut_signal(handle) if handle is not None else contextlib.nullcontext() as should_stop:
            source = until_cut(rows, should_stop) if should_stop is not None else rows
            output = list(fn(source) if fn is not None else source)
            seconds = time.monotonic() - started
            if should_stop is not None and should_stop():
                return []
        size = sum(nbytes(r) for r in output)
        report = (ctx.taskAttemptId(), executor_host(), size, seconds, output if keep else None)
        accumulator.add({ctx.partitionId(): report})
        return []

    return run


@dataclass
class Completions:
    """`runJob(rdd, fn, partitions)` on its own thread, tagged `cancel_tag`; completions gathered as they arrive."""

    rdd: RDD
    partitions: Sequence[int]
    fn: Callable[[Iterable[Any]], Iterable[Any]] | None
    tags: Sequence[str]
    cancel_tag: str
    keep_outputs: bool = True
    cut_by: SignalHandle | None = None  # the tasks read their rows until the job is cut (`sampling.cut`)
    done: dict[int, Completion] = field(default_factory=dict)
    error: str | None = None
    ended: bool = False
    cancelled: bool = False
    started: float = 0.0
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _key: str = field(default_factory=lambda: uuid.uuid4().hex)
    _thread: InheritableThread | None = None

    def start(self) -> None:
        sc = self.rdd.context
        _WAITERS[self._key] = self
        accumulator = sc.accumulator({}, ReportsParam(self._key))
        body = reporting(self.fn, accumulator, self.keep_outputs, self.cut_by)
        self.started = time.monotonic()
        self._thread = InheritableThread(target=self._run, args=(body,), daemon=True)
        self._thread.start()

    def _run(self, body: Callable) -> None:
        sc = self.rdd.context
        try:
            with job_scope(sc, tags=(*self.tags, self.cancel_tag)):
                sc.runJob(self.rdd, body, partitions=list(self.partitions))
        except Exception as exc:  # noqa: BLE001 - cancelled (expected) or failed: the waiter decides
            text = str(exc).strip().splitlines()
            with self._cond:
                self.error = text[0][:300] if text else type(exc).__name__
        finally:
            with self._cond:
                self.ended = True
                self._cond.notify_all()

    def arrived(self, reports: dict[int, Report]) -> None:
        now = time.monotonic()
        with self._cond:
            if self.cancelled:
                return
            for partition, (task_id, host, size, seconds, output) in reports.items():
                if partition not in self.done:
                    self.done[partition] = Completion(partition, task_id, host, size, now, seconds, output)
            self._cond.notify_all()

    def wait(self, count: int, deadline: float | None = None) -> list[Completion]:
        """Block until `count` tasks finished, the job ended, or `deadline` (monotonic) passed; finish order."""
        with self._cond:
            while len(self.done) < count and not self.ended:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._cond.wait(left)
            return sorted(self.done.values(), key=lambda c: c.finished)

    def running(self) -> int:
        with self._cond:
            return 0 if self.ended else len(self.partitions) - len(self.done)

    def cancel(self) -> None:
        """Stop counting completions, and cancel the job's tasks still running (by tag)."""
        with self._cond:
            self.cancelled = True
            still = not self.ended and len(self.done) < len(self.partitions)
        if still and self.cut_by is not None:
            cut(self.rdd.context, self.cut_by.job_id)
        if still:
            self.rdd.context.cancelJobsWithTag(self.cancel_tag)

    def join(self, timeout_s: float = 60.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)
        _WAITERS.pop(self._key, None)
