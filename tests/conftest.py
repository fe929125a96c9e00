"""Shared fixtures: a real local[2] SparkSession and a real local standalone cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spark_sched import configure, load_settings
from spark_sched.cluster import ClusterState, LocalCluster


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One toolkit state directory for the whole run (event logs, rendered files)."""
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="session")
def spark(state_dir: Path) -> Iterator[SparkSession]:
    """A real local[2] session configured by the toolkit, shared by the suite."""
    builder = configure(
        SparkSession.builder, load_settings(), master="local[2]", app_name="spark-sched-tests", state_dir=state_dir
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def cluster_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cluster-state")


@pytest.fixture(scope="module")
def local_cluster_3(cluster_dir: Path) -> Iterator[tuple[LocalCluster, ClusterState]]:
    """A 3-worker standalone cluster (state dir `<cluster_dir>/cluster`), always brought down."""
    cluster = LocalCluster(cluster_dir / "cluster")
    try:
        yield cluster, cluster.up(workers=3, cores=1, memory="1g")
    finally:
        cluster.down()
