"""`spark-sched cluster up --shaped`: a real standalone cluster whose workers live in namespaces behind shaped links."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyspark.sql import SparkSession

from spark_sched import configure
from spark_sched.cli.main import cli
from spark_sched.cluster import process_alive
from spark_sched.testbed import ShapedCluster

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("tc") is None,
        reason="the shaped testbed needs root and iproute2 (ip, tc)",
    ),
]

TOPOLOGY = 'racks = 2\n[links]\nhost_rate = "1gbit"\nrack_uplink_rate = "200mbit"\n'


@pytest.fixture(scope="module")
def shaped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict]]:
    """Two workers, one per rack, started through the CLI; always brought down."""
    base = tmp_path_factory.mktemp("shaped")
    topology = base / "topology.toml"
    topology.write_text(TOPOLOGY)
    cluster_dir = base / "cluster"
    args = ["--state-dir", str(cluster_dir)]
    try:
        command = ["cluster", "up", "--shaped", "--workers", "2", "--topology", str(topology), *args]
        up = CliRunner().invoke(cli, command)
        assert up.exit_code == 0, up.output
        status = json.loads(CliRunner().invoke(cli, ["cluster", "status", "--json", *args]).output)
        yield base, status
    finally:
        ShapedCluster(cluster_dir).down()


def test_workers_register_from_their_namespaces(shaped: tuple[Path, dict]) -> None:
    base, status = shaped
    plan = ShapedCluster(base / "cluster").testbed.plan()
    assert plan is not None
    assert status["master"] == f"spark://{plan.gateway}:{status['master'].rsplit(':', 1)[1]}"
    assert [(w["host"], w["rack"], w["alive"]) for w in status["workers"]] == [
        (h.address, h.rack, True) for h in plan.hosts
    ]


@pytest.fixture
def shaped_spark(shaped: tuple[Path, dict]) -> Iterator[SparkSession]:
    """A session on the shaped cluster (configure() finds its secret and gateway in the state dir)."""
    base, status = shaped
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    spark = configure(SparkSession.builder, master=status["master"], state_dir=base, app_name="shaped-test")
    session = spark.config("spark.executor.memory", "512m").getOrCreate()
    yield session
    session.stop()


def test_spark_job_runs_and_its_bytes_cross_the_uplinks(shaped: tuple[Path, dict], shaped_spark: SparkSession) -> None:
    base, status = shaped
    links = ["cluster", "links", "--json", "--state-dir", str(base / "cluster")]
    before = json.loads(CliRunner().invoke(cli, links).output)
    sc = shaped_spark.sparkContext
    assert sc.getConf().get("spark.driver.host") == status["master"][len("spark://"):].split(":")[0]
    payload = 1 << 20
    blobs = sc.parallelize(range(4), 4).map(lambda _: os.urandom(payload)).collect()
    executors = sc._jsc.sc().getExecutorMemoryStatus().keys().mkString(",")  # type: ignore[union-attr]
    hosts = {entry.split(":")[0] for entry in executors.split(",")}
    assert {w["host"] for w in status["workers"]} <= hosts
    after = json.loads(CliRunner().invoke(cli, links).output)
    assert sum(len(b) for b in blobs) == 4 * payload
    # Results travel from the executors (in the racks) to the driver (on the core bridge): out through the uplinks.
    assert after["cross_rack_bytes"] - before["cross_rack_bytes"] >= 4 * payload


def test_down_stops_processes_and_removes_the_network(shaped: tuple[Path, dict]) -> None:
    base, _ = shaped
    cluster = ShapedCluster(base / "cluster")
    state = cluster.read_state()
    assert state is not None and cluster.testbed.leftovers()
    pids = [state.master_pid, *(w.pid for w in state.workers)]
    result = CliRunner().invoke(cli, ["cluster", "down", "--state-dir", str(base / "cluster")])
    assert result.exit_code == 0, result.output
    assert cluster.testbed.leftovers() == []
    assert not any(process_alive(pid) for pid in pids)
    assert not (base / "cluster" / "testbed.json").exists()
