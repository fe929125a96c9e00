"""The locality bench's applications on a real standalone cluster: one wait each, set at start, side by side.

Two applications of the bench's driver (`_locality_app`) share a 3-host cluster (127.0.0.2-4,
two cores a worker, one executor of one core per application on each). Each reports the
waits its conf started with and where its blocks landed; the hot workload's blocks pile
onto the first host. Under no wait the other hosts take the hot host's tasks; under 3 s
an iteration's queue (6 tasks of 0.2 s) drains before the wait runs out, so all run local.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spark_sched.bench.experiments._locality_client import AppProcess
from spark_sched.bench.experiments.locality import placement_counts
from spark_sched.cluster import LocalCluster
from spark_sched.locality import LocalityWait

pytestmark = pytest.mark.cluster

PARAMS = {
    "workers": 3, "cores_per_worker": 1, "partitions": 6, "partition_mb": 1, "iterations": 1, "task_seconds": 0.1,
    "background_tasks": 3, "background_task_seconds": 0.1, "hot_partitions": 8, "hot_partition_mb": 1,
    "hot_iterations": 2, "hot_task_seconds": 0.2, "hot_cache_fast_s": 0.01, "hot_cache_slow_s": 1.0,
}


def test_each_wait_is_its_own_application_side_by_side(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path / "cluster")
    apps: list[AppProcess] = []
    try:
        state = cluster.up(workers=3, cores=2, memory="2g")
        hosts = [w.host for w in state.workers]
        params = {**PARAMS, "hot_host": hosts[0]}
        for name, wait in (("wait-0", LocalityWait(0.0, 0.0, 0.0)), ("wait-3s", LocalityWait(3.0, 3.0, 3.0))):
            apps.append(AppProcess(state.master, str(tmp_path), params, name, wait))
        none, long = apps
        assert none.ready["waits"]["spark.locality.wait.process"] == "0ms"
        assert long.ready["waits"]["spark.locality.wait.process"] == "3000ms"
        for app in apps:
            spread = placement_counts(hosts, app.ready["placement"]["spread"])
            hot = placement_counts(hosts, app.ready["placement"]["hot"])
            assert sum(spread) == 6 and min(spread) >= 1, spread  # one executor on every host
            assert sum(hot) == 8 and hot[0] > 4, hot  # most blocks on the hot host
        no_wait, waited = none.run("hot"), long.run("hot")
        assert no_wait["misses"] > 0 and no_wait["local_fraction"] < 1.0, no_wait
        assert waited["local_fraction"] == 1.0 and waited["misses"] == 0, waited
        assert waited["hot_share"] == max(placement_counts(hosts, long.ready["placement"]["hot"])) / 8
        assert no_wait["iteration_tasks"] == waited["iteration_tasks"] == 16
    finally:
        for app in apps:
            app.stop()
        cluster.down()
