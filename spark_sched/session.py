"""`configure(builder)`: the toolkit's settings applied to a SparkSession.Builder.

In delta-spark's idiom (`configure_spark_with_delta_pip`): the caller keeps its
builder and its own options; the toolkit adds what its later parts rely on
(event log in a known place, UI on loopback and read-only, a stable app name,
the local cluster's secret) and returns the builder.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_sched.cluster import DAEMON_PROPERTIES, LocalCluster
from spark_sched.config import Settings, load_settings
from spark_sched.connect import refuse_on_connect
from spark_sched.locality import LocalityWait, Recommendation, locality_conf
from spark_sched.measure.sparkmeasure import spark_conf as measure_conf
from spark_sched.pools.conf import pool_conf

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOOPBACK = "127.0.0.1"
LOG4J_CONFIG = Path(__file__).resolve().parent / "log4j2.properties"
# The UI's status store feeds measure(); keep enough of it for long experiments (defaults: 1000/1000/100000).
UI_RETENTION = {
    "spark.ui.retainedJobs": "10000",
    "spark.ui.retainedStages": "10000",
    "spark.ui.retainedTasks": "500000",
}


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


def cluster_driver_host(master: str, state_dir: os.PathLike[str] | str) -> str:
    """Where the driver must listen for that cluster's executors: loopback, or the shaped testbed's gateway."""
    state = LocalCluster(os.path.join(state_dir, "cluster")).read_state()
    return state.driver_host if state is not None and state.master == master else LOOPBACK


def cluster_slots(master: str, state_dir: os.PathLike[str] | str) -> tuple[int, int] | None:
    """(nodes, slots per node) for `locality = "auto"`: local[N] is one node; a spark-sched cluster says its own."""
    match = re.fullmatch(r"local\[(\d+)\]", master)
    if match:
        return 1, int(match.group(1))
    if master == "local":
        return 1, 1
    state = LocalCluster(os.path.join(state_dir, "cluster")).read_state()
    if state is not None and state.master == master and state.workers:
        return len(state.workers), state.cores
    return None


def access_conf(settings: Settings) -> dict[str, str]:
    """Spark's ACLs from `[access]`: stated either way, so a JVM's earlier session cannot leave them on or off."""
    if not settings.acls_enable:
        return {"spark.acls.enable": "false"}
    return {
        "spark.acls.enable": "true",
        "spark.admin.acls": ",".join(settings.admin_acls),
        "spark.modify.acls": ",".join(settings.modify_acls),
        "spark.ui.view.acls": ",".join(settings.view_acls),
    }


def spark_conf(settings: Settings, master_given: bool = False) -> dict[str, str]:
    """The Spark conf the settings stand for (pure: reads only the settings and the cluster's secret)."""
    events = settings.event_log_path
    conf: dict[str, str] = {
        "spark.app.name": settings.app_name,
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": events.resolve().as_uri(),
        "spark.ui.killEnabled": "true" if settings.ui_kill_enabled else "false",
        "spark.driver.host": cluster_driver_host(settings.master, settings.state_dir),
        "spark.driver.bindAddress": cluster_driver_host(settings.master, settings.state_dir),
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG4J_CONFIG.as_uri()}",
        "spark.executor.extraJavaOptions": f"-Dlog4j2.configurationFile={LOG4J_CONFIG.as_uri()}",
    }
    if master_given or not under_spark_submit():
        conf["spark.master"] = settings.master
    secret = cluster_secret(settings.master, settings.state_dir)
    # Always explicit: a JVM launched for a cluster session keeps its conf as system properties, and a
    # later local session inheriting spark.authenticate=true would store a secret in the process-wide
    # Hadoop credentials, which Spark then prefers over the next cluster's own secret.
    conf["spark.authenticate"] = "true" if secret else "false"
    if secret:
        conf["spark.authenticate.secret"] = secret
    conf.update(access_conf(settings))
    if settings.locality:
        slots = cluster_slots(settings.master, settings.state_dir)
        conf.update(locality_conf(settings.locality, slots, settings.source))
    conf.update(UI_RETENTION)
    conf.update(measure_conf(settings))
    conf.update(settings.spark_conf)
    return conf


def secret_off_command_line(conf: dict[str, str], state_dir: os.PathLike[str] | str) -> None:
    """Keep the cluster's secret out of the driver JVM's command line, which every local user can read in /proc.

    pyspark starts its JVM with every builder option as `--conf key=value`. When no JVM
    runs yet, the secret is taken out of `conf` and the JVM loads it from the cluster's
    0600 properties file instead (`--properties-file`, through PYSPARK_SUBMIT_ARGS, the
    variable pyspark's launcher reads). A JVM already running gets it over py4j as usual.
    """
    from pyspark import SparkContext

    props = Path(state_dir) / "cluster" / DAEMON_PROPERTIES
    if "spark.authenticate.secret" not in conf or SparkContext._gateway is not None:
        return
    if not props.is_file() or LocalCluster(props.parent).secret() != conf["spark.authenticate.secret"]:
        return
    ours = f"--properties-file {shlex.quote(str(props))} "
    submit_args = os.environ.get("PYSPARK_SUBMIT_ARGS", "pyspark-shell")
    if "--properties-file" in submit_args and not submit_args.startswith(ours):
        return  # the user's own properties file: leave their launch alone
    del conf["spark.authenticate.secret"]
    # Inherited by child processes too; harmless there: the file holds only this cluster's secret, readable by us.
    os.environ["PYSPARK_SUBMIT_ARGS"] = submit_args if submit_args.startswith(ours) else ours + submit_args


def configure(
    builder: SparkSession.Builder,
    settings: Settings | None = None,
    **overrides: Any,
) -> SparkSession.Builder:
    """Apply spark-sched's settings to `builder` and return it.

    `settings` defaults to `conf/spark-sched.toml` (or built-in defaults); keyword
    `overrides` name Settings fields, e.g. `configure(builder, master="local[2]")`.
    The UI binds to loopback through SPARK_LOCAL_IP, which Spark reads when the JVM starts.
    `locality` takes the settings strings ("auto", "3s", ...) or a LocalityWait / Recommendation
    object (see `spark_sched.locality`). A Spark Connect builder is refused in one line: the
    scheduler's settings belong to the server (`connect_server_conf`).
    """
    refuse_on_connect(builder, "configure")
    conf, resolved = _resolved_conf(settings, overrides)
    secret_off_command_line(conf, resolved.state_dir)
    # The UI binds where SPARK_LOCAL_IP says when the JVM starts: loopback, or the shaped testbed's gateway.
    # Set every time, so a testbed session earlier in the process cannot leave a later JVM's UI on its address.
    os.environ["SPARK_LOCAL_IP"] = conf["spark.driver.bindAddress"]
    # Outside spark-submit, Python workers run $PYSPARK_PYTHON (default `python3`), not spark.pyspark.python.
    os.environ.setdefault("PYSPARK_PYTHON", conf.get("spark.pyspark.python", sys.executable))
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder


def connect_server_conf(settings: Settings | None = None, **overrides: Any) -> dict[str, str]:
    """The Spark conf `configure` would apply, for a Spark Connect server's command line (`--conf k=v`).

    A Connect client cannot set the scheduler's settings (FAIR mode, the pool file,
    locality waits): they are read when the server's SparkContext starts. Same
    arguments as `configure`; the pool file is rendered under the settings' state dir.
    """
    return _resolved_conf(settings, overrides)[0]


def _resolved_conf(settings: Settings | None, overrides: dict[str, Any]) -> tuple[dict[str, str], Settings]:
    """Settings plus overrides as Spark conf (event log, UI, pools, locality waits), and the settings resolved."""
    base = settings or load_settings()
    waits = overrides.get("locality")
    if isinstance(waits, (LocalityWait, Recommendation)):  # an object, not a settings string: applied below
        overrides = {k: v for k, v in overrides.items() if k != "locality"}
    resolved = base.replace(**overrides) if overrides else base
    resolved.event_log_path.mkdir(parents=True, exist_ok=True)
    conf = spark_conf(resolved, master_given="master" in overrides)
    if isinstance(waits, (LocalityWait, Recommendation)):
        conf.update(locality_conf(waits, None))
    if resolved.pools is not None:  # FAIR mode and the rendered XML; the user's own [spark] keys still win
        conf = {**pool_conf(resolved.pools, resolved.state_dir), **conf}
    return conf, resolved
