"""Run M upstream tasks as M one-task jobs, so each output's finish time, size and place are known at once.

Each job caches its partition's output (the downstream stage reads it from
there) and returns the output's size. All jobs carry `<tag>-up`, so the ones
still running when the chooser has decided are cancelled together by that tag.
"""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pyspark import RDD, InheritableThread

from spark_sched.jobscope import job_scope


def nbytes(record: Any) -> int:
    """Approximate bytes of one record: exact for bytes/str, summed over tuples, pickled size otherwise."""
    if isinstance(record, (bytes, bytearray, memoryview)):
        return len(record)
    if isinstance(record, str):
        return len(record.encode())
    if isinstance(record, (tuple, list)):
        return sum(nbytes(r) for r in record)
    if isinstance(record, (int, float)):
        return 8
    return len(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))


def _size(records: Iterable[Any]) -> Iterator[int]:
    yield sum(nbytes(r) for r in records)


@dataclass
class Finished:
    position: int
    started: float
    finished: float
    size: int


@dataclass
class UpstreamJobs:
    """M one-partition jobs over a cached upstream RDD, launched at once from their own threads."""

    rdd: RDD
    tags: list[str]
    cancel_tag: str
    started: float = 0.0
    m: int = 0
    done: dict[int, Finished] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    threads: list[InheritableThread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def launch(self) -> None:
        self.started = time.monotonic()
        self.m = self.rdd.getNumPartitions()
        for position in range(self.m):
            thread = InheritableThread(target=self._run, args=(position,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _run(self, position: int) -> None:
        sc = self.rdd.context
        try:
            with job_scope(sc, tags=(*self.tags, self.cancel_tag, f"{self.cancel_tag}={position}")):
                began = time.monotonic()
                size = sc.runJob(self.rdd, _size, partitions=[position])[0]
        except Exception as exc:  # noqa: BLE001 - a cancelled or failed job: recorded, decided on by the caller
            with self.lock:
                self.failed[position] = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            return
        with self.lock:
            self.done[position] = Finished(position, began, time.monotonic(), int(size))

    def snapshot(self) -> tuple[dict[int, Finished], dict[int, str]]:
        with self.lock:
            return dict(self.done), dict(self.failed)

    def running(self) -> int:
        done, failed = self.snapshot()
        return self.m - len(done) - len(failed)

    def cancel(self) -> float:
        """Cancel the jobs still running; returns when the cancel was sent (monotonic seconds)."""
        if self.running() > 0:
            self.rdd.context.cancelJobsWithTag(self.cancel_tag)
        return time.monotonic()

    def join(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
