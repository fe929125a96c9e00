"""The controller's one-call scheduler reader agrees with a Py4J walk of Spark's pools, on real Spark."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import fair_session, wait_until
from pyspark import cloudpickle
from pyspark.sql import SparkSession

from spark_sched import load_settings
from spark_sched.priority.classes import DEFAULT_CLASSES
from spark_sched.priority.runtime.snapshot import PoolLoad, SchedulerReader, SchedulerSnapshot, parse

TASKS = 5
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # tests/ is not importable on the workers


def _wait_for_file(path: str, x: int) -> int:
    """A task that holds its slot until the test creates `path` (a sleep-based workload, not a wait)."""
    while not os.path.exists(path):
        time.sleep(0.05)
    return x


@pytest.fixture
def fair_spark(state_dir: Path, tmp_path: Path) -> Iterator[SparkSession]:
    session = fair_session(state_dir, tmp_path / "pools", "spark-sched-tests-snapshot", DEFAULT_CLASSES)
    yield session
    session.stop()


def _walk(sc: object) -> dict[str, PoolLoad]:
    """The same figures read field by field over Py4J (how the controller read them before)."""
    jsc = sc._jsc.sc()
    pools, out = jsc.getAllPools(), {}
    for i in range(pools.size()):
        pool, waiting = pools.apply(i), 0
        queue = pool.schedulableQueue().iterator()
        while queue.hasNext():
            tsm = queue.next()
            if not tsm.isZombie():
                waiting += max(0, tsm.numTasks() - tsm.tasksSuccessful() - tsm.runningTasks())
        out[pool.name()] = PoolLoad(pool.runningTasks(), waiting)
    return out


def _blocked_job(spark: SparkSession, release: Path) -> threading.Thread:
    """A LOW job of TASKS tasks that each wait until `release` exists: a stable scheduler state to read."""
    def tasks() -> None:
        spark.sparkContext.setLocalProperty("spark.scheduler.pool", "low")
        path = str(release)
        spark.sparkContext.parallelize(range(TASKS), TASKS).map(lambda x: _wait_for_file(path, x)).count()

    thread = threading.Thread(target=tasks, daemon=True)
    thread.start()
    return thread


def _until(reader: SchedulerReader, ok: Callable[[SchedulerSnapshot], bool]) -> SchedulerSnapshot:
    """The first snapshot for which `ok` holds (waited for, up to 60 s)."""

    def satisfied() -> SchedulerSnapshot | None:
        snap = reader.read()
        return snap if ok(snap) else None

    return wait_until(satisfied, "the scheduler state")


def test_reader_matches_a_py4j_walk_while_tasks_run_and_wait(fair_spark: SparkSession, tmp_path: Path) -> None:
    reader = SchedulerReader(fair_spark.sparkContext)
    release = tmp_path / "release"
    job = _blocked_job(fair_spark, release)
    try:
        snap = _until(reader, lambda s: s.pools.get("low", PoolLoad(0, 0)).running == 2)
        assert snap.pools["low"] == PoolLoad(2, TASKS - 2)
        assert snap.pools["high"] == PoolLoad(0, 0)
        assert snap.slots == 2 and snap.running() == 2 and snap.waiting({"low"}) == TASKS - 2
        assert reader.read().pools == _walk(fair_spark.sparkContext)
        assert set(snap.memory_pressure) and all(0.0 <= p < 1.0 for p in snap.memory_pressure.values())
    finally:
        release.touch()
        job.join(120)
    assert not job.is_alive()
    done = _until(reader, lambda s: s.running() == 0 and s.waiting({"low", "high"}) == 0)
    assert done.pools == _walk(fair_spark.sparkContext)


def test_reader_in_fifo_mode_counts_the_root_task_sets(make_spark: Any, tmp_path: Path) -> None:
    conf = dict(load_settings().spark_conf)
    conf.update({"spark.scheduler.mode": "FIFO"})
    conf.pop("spark.scheduler.allocation.file", None)
    spark = make_spark(app_name="spark-sched-tests-snapshot-fifo", spark_conf=conf)
    assert spark.sparkContext.getConf().get("spark.scheduler.mode") == "FIFO"
    reader = SchedulerReader(spark.sparkContext)
    release = tmp_path / "release"
    job = _blocked_job(spark, release)
    try:
        snap = _until(reader, lambda s: s.running() == 2)
        assert snap.waiting(set(snap.pools)) == TASKS - 2
    finally:
        release.touch()
        job.join(120)


def test_parse_keeps_a_pool_name_with_a_tab_and_the_worst_memory_per_host() -> None:
    snap = parse("P\tod\td\t3\t4\nS\tslots\t6\t0\nE\th1\t10\t100\nE\th1\t50\t100\nE\th2\t0\t0\n")
    assert snap.pools == {"od\td": PoolLoad(3, 4)} and snap.slots == 6
    assert snap.memory_pressure == {"h1": 0.5, "h2": 0.0}
