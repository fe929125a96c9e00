"""Upstream task times of this application's KMN runs: what the hedge gain (`hedge`) is estimated from.

Kept per application and partition function, because a task's time depends on
what it computes and on this cluster. A task cut by cancellation is kept as a
censored time (it ran at least that long): extra tasks cancel the slow ones,
and forgetting them would teach the estimate that slow tasks never happen.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pyspark import AccumulatorParam, TaskContext

KEEP = 64  # the most recent task times kept per application and function


@dataclass(frozen=True)
class TaskTime:
    """One upstream task's seconds; `finished` False when it was cancelled after that long."""

    seconds: float
    finished: bool = True


def fn_key(fn: Callable[..., Any]) -> str:
    """The partition function's name and line: runs of the same code (closures of one factory too) share times."""
    code = getattr(fn, "__code__", None)
    line = f":{code.co_firstlineno}" if code is not None else ""
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', type(fn).__name__)}{line}"


class TaskTimes:
    """The last `KEEP` upstream task times per (application, function), thread-safe."""

    def __init__(self) -> None:
        self._times: dict[tuple[str, str], deque[TaskTime]] = {}
        self._lock = threading.Lock()

    def record(self, app: str, key: str, times: Iterable[TaskTime]) -> None:
        with self._lock:
            self._times.setdefault((app, key), deque(maxlen=KEEP)).extend(times)

    def get(self, app: str, key: str) -> list[TaskTime]:
        with self._lock:
            return list(self._times.get((app, key), ()))


TASK_TIMES = TaskTimes()


class SecondsParam(AccumulatorParam):
    """partition -> seconds its task spent in the partition function (a retried task keeps its last)."""

    def zero(self, value: dict[int, float]) -> dict[int, float]:
        return {}

    def addInPlace(self, value1: dict[int, float], value2: dict[int, float]) -> dict[int, float]:  # noqa: N802
        value1.update(value2)
        return value1


def timed(fn: Callable[[Iterable[Any]], Iterable[Any]], accumulator: Any) -> Callable[[Iterable[Any]], Iterator[Any]]:
    """`fn` as a partition function that also adds the seconds it took to `accumulator` (when fully consumed)."""

    def run(rows: Iterable[Any]) -> Iterator[Any]:
        started = time.monotonic()
        yield from fn(rows)
        accumulator.add({TaskContext.get().partitionId(): time.monotonic() - started})

    return run
