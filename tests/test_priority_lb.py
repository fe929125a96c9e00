"""`lb` on a real multi-host cluster: HIGH's demand is met by stopping LOW tasks host by host, fewest first.

2 workers x 2 slots, four LOW Python tasks filling them (two jobs), then a HIGH
job of one task: `lb` must stop the LOW tasks of the host running the fewest of
them (the first such host by name on a tie) and no task elsewhere; every LOW
record still lands in its job's output exactly once.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import cluster_fair_session, wait_until
from pyspark import cloudpickle
from pyspark.sql import SparkSession

from spark_sched.cluster import ClusterState, LocalCluster
from spark_sched.priority import PreemptibleJob, PriorityController
from spark_sched.priority.policy.guards import NoGuard

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # tests/ is not importable on the workers

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

RECORDS = 300  # 3 s per partition


def _source(p: int) -> range:
    return range(p * RECORDS, (p + 1) * RECORDS)


def _step(x: int) -> list[int]:
    time.sleep(0.01)
    return [x]


@pytest.fixture(scope="module")
def spark_2x2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    state_dir = tmp_path_factory.mktemp("lb-state")
    cluster = LocalCluster(state_dir / "cluster")
    try:
        state: ClusterState = cluster.up(workers=2, cores=2, memory="1g")
        spark = cluster_fair_session(state_dir, state.master, "tests-priority-lb", slots=4)
        try:
            yield spark
        finally:
            spark.stop()
    finally:
        cluster.down()


def test_lb_stops_the_host_with_fewest_low_tasks_and_nothing_else(spark_2x2: SparkSession, tmp_path: Path) -> None:
    with PriorityController(spark_2x2, "lb", guard=NoGuard()) as controller:
        jobs = [controller.submit(PreemptibleJob("x", 3, _source, _step, tmp_path)),
                controller.submit(PreemptibleJob("y", 1, lambda p: _source(3), _step, tmp_path))]
        wait_until(lambda: len(controller.signal.running()) == 4, "four LOW tasks polling", 120)
        per_host = Counter(t.host for t in controller.signal.running())
        fewest = min(per_host, key=lambda h: (per_host[h], h))
        high = controller.run_high("one", lambda s: s.sparkContext.parallelize(range(1), 1).count())
        assert high.done.wait(120) and high.error is None, high.error
        assert controller.wait(jobs, timeout=300)
    told = {host for _, _, hosts in controller.stats.stops for host in hosts}
    print(f"lb: LOW tasks per host {dict(per_host)}; stops {controller.stats.stops}")
    assert controller.stats.stops, "HIGH got its slot without a stop: the LOW tasks had ended"
    assert told == {fewest}, f"lb told {told} to stop; the host with fewest LOW tasks was {fewest} ({per_host})"
    assert sorted(jobs[0].state.result) == list(range(3 * RECORDS))
    assert sorted(jobs[1].state.result) == list(_source(3))
