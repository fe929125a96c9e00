"""sparkMeasure where its jar is present: detect the JVM classes, wrap StageMetrics/TaskMetrics, say so when absent.

The PyPI `sparkmeasure` package is only a wrapper; without the jar its
constructor prints three lines and the first later call fails with an
AttributeError. We check first whether `ch.cern.sparkmeasure.StageMetrics`
loads in the driver JVM, and when it does not we print one line (once per
application) saying how to add it, and measure from Spark's own records.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_sched.errors import SettingsError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_sched.config import Settings

PACKAGE = "ch.cern.sparkmeasure:spark-measure_2.13:0.28"
JAR_ENV = "SPARK_SCHED_SPARKMEASURE_JAR"
SOURCE_CONF = "spark.spark-sched.measure"
STAGE_CLASS = "ch.cern.sparkmeasure.StageMetrics"
MISSING_LINE = (
    "spark-sched: sparkMeasure's jar is not loaded (class ch.cern.sparkmeasure.StageMetrics not found); "
    f"measuring from Spark's own records. To add it: set {JAR_ENV}=/path/to/spark-measure_2.13-0.28.jar "
    f"(or [measure] sparkmeasure_jar), or let Spark fetch {PACKAGE} (spark.jars.packages)."
)

_warned_apps: set[str] = set()
_instances: dict[str, SparkMeasure] = {}
LISTENER_DRAIN_MS = 30_000


def jar_path(settings: Settings) -> tuple[str, str]:
    """The local sparkMeasure jar asked for, and where it was asked (env wins over the settings file)."""
    env = os.environ.get(JAR_ENV, "")
    if env:
        return env, JAR_ENV
    return settings.sparkmeasure_jar, f"{settings.source}: [measure] sparkmeasure_jar"


def spark_conf(settings: Settings) -> dict[str, str]:
    """The measurement source (read back by `measure()`) and, for sparkMeasure, its jar on the classpath.

    A local jar (env or settings) wins; otherwise Spark is asked to fetch the Maven package,
    which needs Maven Central (or a mirror in spark.jars.repositories / ivySettings).
    """
    conf = {SOURCE_CONF: settings.measure}
    if settings.measure != "sparkmeasure":
        return conf
    path, source = jar_path(settings)
    if path:
        jar = Path(path).expanduser()
        if not jar.is_file():
            raise SettingsError("sparkmeasure_jar", path, "an existing .jar file", source)
        conf["spark.jars"] = str(jar.resolve())
    else:
        conf["spark.jars.packages"] = PACKAGE
    return conf


def classes_loaded(spark: SparkSession) -> bool:
    """True when the driver JVM can load sparkMeasure's StageMetrics class."""
    jvm = spark.sparkContext._jvm
    if jvm is None:
        return False
    try:
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        jvm.java.lang.Class.forName(STAGE_CLASS, False, loader)
        return True
    except Exception:  # noqa: BLE001 - py4j raises Py4JJavaError(ClassNotFoundException)
        return False


def say_missing(spark: SparkSession) -> None:
    """Print the one line about the missing jar, once per application."""
    app = spark.sparkContext.applicationId
    if app not in _warned_apps:
        _warned_apps.add(app)
        print(MISSING_LINE, file=sys.stderr)


class SparkMeasure:
    """sparkMeasure's StageMetrics and TaskMetrics around one measurement window.

    One instance (two listeners) per application, reused by every window: each
    begin() clears what the previous window collected, so listeners never pile up.
    """

    @classmethod
    def for_session(cls, spark: SparkSession) -> SparkMeasure:
        app = spark.sparkContext.applicationId
        if app not in _instances:
            _instances[app] = cls(spark)
        return _instances[app]

    def __init__(self, spark: SparkSession) -> None:
        from sparkmeasure import StageMetrics, TaskMetrics

        self.stage_metrics = StageMetrics(spark)
        self.task_metrics = TaskMetrics(spark)

    def begin(self) -> None:
        self.stage_metrics.begin()
        self.task_metrics.begin()

    def end(self) -> None:
        self.stage_metrics.end()
        self.task_metrics.end()

    def aggregate(self) -> dict[str, Any]:
        """sparkMeasure's own stage aggregate (names as REFERENCE.md lists), as a Python dict."""
        return {str(k): v for k, v in dict(self.stage_metrics.aggregate_stagemetrics()).items()}

    def task_aggregate(self) -> dict[str, Any]:
        return {str(k): v for k, v in dict(self.task_metrics.aggregate_taskmetrics()).items()}

    def report(self) -> str:
        return str(self.stage_metrics.report())



def drain_listeners(spark: SparkSession) -> None:
    """Wait until Spark's listener bus has delivered every queued event (sparkMeasure listens on the shared queue)."""
    with contextlib.suppress(Exception):  # an internal API; without it sparkMeasure may miss the last stage
        spark.sparkContext._jsc.sc().listenerBus().waitUntilEmpty(LISTENER_DRAIN_MS)  # type: ignore[union-attr]
