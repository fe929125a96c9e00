"""The priority controller on real Spark: a preemption soak with exact outputs, the guard, errors, clean stop."""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import fair_session, wait_until
from pyspark import cloudpickle
from pyspark.sql import SparkSession

from spark_sched.priority import ActionJob, LowJob, PreemptibleJob, PriorityController
from spark_sched.workloads.unified import UnifiedParams, run_unified

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # tests/ is not importable on the workers

RECORDS = 20
PARTITIONS = 4
LOW_JOBS = 24


def _source(p: int) -> range:
    return range(p * RECORDS, (p + 1) * RECORDS)


def _features(x: int) -> list[tuple[int, str]]:
    time.sleep(0.004)
    return [(x, hashlib.sha1(str(x * 7919).encode()).hexdigest()[:8])]


def _broken(x: int) -> list[tuple[int, str]]:
    if x == 5:
        raise ValueError("feature extraction failed on record 5")
    return _features(x)


def _checksum(rows: list) -> str:
    return hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()


def _jobs(work: Path) -> list[LowJob]:
    jobs: list[LowJob] = [PreemptibleJob(f"py{i}", PARTITIONS, _source, _features, work) for i in range(LOW_JOBS)]
    for i in range(2):
        jobs.append(ActionJob(f"df{i}", lambda s, i=i: s.range(0, 200_000 + i, numPartitions=4).selectExpr(
            "id % 13 AS k", "id").groupBy("k").sum("id").orderBy("k").collect()))
    return jobs


def _result(job: LowJob) -> str:
    rows = job.state.result
    return _checksum([tuple(r) for r in rows])


@pytest.fixture(scope="module")
def fair_spark(state_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """One FAIR local[2] session with the unified application's pools, shared by this module's tests."""
    session = fair_session(state_dir, tmp_path_factory.mktemp("pools"), "spark-sched-tests-priority")
    yield session
    session.stop()


def _high_load(controller: PriorityController, until: Callable[[], bool]) -> Iterator[int]:
    """Short HIGH jobs one after another, a little apart, until `until()` holds."""
    i = 0
    while not until() and i < 400:
        run = controller.run_high(f"hi{i}", lambda s: s.sparkContext.parallelize(range(2), 2).map(
            lambda x: time.sleep(0.03) or x).collect())
        run.done.wait(60)
        assert run.error is None, run.error
        i += 1
        yield i
        time.sleep(0.15)


def test_soak_every_job_completes_once_with_correct_output(fair_spark: SparkSession, tmp_path: Path) -> None:
    with PriorityController(fair_spark, "none") as plain:
        reference = {j.job_id: j for j in map(plain.submit, _jobs(tmp_path / "plain"))}
        assert plain.wait(timeout=300)
    expected = {job_id: _result(job) for job_id, job in reference.items()}

    controller = PriorityController(fair_spark, "requeue", max_preemptions=3).start()
    try:
        jobs = [controller.submit(j) for j in _jobs(tmp_path / "soak")]
        highs = sum(1 for _ in _high_load(controller, lambda: all(j.state.finished.is_set() for j in jobs)))
        assert controller.wait(timeout=300)
        assert controller.alive
    finally:
        controller.stop()
    assert not controller.alive
    stats = controller.stats
    print(f"soak: {stats.preemptions} preemptions, {highs} HIGH jobs, reaction p50 "
          f"{sorted(stats.reactions_ms)[len(stats.reactions_ms) // 2]:.0f} ms")
    assert stats.preemptions >= 50, (stats.preemptions, highs)
    for job in jobs:
        assert job.state.error is None, (job.job_id, job.state.error)
        assert job.state.preemptions <= 3, job.job_id
        assert _result(job) == expected[job.job_id], job.job_id
        if isinstance(job, PreemptibleJob):
            assert len(job.state.result) == PARTITIONS * RECORDS  # each partition's rows once, no duplicates
    assert sum(j.state.preemptions for j in jobs) == stats.preemptions
    assert stats.reactions_ms, "no HIGH demand was ever seen"


def test_requeue_keeps_progress_and_kill_does_not(fair_spark: SparkSession, tmp_path: Path) -> None:
    for mode in ("requeue", "kill"):
        with PriorityController(fair_spark, mode, max_preemptions=1) as controller:
            # 2 s per partition: a preemption finds the tasks running, however slowly the workers start
            job = controller.submit(PreemptibleJob(f"long-{mode}", 2, lambda p: range(p * 200, p * 200 + 200),
                                                   _slow, tmp_path))
            if mode == "requeue":  # a stop only reaches tasks that poll: wait until both do
                wait_until(lambda job=job: len(controller.signal.running(job.job_id)) == 2, "both partitions to poll")
            else:
                wait_until(fair_spark.sparkContext.statusTracker().getActiveJobsIds, "the job to start")
            while job.state.preemptions == 0 and not job.state.finished.is_set():
                run = controller.run_high("urgent", lambda s: s.sparkContext.parallelize(range(2), 2).count())
                run.done.wait(60)
            assert controller.wait([job], timeout=120)
        assert job.state.error is None
        assert job.state.preemptions == 1
        assert sorted(job.state.result) == list(range(400))
        # requeue restarts a stopped partition in a refill job or the next wave; kill always waits for a wave
        assert job.state.waves + job.state.refills >= 2, (mode, controller.stats.stops)
        if mode == "requeue":
            assert job.signal is not None
        else:
            assert job.signal is None and not job.keep_progress


def _slow_source(p: int) -> range:
    return range(p * 1000, p * 1000 + (600 if p == 0 else 100))


def _slow(x: int) -> list[int]:
    time.sleep(0.01)
    return [x]


def test_a_stopped_partition_restarts_before_its_wave_ends(fair_spark: SparkSession, tmp_path: Path) -> None:
    """Partition 1 is stopped and released while partition 0 (6 s) runs on: it restarts from its saved
    progress in a refill job and commits before partition 0 does, in the same wave, with nothing lost."""
    controller = PriorityController(fair_spark, "requeue")  # its signal and binding; its loop is not started
    controller.signal.start()
    try:
        job = controller.submit(PreemptibleJob("refill", 2, _slow_source, _slow, tmp_path))
        running = lambda: {t.partition for t in controller.signal.running("refill")}  # noqa: E731
        wait_until(lambda: running() == {0, 1}, "both partitions to poll")
        job.state.gate.clear()  # what a preemption does: the job may not start new work ...
        controller.signal.stop("refill", "p1")  # ... and partition 1 is told to stop
        wait_until(lambda: 1 not in running(), "partition 1 to stop")
        assert not job.store.committed(1) and job.store.progress(1)[0] > 0
        controller.signal.clear("refill")
        job.state.gate.set()  # released: partition 1 restarts now, while partition 0 still runs
        wait_until(lambda: job.store.committed(1), "partition 1 to commit")
        assert not job.store.committed(0), "partition 1 waited for its wave to end"
        assert controller.wait([job], timeout=120)
    finally:
        controller.stop()
    assert job.state.error is None
    assert job.state.refills == 1 and job.state.waves == 1
    assert sorted(job.state.result) == [*range(0, 600), *range(1000, 1100)]


def test_controller_survives_failing_jobs_and_stops_cleanly(fair_spark: SparkSession, tmp_path: Path) -> None:
    controller = PriorityController(fair_spark, "requeue").start()
    port = controller.signal.address[1]
    try:
        bad = controller.submit(PreemptibleJob("bad", 2, _source, _broken, tmp_path))
        good = controller.submit(PreemptibleJob("good", 2, _source, _features, tmp_path))
        assert controller.wait(timeout=120)
        assert controller.alive
        assert bad.state.error is not None and "record 5" in str(bad.state.error)
        assert good.state.error is None and len(good.state.result) == 2 * RECORDS
        after = controller.submit(PreemptibleJob("after", 1, _source, _features, tmp_path))
        assert controller.wait([after], timeout=60) and after.state.error is None
    finally:
        controller.stop()
    assert not controller.alive
    import socket

    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_unified_app_stream_output_complete_under_the_controller(fair_spark: SparkSession, tmp_path: Path) -> None:
    params = UnifiedParams(seconds=6, stream_slots=2, q1_rows=100_000, feature_partitions=2, warmup_batches=1,
                           guard="count")
    result = run_unified(fair_spark, "requeue", tmp_path / "unified", params)
    assert result.stream_complete, result.stream_problems[:5]
    assert result.latencies_ms, "no micro-batch latency was recorded"
    assert result.max_job_preemptions <= params.max_preemptions
    assert result.batch_task_ms > 0
    metrics = result.metrics()
    assert metrics["stream_p99_ms"] >= metrics["stream_p50_ms"] > 0
    assert fair_spark.streams.active == []
