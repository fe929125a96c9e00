"""KMN's extra upstream tasks on real Spark (local[2]): one job of M tasks, the first K kept, the rest cancelled.

Two cached blocks: block 0's task is quick, block 1's takes 2 s (about as long as
Spark's kill of a Python task, so it may even finish after the cancel: it must
not be counted then either).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from helpers import wait_until
from pyspark import StorageLevel
from pyspark.sql import SparkSession

from spark_sched import any_k_of_n
from spark_sched.sampling.completions import Completions
from spark_sched.sampling.cut import cut_handle
from spark_sched.sampling.snapshot import snapshot

SLOW_S = 2.0


def _partials() -> Callable[[Iterator[int]], list[int]]:
    def partial(rows: Iterator[int]) -> list[int]:  # nested: cloudpickle ships it by value (workers lack tests/)
        rows = list(rows)
        end = time.monotonic() + (SLOW_S if rows and rows[0] >= 10 else 0.05)  # block 1 holds 10..19
        while time.monotonic() < end:
            time.sleep(0.01)
        return [sum(rows)]

    return partial


_partial = _partials()

ROW_S = 0.4  # block 1's rows, in the test of the cut: 10 of them, 4 s in all


def _row_by_row() -> Callable[[Iterator[int]], list[int]]:
    def partial(rows: Iterator[int]) -> list[int]:  # computes as it reads: the cut can stop it between rows
        total = 0
        for row in rows:
            total += row
            time.sleep(ROW_S if row >= 10 else 0.001)
        return [total]

    return partial


@pytest.fixture(autouse=True)
def free_slots(spark: SparkSession) -> None:
    """Every slot free first: a task the previous test cancelled may still be ending, and decisions count slots."""
    slots = spark.sparkContext.defaultParallelism
    wait_until(lambda: sum(snapshot(spark).free.values()) >= slots, f"all {slots} slots free")


@pytest.fixture
def two_blocks(spark: SparkSession) -> Iterator[object]:
    data = spark.sparkContext.parallelize(range(20), 2).persist(StorageLevel.MEMORY_ONLY)
    data.count()
    try:
        yield data
    finally:
        data.unpersist()


def _jobs(spark: SparkSession, tag: str) -> list[int]:
    return [int(i) for i in spark.sparkContext._jsc.sc().statusTracker().getJobIdsForTag(tag)]


def _active_tasks(spark: SparkSession, tag: str) -> int:
    tracker = spark.sparkContext.statusTracker()
    stages = [s for j in _jobs(spark, tag) for s in (tracker.getJobInfo(j).stageIds if tracker.getJobInfo(j) else [])]
    return sum(info.numActiveTasks for s in stages if (info := tracker.getStageInfo(s)) is not None)


def test_a_cut_task_stops_at_its_next_row_not_when_spark_s_kill_reaches_it(
    spark: SparkSession, two_blocks: object
) -> None:
    """Spark ends a cancelled Python task 2-4 s after the cancel (its monitor, then killTimeout); the cut, at a row."""
    handle = cut_handle(spark.sparkContext, "spark-sched-kmn-cut-up")
    job = Completions(two_blocks, [0, 1], _row_by_row(), ["spark-sched-kmn-cut"], "spark-sched-kmn-cut-up",
                      cut_by=handle)
    job.start()
    assert [c.partition for c in job.wait(1)] == [0]
    wait_until(lambda: _active_tasks(spark, "spark-sched-kmn-cut-up") == 1, "block 1's task to run")
    job.cancel()
    cancelled = time.monotonic()
    wait_until(lambda: _active_tasks(spark, "spark-sched-kmn-cut-up") == 0, "the cut task to end")
    ended_after = time.monotonic() - cancelled
    job.join()
    assert list(job.done) == [0]  # the cut task's partial sum was never counted
    assert ended_after < 1.5, f"the cut task ran {ended_after:.1f} s after the cut (its rows had about 3.5 s left)"


def test_one_job_of_m_tasks_reports_each_as_it_finishes_and_cancels_the_rest(
    spark: SparkSession, two_blocks: object
) -> None:
    job = Completions(two_blocks, [0, 1], _partial, ["spark-sched-kmn-test"], "spark-sched-kmn-test-up")
    job.start()
    first = job.wait(1)
    assert [(c.partition, c.output) for c in first] == [(0, [sum(range(10))])]
    assert first[0].finished - job.started < SLOW_S  # reported as it finished, not when the job ended
    job.cancel()
    job.join()
    assert job.ended and job.error is not None  # runJob ended by the cancel
    wait_until(lambda: _active_tasks(spark, "spark-sched-kmn-test-up") == 0, "the cancelled task to end")
    assert list(job.done) == [0]  # the cancelled task was never counted, even if it finished
    assert len(_jobs(spark, "spark-sched-kmn-test-up")) == 1  # one job of M tasks, not M jobs


def test_partials_path_keeps_k_outputs_exactly_once_with_its_phase_times(
    spark: SparkSession, two_blocks: object
) -> None:
    started = time.monotonic()
    run = any_k_of_n(two_blocks, 1, _partial, extra=1.0, extra_tasks="always", spark=spark)
    wall_ms = (time.monotonic() - started) * 1000
    assert run.extra_tasks and run.chosen == (0, 1)
    assert run.used == (0,) and run.cancelled == (1,)
    assert run.result == [sum(range(10))]  # block 0's partial once; nothing of block 1
    quick, cut = run.task_times  # the kept task's time in fn; the cancelled one's as "at least this long"
    assert quick.finished and 0.05 <= quick.seconds < SLOW_S and not cut.finished and cut.seconds >= quick.seconds
    assert set(run.timings) == {"decide_ms", "upstream_ms", "choose_ms", "cancel_ms"}
    assert all(v >= 0 for v in run.timings.values()) and sum(run.timings.values()) <= wall_ms
    assert run.timings["upstream_ms"] < SLOW_S * 1000
    assert len(_jobs(spark, f"{run.tag}-up")) == 1 and len(_jobs(spark, run.tag)) == 1  # no second job


def test_downstream_path_runs_over_the_k_kept_outputs(spark: SparkSession, two_blocks: object) -> None:
    run = any_k_of_n(
        two_blocks,
        1,
        lambda rows: [(0, _partial(rows)[0])],
        extra=1.0,
        extra_tasks="always",
        spark=spark,
        downstream=lambda rdd: rdd.reduceByKey(lambda a, b: a + b).collect(),
    )
    assert run.used == (0,) and run.result == [(0, sum(range(10)))]
    assert {"upstream_ms", "choose_ms", "cancel_ms", "downstream_ms"} <= set(run.timings)


def test_single_pipeline_when_m_does_not_fit_the_free_slots(spark: SparkSession) -> None:
    data = spark.sparkContext.parallelize(range(40), 4).persist(StorageLevel.MEMORY_ONLY)
    data.count()
    try:
        run = any_k_of_n(data, 2, lambda rows: [sum(rows)], extra=0.5, spark=spark)  # M = 3 > 2 slots of local[2]
        assert not run.extra_tasks and "M = 3 does not fit" in run.decision.reason
        assert len(run.chosen) == 2 and run.used == run.chosen
        assert sorted(run.result) == sorted(sum(range(10 * p, 10 * p + 10)) for p in run.chosen)
        assert set(run.timings) == {"decide_ms", "pipeline_ms"}
        assert len(run.task_times) == 2 and all(t.finished for t in run.task_times)
        assert len(_jobs(spark, run.tag)) == 1
    finally:
        data.unpersist()


def test_single_pipeline_when_the_gain_is_below_the_overhead(spark: SparkSession, two_blocks: object) -> None:
    # M = 2 fits local[2]'s two slots, but one host in one rack: no transfer for a choice to save
    run = any_k_of_n(
        two_blocks,
        1,
        lambda rows: [(0, sum(rows))],
        extra=1.0,
        spark=spark,
        downstream=lambda rdd: rdd.reduceByKey(lambda a, b: a + b).collect(),
    )
    assert not run.extra_tasks and run.decision.local == 2 and run.decision.gain_s == 0.0
    assert "gain 0 ms + hedge 0 ms <= overhead" in run.decision.reason
    assert run.result == [(0, sum(range(10 * run.chosen[0], 10 * run.chosen[0] + 10)))]
    assert set(run.timings) == {"decide_ms", "pipeline_ms"}


def test_auto_hedges_once_the_application_has_seen_a_straggler(spark: SparkSession) -> None:
    # 8 blocks, block 0's task takes 3 s: after one run over all 8, keeping the first 1 of 2 saves ~0.33 s expected
    def upstream(rows: Iterator[int]) -> list[int]:
        rows = list(rows)
        end = time.monotonic() + (3.0 if rows and rows[0] == 0 else 0.02)
        while time.monotonic() < end:
            time.sleep(0.01)
        return [sum(rows)]

    data = spark.sparkContext.parallelize(range(80), 8).persist(StorageLevel.MEMORY_ONLY)
    data.count()
    try:
        seen = any_k_of_n(data, 8, upstream, extra_tasks="never", spark=spark)
        assert len(seen.task_times) == 8 and max(t.seconds for t in seen.task_times) >= 3.0
        wait_until(lambda: sum(snapshot(spark).free.values()) >= 2, "both slots free")
        run = any_k_of_n(data, 1, upstream, extra=1.0, spark=spark)
        assert run.decision.gain_s == 0.0 and run.decision.hedge_s > 0.25  # partials: no transfer, only the hedge
        assert run.extra_tasks and "hedge" in run.decision.reason and len(run.chosen) == 2
        if 0 in run.chosen:  # the straggler, when chosen, is the one cut
            assert run.cancelled == (0,) and run.used != (0,)
    finally:
        data.unpersist()
