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
from typing import TYPE_CHECKING, Any

from spark_sched.errors import SettingsError
from spark_sched.measure.jar import JAR_ENV, jar_name, maven_package, resolve, say

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_sched.config import Settings

SOURCE_CONF = "spark.spark-sched.measure"
# Overrides `[measure] source` for every application this process configures (`spark-sched bench` sets it
# to "sparkmeasure" where a local jar resolves, so benches take their stage metrics from sparkMeasure).
SOURCE_ENV = "SPARK_SCHED_MEASURE"
STAGE_CLASS = "ch.cern.sparkmeasure.StageMetrics"
PACKAGE = maven_package()
MISSING_LINE = (
    "spark-sched: sparkMeasure's jar is not loaded (class ch.cern.sparkmeasure.StageMetrics not found); "
    f"measuring from Spark's own records. To add it: set {JAR_ENV}=/path/to/{jar_name()} "
    "(or [measure] sparkmeasure_jar), build one with `spark-sched measure build-jar --source DIR`, "
    f"or let Spark fetch {PACKAGE} (spark.jars.packages)."
)

_warned_apps: set[str] = set()
LISTENER_DRAIN_MS = 30_000


def spark_conf(settings: Settings) -> dict[str, str]:
    """The measurement source (read back by `measure()`) and, for sparkMeasure, its jar on the classpath.

    The jar comes from `spark_sched.measure.jar.resolve` (explicit jar, built before, built from a
    source folder, else Maven coordinates); its one line says which and why.
    """
    source = os.environ.get(SOURCE_ENV) or settings.measure
    if source not in ("spark", "sparkmeasure"):
        raise SettingsError("measure.source", source, ("spark", "sparkmeasure"), SOURCE_ENV)
    conf = {SOURCE_CONF: source}
    if source != "sparkmeasure":
        return conf
    choice = resolve(settings)
    say(choice)
    conf.update(choice.spark_conf())
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


def load_into_driver(spark: SparkSession) -> bool:
    """Make sparkMeasure's classes loadable in a driver JVM that started before its jar was named.

    Spark puts `spark.jars` on the driver's classpath only when it launches the JVM; a
    notebook (or a test run) that stopped one session and configured another in the same
    process has the jar on the executors only. sparkMeasure's listeners live in the driver,
    so adding the jar to the driver's class loader (Spark's MutableURLClassLoader) is enough.
    """
    if classes_loaded(spark):
        return True
    jars = [j for j in spark.sparkContext.getConf().get("spark.jars", "").split(",") if "spark-measure" in j]
    jvm = spark.sparkContext._jvm
    if not jars or jvm is None:
        return False
    loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
    with contextlib.suppress(Exception):  # a loader without addURL: the jar stays missing and we say so
        for jar in jars:
            path = jar[len("file:"):] if jar.startswith("file:") else jar
            loader.addURL(jvm.java.io.File(path).toURI().toURL())
    return classes_loaded(spark)


def say_missing(spark: SparkSession) -> None:
    """Print the one line about the missing jar, once per application."""
    app = spark.sparkContext.applicationId
    if app not in _warned_apps:
        _warned_apps.add(app)
        print(MISSING_LINE, file=sys.stderr)


class SparkMeasure:
    """sparkMeasure's StageMetrics and TaskMetrics around one measurement window.

    Each window gets its own two listeners and removes them when it closes, so windows may
    nest (the unified application measures itself while a caller measures it too) and
    listeners never pile up on a long-lived application.
    """

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
        """sparkMeasure's own task aggregate: every task attempt that ended, killed ones included."""
        return {str(k): v for k, v in dict(self.task_metrics.aggregate_taskmetrics()).items()}

    def report(self) -> str:
        """sparkMeasure's own text report (StageMetrics.report), exactly as it prints it."""
        return str(self.stage_metrics.report())

    def close(self) -> None:
        """Remove this window's listeners from the application (what it collected stays readable)."""
        with contextlib.suppress(Exception):  # the application may already be stopped
            self.stage_metrics.remove_listener()
        with contextlib.suppress(Exception):
            self.task_metrics.taskmetrics.removeListener()


def drain_listeners(spark: SparkSession) -> None:
    """Wait until Spark's listener bus has delivered every queued event (sparkMeasure listens on the shared queue)."""
    with contextlib.suppress(Exception):  # an internal API; without it sparkMeasure may miss the last stage
        spark.sparkContext._jsc.sc().listenerBus().waitUntilEmpty(LISTENER_DRAIN_MS)  # type: ignore[union-attr]
