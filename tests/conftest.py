"""Shared fixtures: real local[2] SparkSessions and a real local standalone cluster.

`spark` is the suite's default local[2] session, reused while it runs. A test
that needs its own application conf (FAIR mode, a pool file, locality waits)
asks for `make_spark(**overrides)`: it stops the active session, starts one with
those `configure()` overrides and stops it afterwards; the next `spark` user
gets a fresh default session.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from leakcheck import pytest_sessionfinish, pytest_sessionstart  # noqa: F401 - the session-end leak check (hooks)
from pyspark.sql import SparkSession

from spark_sched import configure, load_settings
from spark_sched.bench.lock import shared_session_lock
from spark_sched.cluster import ClusterState, LocalCluster

DEFAULT_APP = "spark-sched-tests"


@pytest.fixture(scope="session", autouse=True)
def _bench_lock_shared() -> Iterator[None]:
    """The whole session holds the bench lock shared: no bench measures beside the suite (see bench/lock.py)."""
    with shared_session_lock(lambda line: print(line, file=sys.stderr)):
        yield


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One toolkit state directory for the whole run (event logs, rendered files)."""
    return tmp_path_factory.mktemp("state")


def _start(state_dir: Path, **overrides: Any) -> SparkSession:
    options: dict[str, Any] = {"master": "local[2]", "app_name": DEFAULT_APP, "state_dir": state_dir}
    options.update(overrides)
    session = configure(SparkSession.builder, load_settings(), **options).getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session


def _stop_active() -> None:
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


@pytest.fixture
def spark(state_dir: Path) -> SparkSession:
    """The default local[2] session, started once and reused while nothing replaced it."""
    active = SparkSession.getActiveSession()
    if active is not None and active.sparkContext.appName == DEFAULT_APP and active.sparkContext._jsc is not None:
        return active
    _stop_active()
    return _start(state_dir)


@pytest.fixture
def make_spark(state_dir: Path) -> Iterator[Callable[..., SparkSession]]:
    """Factory for a session with its own `configure()` overrides; stopped after the test."""
    started: list[SparkSession] = []

    def factory(**overrides: Any) -> SparkSession:
        _stop_active()
        session = _start(state_dir, **overrides)
        started.append(session)
        return session

    yield factory
    for session in started:
        session.stop()


@pytest.fixture(scope="session", autouse=True)
def _stop_sessions_at_exit() -> Iterator[None]:
    yield
    _stop_active()


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
