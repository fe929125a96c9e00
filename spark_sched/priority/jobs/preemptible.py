"""Low-priority jobs the controller may preempt: Python work in waves with saved progress, and JVM-only actions.

`PreemptibleJob` runs a batch job over its partitions in waves. Each task
commits its partition's output once (write a temporary file, then hard-link it
to its final name: a second commit of the same partition finds the name taken
and is dropped, as an output committer would drop it), and when asked to stop
it saves how far it got inside the partition, so a requeued wave reruns only
what was not yet done. Output and progress live in `work_dir`, which must be
storage every executor reaches (as any Spark file output must be).

`ActionJob` wraps a JVM-only action (a DataFrame query): Spark stops those
tasks within ~0.1 s of a cancel, and rerunning the same DataFrame lets Spark
skip stages whose shuffle output it still holds.
"""

from __future__ import annotations

import functools
import itertools
import os
import pickle
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_sched.priority.classes import LOW, PriorityClass, tagged
from spark_sched.priority.jobs.cooperative import SignalHandle

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

REFILL_POLL_S = 0.02  # how often a running wave looks for stopped partitions to restart
Source = Callable[[int], Iterable[Any]]
Process = Callable[[Any], Iterable[Any]]


class PartitionStore:
    """Per-partition committed output and saved progress, as files in one directory."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)

    def _part(self, partition: int) -> Path:
        return self.dir / f"part-{partition:05d}.pkl"

    def _progress(self, partition: int) -> Path:
        return self.dir / f"progress-{partition:05d}.pkl"

    def _write_temp(self, payload: Any) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(payload, f)
        return tmp

    def committed(self, partition: int) -> bool:
        return self._part(partition).exists()

    def commit(self, partition: int, rows: list[Any]) -> bool:
        """Commit a partition's rows once; False when it was already committed (the duplicate is dropped)."""
        tmp = self._write_temp(rows)
        try:
            os.link(tmp, self._part(partition))
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)
            self._progress(partition).unlink(missing_ok=True)

    def save_progress(self, partition: int, offset: int, rows: list[Any]) -> None:
        """Remember that `offset` records of the partition are done, producing `rows` so far."""
        os.replace(self._write_temp((offset, rows)), self._progress(partition))

    def progress(self, partition: int) -> tuple[int, list[Any]]:
        try:
            with open(self._progress(partition), "rb") as f:
                offset, rows = pickle.load(f)
                return int(offset), list(rows)
        except FileNotFoundError:
            return 0, []

    def forget_progress(self) -> None:
        for path in self.dir.glob("progress-*.pkl"):
            path.unlink(missing_ok=True)

    def pending(self, partitions: int) -> list[int]:
        return [p for p in range(partitions) if not self.committed(p)]

    def rows(self, partitions: int) -> list[Any]:
        """All committed rows in partition order."""
        out: list[Any] = []
        for p in range(partitions):
            with open(self._part(p), "rb") as f:
                out.extend(pickle.load(f))
        return out


@dataclass
class JobState:
    """What the controller and the job share: preemption count, the gate, and the outcome."""

    preemptions: int = 0
    preempted_s: float = 0.0
    preempted_since: float | None = None
    submitted_wall: float = 0.0  # wall clock (s): submitted to the controller, and finished (0: not yet)
    finished_wall: float = 0.0
    running: bool = False
    waves: int = 0
    refills: int = 0  # extra Spark jobs that restarted stopped partitions while the rest of a wave ran on
    duplicates: int = 0
    result: Any = None
    error: BaseException | None = None
    gate: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.gate.set()


class LowJob:
    """Common part of preemptible jobs: identity, class, state, and the wave loop around `_attempt`."""

    cooperative = False
    max_failures = 2

    def __init__(self, job_id: str, cls: PriorityClass = LOW) -> None:
        self.job_id = job_id
        self.cls = cls
        self.state = JobState()
        self.signal: SignalHandle | None = None
        self.keep_progress = True
        self.take_stopped: Callable[[], list[int]] | None = None

    def bind(
        self, signal: SignalHandle | None, keep_progress: bool, take_stopped: Callable[[], list[int]] | None = None
    ) -> None:
        """Called by the controller: the signal to poll (None: no cooperative stop), the policy's requeue mode,
        and where to learn which partitions stopped (so they can restart before the rest of their wave ends)."""
        self.signal = signal
        self.keep_progress = keep_progress
        self.take_stopped = take_stopped

    def run(self, spark: SparkSession) -> Any:
        """Attempt until done: wait while preempted, run, treat a cancel as a preemption, give up after failures."""
        failures = 0
        attempt = 0
        while True:
            self.state.gate.wait()
            self.state.running = True
            preemptions_before = self.state.preemptions
            try:
                with tagged(spark.sparkContext, self.cls, self.job_id, attempt):
                    done = self._attempt(spark)
            except Exception as exc:  # noqa: BLE001 - a cancel and a failure both land here; the count tells them apart
                if self.state.preemptions == preemptions_before:
                    failures += 1
                    if failures > self.max_failures:
                        self.state.error = exc
                        raise
                done = False
            finally:
                self.state.running = False
                attempt += 1
                self.state.waves = attempt
            if done:
                return self.state.result

    def _attempt(self, spark: SparkSession) -> bool:
        raise NotImplementedError


class PreemptibleJob(LowJob):
    """Python work over `partitions` partitions: `process(record)` for each record of `source(partition)`.

    `source` must be deterministic (a requeued partition skips the records it already
    did); `process` should take a few milliseconds at most per record, since the stop
    signal is checked between records.
    """

    cooperative = True

    def __init__(
        self,
        job_id: str,
        partitions: int,
        source: Source,
        process: Process,
        work_dir: str | os.PathLike[str],
        cls: PriorityClass = LOW,
    ) -> None:
        super().__init__(job_id, cls)
        self.partitions = partitions
        self.source = source
        self.process = process
        self.store = PartitionStore(Path(work_dir) / job_id)

    def _attempt(self, spark: SparkSession) -> bool:
        if not self.keep_progress:
            self.store.forget_progress()
        todo = self.store.pending(self.partitions)
        if todo and self.signal is not None and self.take_stopped is not None:
            self.take_stopped()  # stops of earlier waves: those partitions are in `todo` already
            self._wave_with_refills(spark, todo)
        elif todo:
            self._wave(spark, todo)
        if self.store.pending(self.partitions):
            return False
        self.state.result = self.store.rows(self.partitions)
        return True


    def _wave(self, spark: SparkSession, partitions: list[int]) -> None:
        """One Spark job over `partitions`, one task each; returns when every task ended (done or stopped)."""
        task = _partition_task(self.store.dir, self.source, self.process, self.signal, self.keep_progress)
        rdd = spark.sparkContext.parallelize(partitions, len(partitions))
        statuses = rdd.mapPartitions(task).collect()
        self.state.duplicates += sum(1 for s in statuses if s[1] == "duplicate")

    def _wave_with_refills(self, spark: SparkSession, todo: list[int]) -> None:
        """A wave, plus a refill job for each batch of partitions stopped while the rest of the wave runs on.

        A wave's Spark job ends only when its last task does, so a partition stopped for HIGH
        work would otherwise wait for its slowest sibling while its slot sits idle. Once the
        job may run again (its gate is open), the stopped partitions restart at once, from
        their saved progress, in a job of their own with the same tags (threads inherit
        them), so the controller stops them like any other of the job's tasks.
        """
        waves = [_WaveThread(functools.partial(self._wave, spark, todo))]
        while alive := [w for w in waves if w.is_alive()]:
            alive[0].join(REFILL_POLL_S)
            if self.state.gate.is_set() and self.take_stopped is not None:
                stopped = self.take_stopped()
                if stopped:
                    self.state.refills += 1
                    waves.append(_WaveThread(functools.partial(self._wave, spark, stopped)))
        for wave in waves:
            wave.join()
        errors = [w.error for w in waves if w.error is not None]
        if errors:
            raise errors[0]


class _WaveThread:
    """A wave's Spark job in an InheritableThread (it carries the job's pool and tags); keeps its error."""

    def __init__(self, body: Callable[[], None]) -> None:
        from pyspark import InheritableThread

        self.error: BaseException | None = None

        def run() -> None:
            try:
                body()
            except BaseException as exc:  # noqa: BLE001 - handed to the job's loop, which decides
                self.error = exc

        self._thread = InheritableThread(target=run, daemon=True)
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)


def _partition_task(
    directory: Path, source: Source, process: Process, signal: SignalHandle | None, keep_progress: bool
) -> Callable[[Iterator[int]], Iterator[tuple[int, str, int]]]:
    """The executor side of one wave: resume each partition from its saved offset, stop when told to."""

    def run(partitions: Iterator[int]) -> Iterator[tuple[int, str, int]]:
        store = PartitionStore(directory)
        for p in partitions:
            if store.committed(p):
                yield p, "skipped", 0
                continue
            offset, rows = store.progress(p) if keep_progress else (0, [])
            should_stop = signal.probe(p) if signal is not None else _never
            position = offset
            stopped = False
            for record in itertools.islice(source(p), offset, None):
                if should_stop():
                    stopped = True
                    break
                rows.extend(process(record))
                position += 1
            # saved before the driver hears `done`: a refill may start this partition again at once
            if stopped:
                store.save_progress(p, position, rows)
                status = "stopped"
            else:
                status = "committed" if store.commit(p, rows) else "duplicate"
            if signal is not None:
                signal.done(p)
            yield p, status, position

    return run


def _never() -> bool:
    return False


class ActionJob(LowJob):
    """A JVM-only action (e.g. `lambda spark: df.groupBy(...).agg(...).collect()`), preempted by cancel."""

    def __init__(self, job_id: str, action: Callable[[SparkSession], Any], cls: PriorityClass = LOW) -> None:
        super().__init__(job_id, cls)
        self.action = action

    def _attempt(self, spark: SparkSession) -> bool:
        self.state.result = self.action(spark)
        return True


def wall_clock_ms() -> float:
    return time.time() * 1000.0
