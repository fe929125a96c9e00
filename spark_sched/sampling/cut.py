"""Stopping the extra upstream tasks KMN no longer needs between two rows, not at Spark's pace.

Spark kills a running Python task only once its monitor notices the kill (it
looks every 2 s) and `spark.python.task.killTimeout` has passed, so a straggler
cut by the cancel would run on and hold its slot. The tasks of an extra-task
job therefore read their rows through `until_cut`, which asks the driver at
most every CHECK_S whether their job was cut and ends the partition there. The
question goes to the same endpoint the priority controller's cooperative tasks
poll (`spark_sched.priority.jobs.cooperative`), one per application, bound to
`spark.driver.host`. Every task says when it ends, as the controller's tasks
do, so the endpoint keeps no entry of it. A task that was cut reports nothing,
so its partial output is never counted. A partition function that reads all its rows before it
computes cannot be cut this way; Spark's own kill still ends it.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pyspark import SparkContext, TaskContext

from spark_sched.priority.jobs.cooperative import SignalHandle, SignalServer

CHECK_S = 0.02  # a cut task stops within this of its next row; 50 questions a second per running task at most
REMEMBERED = 16  # cut jobs whose stop stays up; older ones' tasks are long gone, so their entries are dropped

_SIGNALS: dict[str, SignalServer] = {}  # application id -> its endpoint
_CUT: deque[str] = deque()  # cut jobs, oldest first
_LOCK = threading.Lock()


def _signal(sc: SparkContext) -> SignalServer:
    """The application's endpoint, started on first use and closed when the driver exits."""
    with _LOCK:
        server = _SIGNALS.get(sc.applicationId)
        if server is None:
            host = sc.getConf().get("spark.driver.host", "127.0.0.1") or "127.0.0.1"
            server = _SIGNALS[sc.applicationId] = SignalServer(host).start()
            atexit.register(server.close)
        return server


def cut_handle(sc: SparkContext, job_id: str) -> SignalHandle:
    """What the tasks of `job_id` carry to learn that their job was cut."""
    return dataclasses.replace(_signal(sc).handle(job_id), interval_s=CHECK_S)


def cut(sc: SparkContext, job_id: str) -> None:
    """Tell the running tasks of `job_id` to stop at their next row (before Spark's cancel reaches them)."""
    server = _signal(sc)
    server.stop(job_id)
    with _LOCK:
        _CUT.append(job_id)
        while len(_CUT) > REMEMBERED:
            old = _CUT.popleft()
            server.clear(old)
            server.take_stopped(old)


@contextlib.contextmanager
def cut_signal(handle: SignalHandle) -> Iterator[Callable[[], bool]]:
    """This task's `should_stop`; at the end the task says it is done, so the driver keeps no entry of it."""
    partition = TaskContext.get().partitionId()
    try:
        yield handle.probe(partition)
    finally:
        handle.done(partition)


def until_cut(rows: Iterable[Any], should_stop: Callable[[], bool]) -> Iterator[Any]:
    """`rows` until the job is cut."""
    for row in rows:
        if should_stop():
            return
        yield row


def cut_input(
    fn: Callable[[Iterable[Any]], Iterable[Any]], handle: SignalHandle
) -> Callable[[Iterable[Any]], Iterator[Any]]:
    """`fn` as a partition function whose input ends when the job is cut."""

    def run(rows: Iterable[Any]) -> Iterator[Any]:
        with cut_signal(handle) as should_stop:
            yield from fn(until_cut(rows, should_stop))

    return run
