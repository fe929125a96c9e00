"""The benches' shared cluster-and-application helper, on a real local standalone cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spark_sched.bench.application import BenchApplication
from spark_sched.bench.base import BenchContext
from spark_sched.cluster import process_alive


@pytest.mark.cluster
def test_fair_session_on_its_own_cluster_and_stop_leaves_nothing(tmp_path: Path) -> None:
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    ctx = BenchContext(out_dir=tmp_path)
    app = BenchApplication(ctx, "app_check", workers=2, cores=1)
    try:
        assert app.cluster is not None
        state = app.cluster.read_state()
        assert state is not None
        pids = [state.master_pid, *(w.pid for w in state.workers)]
        assert ctx.cluster == {"workers": 2, "cores_per_worker": 1, "master": app.master}
        spark = app.start_fair_session(conf={"spark.sql.shuffle.partitions": "2"})
        assert app.slots == 2
        assert spark.sparkContext.getConf().get("spark.scheduler.mode") == "FAIR"
        spark.sparkContext.setLocalProperty("spark.scheduler.pool", "low")
        assert spark.sparkContext.parallelize(range(10), 4).map(lambda x: x * 2).sum() == 90
        assert spark.sparkContext._jsc.sc().getPoolForName("low").get().weight() == 1
    finally:
        app.stop()
    assert app.spark is None and app.cluster is None
    assert not app.state_dir.exists()
    assert [pid for pid in pids if process_alive(pid)] == []
    app.stop()  # a second stop (teardown after a failed setup) is harmless


_SECOND_APP = """
import sys
from pyspark.sql import SparkSession
from spark_sched.bench.application import bench_builder
pools = sys.argv[1]
first = bench_builder("local[1]", sys.argv[2], "first", {"spark.scheduler.mode": "FAIR",
                      "spark.scheduler.allocation.file": pools}).getOrCreate()
first.stop()
import os; os.unlink(pools)  # as a finished bench removes its state dir
second = bench_builder("local[1]", sys.argv[2], "second", {}).getOrCreate()
conf = second.sparkContext.getConf()
print("SECOND", conf.get("spark.scheduler.mode", "unset"), conf.get("spark.scheduler.allocation.file", "unset"))
second.stop()
"""


def test_a_later_bench_application_inherits_nothing_from_an_earlier_one(tmp_path: Path) -> None:
    """`bench all` runs experiments in one process, whose JVM was launched with the first one's conf."""
    pools = tmp_path / "pools.xml"
    pools.write_text("<allocations/>")
    done = subprocess.run([sys.executable, "-c", _SECOND_APP, str(pools), str(tmp_path / "state")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "SECOND unset unset" in done.stdout, done.stdout
