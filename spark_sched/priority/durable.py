"""A durable queue of LOW jobs: SQLite in WAL mode in the state directory, so a driver restart loses nothing.

A job is written to the queue (and committed) before `submit` returns: once
acknowledged, it survives the driver being stopped (SIGTERM) or killed
(SIGKILL). The queue stores what is needed to rebuild a job -- a kind and a
JSON spec -- never a closure; `KINDS` maps each kind to the function that builds
the `LowJob`. A restarted driver calls `DurableRunner.resume()`: every job not
yet done is submitted again with the same id and work directory, so a
`PreemptibleJob` finds its committed partitions (and saved progress) and
computes only the rest.

"Done" is a conditional update (`WHERE state != 'done'`): however many times a
job is resubmitted, it is recorded complete once, and `completions` counts how
many runs reached the end (a test asserts it is 1). WAL with `synchronous=NORMAL`
survives the process dying at any point (the WAL is in the OS's page cache);
`synchronous="FULL"` also survives power loss, at an fsync per write.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_sched.errors import SparkSchedError
from spark_sched.priority.classes import LOW, PriorityClass
from spark_sched.priority.preemptible import ActionJob, LowJob, PreemptibleJob

if TYPE_CHECKING:
    from spark_sched.priority.controller import PriorityController

QUEUE_FILE = "queue.sqlite"
STATES = ("pending", "running", "preempted", "done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    spec TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    starts INTEGER NOT NULL DEFAULT 0,
    preemptions INTEGER NOT NULL DEFAULT 0,
    completions INTEGER NOT NULL DEFAULT 0,
    checksum TEXT,
    error TEXT,
    enqueued_at REAL NOT NULL,
    done_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_state_seq ON jobs (state, seq);
"""


class QueueError(SparkSchedError):
    """A durable queue that cannot be opened or a job it cannot rebuild."""


@dataclass(frozen=True)
class QueuedJob:
    """One row of the queue."""

    job_id: str
    kind: str
    spec: dict[str, Any]
    state: str
    starts: int
    preemptions: int
    completions: int
    checksum: str | None


class DurableQueue:
    """The jobs table in `<state_dir>/queue.sqlite` (WAL); safe to share between threads."""

    def __init__(self, state_dir: str | Path, synchronous: str = "NORMAL") -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise QueueError(f"durable queue: synchronous = {synchronous!r} is not valid; allowed: NORMAL, FULL")
        self.path = Path(state_dir) / QUEUE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise QueueError(f"{self.path}: not a spark-sched queue ({exc}); move it away or pick another state dir")\
                from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def journal_mode(self) -> str:
        with self._lock:
            return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    # -- writes ------------------------------------------------------------------------------------------------

    def enqueue(self, job_id: str, kind: str, spec: dict[str, Any]) -> bool:
        """Record a job (committed when this returns); False when that id was already queued (nothing changes)."""
        if kind not in KINDS:
            raise QueueError(f"job {job_id!r}: kind = {kind!r} is not valid; allowed: {', '.join(sorted(KINDS))}")
        row = (job_id, kind, json.dumps(spec, sort_keys=True), time.time())
        return self._write("INSERT OR IGNORE INTO jobs (job_id, kind, spec, enqueued_at) VALUES (?, ?, ?, ?)", row) == 1

    def mark_running(self, job_id: str) -> None:
        self._write("UPDATE jobs SET state='running', starts=starts+1 WHERE job_id=? AND state!='done'", (job_id,))

    def mark_preempted(self, job_id: str) -> None:
        self._write("UPDATE jobs SET state='preempted', preemptions=preemptions+1 WHERE job_id=? AND state='running'",
                    (job_id,))

    def mark_resumed(self, job_id: str) -> None:
        self._write("UPDATE jobs SET state='running' WHERE job_id=? AND state='preempted'", (job_id,))

    def complete(self, job_id: str, checksum: str) -> bool:
        """Record the job done; True only for the first completion (a second one is counted, not recorded)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("UPDATE jobs SET completions=completions+1 WHERE job_id=?", (job_id,))
                first = self._db.execute(
                    "UPDATE jobs SET state='done', checksum=?, done_at=? WHERE job_id=? AND state!='done'",
                    (checksum, time.time(), job_id),
                ).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return first == 1

    def requeue_unfinished(self) -> list[str]:
        """Jobs left running or preempted by a driver that stopped: back to pending; returns their ids."""
        ids = [j.job_id for j in self.unfinished() if j.state != "pending"]
        for job_id in ids:
            self._write("UPDATE jobs SET state='pending' WHERE job_id=? AND state IN ('running', 'preempted')",
                        (job_id,))
        return ids

    def fail(self, job_id: str, error: str) -> None:
        self._write("UPDATE jobs SET state='failed', error=? WHERE job_id=? AND state!='done'", (error[:500], job_id))

    # -- reads -------------------------------------------------------------------------------------------------

    def _rows(self, where: str, args: tuple[Any, ...] = (), limit: int | None = None) -> list[QueuedJob]:
        sql = ("SELECT job_id, kind, spec, state, starts, preemptions, completions, checksum FROM jobs "
               f"WHERE {where} ORDER BY seq")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [QueuedJob(r[0], r[1], json.loads(r[2]), *r[3:]) for r in rows]

    def get(self, job_id: str) -> QueuedJob | None:
        found = self._rows("job_id=?", (job_id,))
        return found[0] if found else None

    def all(self) -> list[QueuedJob]:
        return self._rows("1=1")

    def next_pending(self, limit: int) -> list[QueuedJob]:
        """The oldest `limit` pending jobs (an index on (state, seq): cost does not grow with the queue)."""
        return self._rows("state='pending'", (), limit)

    def unfinished(self) -> list[QueuedJob]:
        """Jobs a restarted driver must run again: pending, running or preempted when the last driver stopped."""
        return self._rows("state IN ('pending', 'running', 'preempted')")

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        return {state: 0 for state in STATES} | {str(s): int(n) for s, n in rows}


# -- job kinds a queue can rebuild -------------------------------------------------------------------------------


def stable_features(x: int) -> list[tuple[int, int]]:
    """A feature of record `x` that depends on `x` only (no per-process hash seed), so runs can be compared."""
    digest = hashlib.sha256(str(x).encode()).digest()
    return [(x, sum(digest[:8]))]


def _slow_features(ms: float, trace: str | None) -> Callable[[int], list[tuple[int, int]]]:
    """`stable_features` taking `ms` milliseconds per record (Python work the controller must stop cooperatively).

    With `trace` (a file path), each record computed is appended to it: how tests
    show that a restarted driver does not recompute committed partitions.
    """

    def process(x: int) -> list[tuple[int, int]]:
        time.sleep(ms / 1000.0)
        if trace is not None:
            with open(trace, "a") as f:
                f.write(f"{x}\n")
        return stable_features(x)

    return process


def _records_of(per_partition: int) -> Callable[[int], range]:
    def source(p: int) -> range:
        return range(p * per_partition, (p + 1) * per_partition)

    return source


def checksum(rows: Any) -> str:
    """A job's output fingerprint: sha256 of its rows in order."""
    return hashlib.sha256(pickle.dumps(rows, protocol=4)).hexdigest()


def expected_features(spec: dict[str, Any]) -> str:
    """The checksum a `features` job of `spec` must produce, computed without Spark."""
    source = _records_of(int(spec["records"]))
    rows = [r for p in range(int(spec["partitions"])) for x in source(p) for r in stable_features(x)]
    return checksum(rows)


def _features(job_id: str, spec: dict[str, Any], work: Path, cls: PriorityClass) -> LowJob:
    trace = str(Path(spec["trace"]) / f"{job_id}.log") if spec.get("trace") else None
    process = _slow_features(float(spec.get("ms", 5.0)), trace)
    return PreemptibleJob(job_id, int(spec["partitions"]), _records_of(int(spec["records"])), process, work, cls=cls)


def _range_sum(job_id: str, spec: dict[str, Any], work: Path, cls: PriorityClass) -> LowJob:
    """A tiny JVM-only job: the sum of `range(n)` over `partitions` partitions."""
    n, parts = int(spec["n"]), int(spec.get("partitions", 1))
    return ActionJob(job_id, lambda s: s.range(n, numPartitions=parts).groupBy().sum("id").collect()[0][0], cls=cls)


KINDS: dict[str, Callable[[str, dict[str, Any], Path, PriorityClass], LowJob]] = {
    "features": _features,
    "range_sum": _range_sum,
}


# -- running queued jobs under the controller --------------------------------------------------------------------


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
        build = KINDS.get(queued.kind)
        if build is None:
            self.queue.fail(queued.job_id, f"unknown kind {queued.kind!r}")
            return
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

