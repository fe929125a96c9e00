"""sparkMeasure: conf for its jar, the one-line missing-jar path, and agreement with Spark's records where it loads."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spark_sched.config import Settings
from spark_sched.errors import SettingsError
from spark_sched.measure import measure
from spark_sched.measure.schema import AGGREGATE_NAMES, NS_METRICS
from spark_sched.measure.sparkmeasure import JAR_ENV, PACKAGE, SOURCE_CONF
from spark_sched.session import spark_conf

MISSING_MARK = "sparkMeasure's jar is not loaded"


def _empty_jar(path: Path) -> Path:
    """A valid jar that holds no sparkMeasure classes (what a wrong or truncated download looks like)."""
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    return path


def test_conf_asks_for_the_package_or_a_local_jar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(JAR_ENV, raising=False)
    assert SOURCE_CONF in spark_conf(Settings()) and "spark.jars.packages" not in spark_conf(Settings())
    conf = spark_conf(Settings(measure="sparkmeasure"))
    assert conf["spark.jars.packages"] == PACKAGE and conf[SOURCE_CONF] == "sparkmeasure"
    jar = _empty_jar(tmp_path / "sm.jar")
    conf = spark_conf(Settings(measure="sparkmeasure", sparkmeasure_jar=str(jar)))
    assert conf["spark.jars"] == str(jar) and "spark.jars.packages" not in conf
    env_jar = _empty_jar(tmp_path / "env.jar")
    monkeypatch.setenv(JAR_ENV, str(env_jar))
    assert spark_conf(Settings(measure="sparkmeasure", sparkmeasure_jar=str(jar)))["spark.jars"] == str(env_jar)


def test_a_missing_local_jar_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(JAR_ENV, str(tmp_path / "nope.jar"))
    with pytest.raises(SettingsError) as info:
        spark_conf(Settings(measure="sparkmeasure"))
    message = str(info.value)
    assert JAR_ENV in message and "nope.jar" in message and "an existing .jar file" in message


def test_missing_jar_prints_one_line_and_measurement_goes_on(
    make_spark: Callable[..., SparkSession], tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.delenv(JAR_ENV, raising=False)
    jar = _empty_jar(tmp_path / "spark-measure_2.13-0.28.jar")
    spark = make_spark(measure="sparkmeasure", sparkmeasure_jar=str(jar), app_name="measure-missing-jar")
    capfd.readouterr()
    for _ in range(2):  # the line is said once per application, not once per window
        with measure(spark) as m:
            spark.range(1000).groupBy((F.col("id") % 3).alias("k")).count().collect()
        assert m.sources == ("spark",)
        assert m.aggregate()["numTasks"] > 0 and m.aggregate()["shuffleBytesWritten"] > 0
    err = capfd.readouterr().err
    mentions = [line for line in err.splitlines() if MISSING_MARK in line]
    assert len(mentions) == 1 and JAR_ENV in mentions[0]
    assert "AttributeError" not in err and "could not be loaded" not in err  # nothing from the wrapper


def _sparkmeasure_jar() -> str:
    return os.environ.get(JAR_ENV, "")


@pytest.mark.skipif(
    not os.path.isfile(_sparkmeasure_jar()),
    reason=f"sparkMeasure's jar is not on this machine (Maven Central is unreachable here); "
    f"set {JAR_ENV}=/path/to/spark-measure_2.13-0.28.jar to run this comparison",
)
def test_sparkmeasure_and_spark_records_agree(make_spark: Callable[..., SparkSession]) -> None:
    spark = make_spark(measure="sparkmeasure", app_name="measure-agree")
    with measure(spark) as m:
        sc = spark.sparkContext
        sc.parallelize(range(2000), 4).map(lambda x: (x % 7, x)).reduceByKey(lambda a, b: a + b, 3).collect()
        spark.range(20000).groupBy((F.col("id") % 11).alias("k")).agg(F.sum("id")).collect()
    assert m.sources == ("spark", "sparkmeasure")
    theirs, ours = m.sparkmeasure_aggregate, m.aggregate()
    assert set(AGGREGATE_NAMES) <= set(theirs)
    for name in AGGREGATE_NAMES:
        if name in NS_METRICS:  # floor(ns/1e6) per stage vs per task: at most 1 ms per task apart
            assert abs(int(theirs[name]) - ours[name]) <= ours["numTasks"], name
        else:
            assert int(theirs[name]) == ours[name], name
