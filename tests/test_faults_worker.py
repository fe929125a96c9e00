"""Worker loss: kill -9 one worker of the local cluster while the unified application runs, then bring it back.

The application: the YSB-like stream in the HIGH pool and LOW jobs from the
durable queue (Python feature jobs, a JVM-only aggregation with a shuffle)
under the priority controller. The worker is killed by the pid the cluster
recorded. Every job must end done exactly once with the checksum an unfaulted
computation gives, the stream must commit every window exactly once and keep
committing after the loss, the controller must keep running, and after
`spark-sched cluster restart-worker HOST` Spark's task records show tasks on that
host again.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pyspark.sql import SparkSession

from spark_sched import configure, load_settings
from spark_sched.cli.main import cli
from spark_sched.cluster import ClusterState, LocalCluster, process_alive
from spark_sched.measure import measure
from spark_sched.priority import PriorityController
from spark_sched.priority.classes import HIGH, LOW, fair_conf, write_pool_file
from spark_sched.priority.durable import DurableQueue, DurableRunner, checksum
from spark_sched.priority.streaming import StreamWatch
from spark_sched.workloads.job_kinds import expected_features, register_job_kinds
from spark_sched.workloads.unified import (
    UNIFIED_CLASSES,
    EventGenerator,
    StreamSink,
    check_stream_output,
    start_stream,
)

register_job_kinds()  # the durable queue's `features` and `range_sum` jobs

# Generous per-test time: on a machine shared by several Spark jobs, start-up alone has taken minutes.
pytestmark = [pytest.mark.faults, pytest.mark.cluster, pytest.mark.timeout(1500)]

FEATURES = {"partitions": 3, "records": 30, "ms": 30.0}
SUM_N = 3_000_000
SUMS = {"n": SUM_N, "partitions": 6}


def _wait(what: str, condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def _executor_hosts(spark: Any) -> set[str]:
    status = spark.sparkContext._jsc.sc().getExecutorMemoryStatus()
    keys = status.keys().iterator()
    hosts = set()
    while keys.hasNext():
        hosts.add(str(keys.next()).rsplit(":", 1)[0])
    return hosts - {"127.0.0.1"}  # the driver


def _kill_worker(state: ClusterState, host: str) -> int:
    """kill -9 the worker of `host` by the pid the cluster recorded; returns that pid."""
    pid = next(w.pid for w in state.workers if w.host == host)
    os.kill(pid, signal.SIGKILL)
    _wait(f"worker pid {pid} to die", lambda: not process_alive(pid), 30)
    with suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # this process started it: leave no zombie
    return pid


def test_worker_kill_then_restart(
    local_cluster_3: tuple[LocalCluster, ClusterState], cluster_dir: Path, tmp_path: Path
) -> None:
    cluster, state = local_cluster_3
    conf = {**load_settings().spark_conf, **fair_conf(write_pool_file(tmp_path, UNIFIED_CLASSES)),
            "spark.sql.shuffle.partitions": "3", "spark.executor.memory": "512m"}
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    spark = configure(SparkSession.builder, load_settings(), master=state.master, state_dir=cluster_dir,
                      app_name="faults-worker-loss", spark_conf=conf).getOrCreate()
    try:
        _run_and_check(spark, cluster, state, tmp_path / "app")
    finally:
        spark.stop()


def _run_and_check(spark: SparkSession, cluster: LocalCluster, state: ClusterState, root: Path) -> None:
    spark.sparkContext.setLogLevel("ERROR")
    _wait("3 executors", lambda: len(_executor_hosts(spark)) == 3, 120)
    reference_sum = spark.range(SUM_N, numPartitions=6).groupBy().sum("id").collect()[0][0]  # the unfaulted run

    generator = EventGenerator(root / "events", every_s=0.25, events_per_file=100).start()
    sink = StreamSink(spark, root / "out", generator, HIGH)
    controller = PriorityController(spark, "requeue", classes=(HIGH, LOW))
    queue = DurableQueue(root)
    runner = DurableRunner(controller, queue, root / "batch", in_flight=2)
    query = start_stream(spark, root, sink, 1.0)
    try:
        controller.watch(StreamWatch(query, 1.0, 3))
        controller.start()
        _wait("the stream's first commit", lambda: any((root / "out").glob("batch-*.json")), 240)
        for i in range(6):
            runner.submit(f"features-{i}", "features", FEATURES)
            if i % 2:
                runner.submit(f"sum-{i}", "range_sum", SUMS)
        runner.start()
        _wait("a job done and others running", lambda: queue.counts()["done"] >= 1 and bool(runner.running), 240)

        victim = state.workers[1].host
        _kill_worker(state, victim)
        killed_at = time.time()
        _wait("every queued job done", lambda: runner.idle(), 300)
        _wait("a micro-batch committed after the loss",
              lambda: any(p.stat().st_mtime > killed_at + 2 for p in (root / "out").glob("batch-*.json")), 60)
        assert controller.alive and query.isActive and query.exception() is None
        assert victim not in _executor_hosts(spark)

        restart = CliRunner().invoke(cli, ["cluster", "restart-worker", victim, "--state-dir", str(cluster.state_dir)])
        assert restart.exit_code == 0, restart.output
        revived = next(w for w in cluster.read_state().workers if w.host == victim)  # type: ignore[union-attr]
        assert process_alive(revived.pid) and revived.pid != state.workers[1].pid
        _wait(f"an executor on {victim} again", lambda: victim in _executor_hosts(spark), 120)
        with measure(spark) as m:
            spark.sparkContext.parallelize(range(12), 12).map(lambda x: time.sleep(0.3) or x).sum()
        hosts = list(m.tasks()["host"])
        assert victim in hosts, "no task ran on the restarted worker"
        print(f"worker loss: killed {victim} at {killed_at:.0f}; tasks per host after restart "
              f"{ {h: hosts.count(h) for h in sorted(set(hosts))} }")

        generator.stop()
        query.processAllAvailable()
    finally:
        generator.stop()
        runner.stop()
        query.stop()
        controller.stop()

    rows = queue.all()
    queue.close()
    want = {"features": expected_features(FEATURES), "range_sum": checksum(reference_sum)}
    assert [(j.job_id, j.state, j.completions, j.checksum) for j in rows] == [
        (j.job_id, "done", 1, want[j.kind]) for j in rows
    ]
    assert check_stream_output(root / "out", generator.expected) == []
    print(f"worker loss: {len(rows)} jobs done once; starts {[j.starts for j in rows]}; preemptions "
          f"{sum(j.preemptions for j in rows)}; micro-batches {len(list((root / 'out').glob('batch-*.json')))}")


def test_restart_worker_refuses_unknown_host(local_cluster_3: tuple[LocalCluster, ClusterState]) -> None:
    cluster, _ = local_cluster_3
    result = CliRunner().invoke(cli, ["cluster", "restart-worker", "10.0.0.9", "--state-dir", str(cluster.state_dir)])
    assert result.exit_code == 2
    assert "10.0.0.9" in result.output and "127.0.0.2" in result.output
    assert "Traceback" not in result.output
