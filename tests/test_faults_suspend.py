"""An executor lost while its LOW tasks are suspended in place: Spark recomputes them; nothing is lost or doubled.

A 2-worker standalone cluster (2 slots each, the controller's cap: 2 unsuspended
tasks), a LOW Python job of 2 partitions suspended by a HIGH job that keeps both
cores busy, then `kill -9` of the worker (by the pid the cluster recorded) that
runs a suspended task. Its in-memory progress dies with it; Spark reruns the
task elsewhere, and the job's output holds every record exactly once.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from helpers import cluster_fair_session, wait_until
from pyspark import cloudpickle

from spark_sched.cluster import ClusterState, LocalCluster, process_alive
from spark_sched.priority import PreemptibleJob, PriorityController
from spark_sched.priority.policy.guards import NoGuard

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # tests/ is not importable on the workers

pytestmark = [pytest.mark.faults, pytest.mark.cluster, pytest.mark.timeout(900)]

RECORDS = 600  # 6 s per partition at 10 ms a record


def _source(p: int) -> range:
    return range(p * RECORDS, (p + 1) * RECORDS)


def _step(x: int) -> list[int]:
    time.sleep(0.01)
    return [x]


def _spin(_: int) -> int:
    start = time.time()
    while time.time() - start < 6.0:
        sum(i * i for i in range(2000))
    return 1


@pytest.fixture(scope="module")
def cluster_2x2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ClusterState]]:
    """2 workers x 2 slots; yields the state dir a session needs (the cluster is `<state dir>/cluster`)."""
    state_dir = tmp_path_factory.mktemp("suspend-state")
    cluster = LocalCluster(state_dir / "cluster")
    try:
        yield state_dir, cluster.up(workers=2, cores=2, memory="1g")
    finally:
        cluster.down()


def test_executor_lost_while_tasks_are_suspended_loses_nothing(
    cluster_2x2: tuple[Path, ClusterState], tmp_path: Path
) -> None:
    state_dir, state = cluster_2x2
    spark = cluster_fair_session(state_dir, state.master, "faults-suspend", slots=4)
    try:
        with PriorityController(spark, "suspend", guard=NoGuard(), cores=2) as controller:
            job = controller.submit(PreemptibleJob("lost", 2, _source, _step, tmp_path / "out"))
            wait_until(lambda: len(controller.signal.running("lost")) == 2, "both partitions to poll", 120)
            high = controller.run_high("hog", lambda s: s.sparkContext.parallelize(range(2), 2).map(_spin).sum())
            suspended = wait_until(controller.signal.suspended, "a LOW task suspended", 60)
            victim = next(w for w in state.workers if w.host == suspended[0].host)
            os.kill(victim.pid, signal.SIGKILL)
            wait_until(lambda: not process_alive(victim.pid), f"worker pid {victim.pid} to die", 30)
            with suppress(ChildProcessError):
                os.waitpid(victim.pid, os.WNOHANG)
            assert high.done.wait(300) and high.error is None, high.error
            finished = controller.wait([job], timeout=120)
            board = controller.signal.board
            assert finished, (f"the LOW job did not finish after the loss: polling {controller.signal.running()}, "
                              f"pauses {board.pauses}, stops {board.stops}, stats {controller.stats.suspensions}/"
                              f"{controller.stats.resumes}, job {job.state}")
        assert job.state.error is None, job.state.error
        assert sorted(job.state.result) == list(range(2 * RECORDS)), "records lost or doubled"
        assert job.state.duplicates == 0
        print(f"suspend/executor loss: killed {victim.host} with {len(suspended)} task(s) suspended; "
              f"{controller.stats.suspensions} suspensions, {controller.stats.resumes} resumes")
    finally:
        spark.stop()
