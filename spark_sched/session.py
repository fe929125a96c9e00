"""`configure(builder)`: the toolkit's settings applied to a SparkSession.Builder.

In delta-spark's idiom (`configure_spark_with_delta_pip`): the caller keeps its
builder and its own options; the toolkit adds what its later parts rely on
(event log in a known place, UI on loopback and read-only, a stable app name,
the local cluster's secret) and returns the builder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_sched.cluster import LocalCluster
from spark_sched.config import Settings, load_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOOPBACK = "127.0.0.1"
LOG4J_CONFIG = Path(__file__).resolve().parent / "log4j2.properties"


def under_spark_submit() -> bool:
    """True inside a Python driver that spark-submit launched (its master is already set)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def cluster_secret(master: str, state_dir: os.PathLike[str] | str) -> str | None:
    """The secret of the local cluster whose master URL this is, if it runs from this state dir."""
    cluster = LocalCluster(os.path.join(state_dir, "cluster"))
    state = cluster.read_state()
    if state is not None and state.master == master:
        return cluster.secret()
    return None


def spark_conf(settings: Settings, master_given: bool = False) -> dict[str, str]:
    """The Spark conf the settings stand for (pure: reads only the settings and the cluster's secret)."""
    events = settings.event_log_path
    conf: dict[str, str] = {
        "spark.app.name": settings.app_name,
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": events.resolve().as_uri(),
        "spark.ui.killEnabled": "false",
        "spark.driver.host": LOOPBACK,
        "spark.driver.bindAddress": LOOPBACK,
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG4J_CONFIG.as_uri()}",
        "spark.executor.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG4J_CONFIG.as_uri()}",
    }
    if master_given or not under_spark_submit():
        conf["spark.master"] = settings.master
    secret = cluster_secret(settings.master, settings.state_dir)
    if secret:
        conf["spark.authenticate"] = "true"
        conf["spark.authenticate.secret"] = secret
    conf.update(settings.spark_conf)
    return conf


def configure(
    builder: SparkSession.Builder,
    settings: Settings | None = None,
    **overrides: Any,
) -> SparkSession.Builder:
    """Apply spark-sched's settings to `builder` and return it.

    `settings` defaults to `conf/spark-sched.toml` (or built-in defaults); keyword
    `overrides` name Settings fields, e.g. `configure(builder, master="local[2]")`.
    The UI binds to loopback through SPARK_LOCAL_IP, which Spark reads when the JVM starts.
    """
    base = settings or load_settings()
    resolved = base.replace(**overrides) if overrides else base
    resolved.event_log_path.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
    for key, value in spark_conf(resolved, master_given="master" in overrides).items():
        builder = builder.config(key, value)
    return builder
