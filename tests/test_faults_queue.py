"""The durable queue under the fault tests: written before acknowledged, done once, resumable, clear errors.

These run in `make test` (no `faults` marker): they are quick and need no cluster.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spark_sched.priority import PriorityController
from spark_sched.priority.durable import QUEUE_FILE, DurableQueue, DurableRunner, QueueError
from spark_sched.workloads.job_kinds import expected_features, register_job_kinds

register_job_kinds()  # the durable queue's `features` and `range_sum` jobs

FEATURES = {"partitions": 2, "records": 5, "ms": 1.0}

ENQUEUE_THEN_WAIT = """
import sys, time
from spark_sched.priority.durable import DurableQueue
from spark_sched.workloads import register_job_kinds
register_job_kinds()
q = DurableQueue(sys.argv[1])
q.enqueue("job-1", "features", {"partitions": 1, "records": 1})
print("acked", flush=True)
time.sleep(60)
"""


def test_enqueued_job_survives_kill_9_right_after_ack(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", ENQUEUE_THEN_WAIT, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "acked"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    queue = DurableQueue(tmp_path)
    try:
        assert queue.journal_mode() == "wal"
        assert [(j.job_id, j.state) for j in queue.all()] == [("job-1", "pending")]
    finally:
        queue.close()


def test_enqueue_is_idempotent_and_done_is_recorded_once(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path)
    try:
        assert queue.enqueue("a", "range_sum", {"n": 10})
        assert not queue.enqueue("a", "range_sum", {"n": 99})  # same id: nothing changes
        queue.mark_running("a")
        assert queue.complete("a", "c1")
        assert not queue.complete("a", "c2")  # a second run to the end is counted, never recorded
        job = queue.get("a")
        assert job is not None
        assert (job.state, job.completions, job.checksum, job.spec) == ("done", 2, "c1", {"n": 10})
    finally:
        queue.close()


def test_restart_requeues_running_and_preempted_jobs(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path)
    for job_id in ("p", "r", "x", "d"):
        queue.enqueue(job_id, "range_sum", {"n": 1})
    for job_id in ("r", "x", "d"):
        queue.mark_running(job_id)
    queue.mark_preempted("x")
    queue.complete("d", "c")
    queue.close()
    reopened = DurableQueue(tmp_path)  # the next driver
    try:
        assert sorted(reopened.requeue_unfinished()) == ["r", "x"]
        assert {j.job_id: j.state for j in reopened.all()} == {"p": "pending", "r": "pending", "x": "pending",
                                                               "d": "done"}
    finally:
        reopened.close()


def test_unknown_kind_and_foreign_file_give_one_clear_error(tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path)
    try:
        with pytest.raises(QueueError, match=r"kind = 'shell' is not valid; allowed: features, range_sum"):
            queue.enqueue("j", "shell", {})
    finally:
        queue.close()
    other = tmp_path / "other"
    other.mkdir()
    (other / QUEUE_FILE).write_bytes(b"not a database" * 100)
    with pytest.raises(QueueError, match="not a spark-sched queue"):
        DurableQueue(other)


def test_runner_runs_each_queued_job_once_under_the_controller(spark: SparkSession, tmp_path: Path) -> None:
    queue = DurableQueue(tmp_path)
    controller = PriorityController(spark, "requeue").start()
    runner = DurableRunner(controller, queue, tmp_path / "batch", in_flight=2)
    try:
        for i in range(3):
            runner.submit(f"f{i}", "features", FEATURES)
        runner.submit("s", "range_sum", {"n": 1000, "partitions": 2})
        runner.start()
        assert runner.wait(timeout=120)
    finally:
        runner.stop()
        controller.stop()
    rows = {j.job_id: j for j in queue.all()}
    queue.close()
    want = expected_features(FEATURES)
    assert [(rows[f"f{i}"].state, rows[f"f{i}"].completions, rows[f"f{i}"].checksum) for i in range(3)] == [
        ("done", 1, want)] * 3
    assert rows["s"].state == "done" and rows["s"].completions == 1
