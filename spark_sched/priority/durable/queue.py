"""A durable queue of LOW jobs: SQLite in WAL mode in the state directory, so a driver restart loses nothing.

A job is written to the queue (and committed) before `submit` returns: once
acknowledged, it survives the driver being stopped (SIGTERM) or killed
(SIGKILL). The queue stores what is needed to rebuild a job -- a kind and a
JSON spec -- never a closure; a registry of job kinds (`kinds.JOB_KINDS`, filled
by whoever assembles the application, e.g. `spark_sched.workloads`) maps each
kind to the function that builds the `LowJob`. A restarted driver calls
`DurableRunner.resume()` (`runner`): every job not yet done is submitted again
with the same id and work directory, so a `PreemptibleJob` finds its committed
partitions (and saved progress) and computes only the rest.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spark_sched.errors import SparkSchedError
from spark_sched.priority.durable.kinds import JOB_KINDS, JobBuilder
from spark_sched.registry import Registry

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

    def __init__(self, state_dir: str | Path, synchronous: str = "NORMAL",
                 kinds: Registry[JobBuilder] = JOB_KINDS) -> None:
        self.kinds = kinds  # the job kinds this queue accepts and its runner rebuilds
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
        if kind not in self.kinds:
            allowed = ", ".join(sorted(self.kinds)) or "none registered"
            raise QueueError(f"job {job_id!r}: kind = {kind!r} is not valid; allowed: {allowed}")
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


def checksum(rows: Any) -> str:
    """A job's output fingerprint, as the queue records it: sha256 of its rows in order."""
    return hashlib.sha256(pickle.dumps(rows, protocol=4)).hexdigest()
