"""Helpers several test modules share: a FAIR local[2] session with priority pools, and waiting on a condition."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from spark_sched import configure, load_settings
from spark_sched.priority.classes import PriorityClass, fair_conf, write_pool_file
from spark_sched.workloads.unified import UNIFIED_CLASSES


def fair_session(
    state_dir: Path, pools_dir: Path, app_name: str, classes: Sequence[PriorityClass] = UNIFIED_CLASSES,
    master: str = "local[2]", **options: Any,
) -> SparkSession:
    """Stop any active session, start a FAIR one (default local[2]) with `classes`' pools (2 shuffle partitions).

    `options` go to `configure()` (e.g. `measure="sparkmeasure"`).
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    conf = dict(load_settings().spark_conf)
    conf.update(fair_conf(write_pool_file(pools_dir, classes)))
    conf["spark.sql.shuffle.partitions"] = "2"
    session = configure(SparkSession.builder, load_settings(), master=master, state_dir=state_dir,
                        app_name=app_name, spark_conf=conf, **options).getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def wait_until(ok: Callable[[], Any], what: str, timeout_s: float = 60.0) -> Any:
    """Poll `ok()` every 20 ms until it returns something true, and return that; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not (result := ok()):
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f} s waiting for {what}"
        time.sleep(0.02)
    return result


def holds_within(condition: Callable[[], Any], seconds: float, poll_s: float = 0.1) -> bool:
    """Poll `condition` until it holds or `seconds` pass; True when it held (the caller asserts with its message)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll_s)
    return bool(condition())


def cluster_fair_session(state_dir: Path, master: str, app_name: str, slots: int) -> SparkSession:
    """Stop any active session, start a FAIR one (the unified pools) on a local cluster; return once `slots` run."""
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    conf = {**load_settings().spark_conf, **fair_conf(write_pool_file(state_dir, UNIFIED_CLASSES)),
            "spark.executor.memory": "512m"}
    spark = configure(SparkSession.builder, load_settings(), master=master, state_dir=state_dir,
                      app_name=app_name, spark_conf=conf).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    wait_until(lambda: spark.sparkContext.defaultParallelism == slots, f"{slots} executor slots", 120)
    return spark
