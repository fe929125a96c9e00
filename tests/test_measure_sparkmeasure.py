"""sparkMeasure itself: jar resolution and build, the one-line missing-jar path, and agreement with Spark's records.

The agreement tests need sparkMeasure's jar. `make test` (and so CI) builds it from
`../shared/vendor/sparkmeasure-0.28` with pyspark's own Scala compiler into the venv's
`share/spark-sched/jars/`, where the toolkit's resolver finds it; without a jar (no source
folder, no network) they skip with a reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import fair_session, wait_until
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spark_sched import load_settings
from spark_sched.config import Settings
from spark_sched.errors import SettingsError
from spark_sched.measure import Measurement, measure
from spark_sched.measure import jar as jar_module
from spark_sched.measure.jar import SOURCE_ENV, jar_name, resolve
from spark_sched.measure.schema import AGGREGATE_NAMES, NS_METRICS
from spark_sched.measure.sparkmeasure import JAR_ENV, PACKAGE, SOURCE_CONF
from spark_sched.session import spark_conf
from spark_sched.workloads.unified import UnifiedParams, run_unified

MISSING_MARK = "sparkMeasure's jar is not loaded"
CLI = [sys.executable, "-m", "spark_sched.cli.main"]


def _empty_jar(path: Path) -> Path:
    """A valid jar that holds no sparkMeasure classes (what a wrong or truncated download looks like)."""
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    return path


@pytest.fixture
def no_jar_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No jar named, no source folder, no jar in the install, and a state dir of our own with none in it."""
    for name in (JAR_ENV, SOURCE_ENV):
        monkeypatch.delenv(name, raising=False)
    state = tmp_path / "state"
    monkeypatch.setenv("SPARK_SCHED_STATE_DIR", str(state))
    monkeypatch.setattr(jar_module, "install_jars_dir", lambda: tmp_path / "install-jars")
    return state


def test_resolution_order_explicit_then_built_then_maven(tmp_path: Path, no_jar_env: Path, monkeypatch) -> None:
    settings = Settings(measure="sparkmeasure", state_dir=no_jar_env)
    fallback = resolve(settings)
    assert fallback.path is None and fallback.package == PACKAGE and "Maven" in fallback.reason
    assert spark_conf(settings)["spark.jars.packages"] == PACKAGE
    cached = _empty_jar(_mkdir(no_jar_env / "jars") / jar_name())
    assert resolve(settings).path == cached.resolve() and "built before" in resolve(settings).reason
    named = _empty_jar(tmp_path / "sm.jar")
    choice = resolve(Settings(measure="sparkmeasure", state_dir=no_jar_env, sparkmeasure_jar=str(named)))
    assert choice.path == named.resolve() and "[measure] sparkmeasure_jar" in choice.reason
    env_jar = _empty_jar(tmp_path / "env.jar")
    monkeypatch.setenv(JAR_ENV, str(env_jar))
    conf = spark_conf(Settings(measure="sparkmeasure", state_dir=no_jar_env, sparkmeasure_jar=str(named)))
    assert conf["spark.jars"] == str(env_jar.resolve()) and "spark.jars.packages" not in conf
    assert SOURCE_CONF in spark_conf(Settings()) and "spark.jars" not in spark_conf(Settings())


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_a_missing_local_jar_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(JAR_ENV, str(tmp_path / "nope.jar"))
    with pytest.raises(SettingsError) as info:
        spark_conf(Settings(measure="sparkmeasure"))
    message = str(info.value)
    assert JAR_ENV in message and "nope.jar" in message and "an existing .jar file" in message


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, env=env, check=False)


@pytest.mark.parametrize("case", ["missing", "no_scala", "no_java"])
def test_build_jar_bad_inputs_are_one_line_and_exit_2(case: str, tmp_path: Path) -> None:
    source = tmp_path / "src"
    env = dict(os.environ)
    if case == "no_scala":
        source.mkdir()
        (source / "README.md").write_text("not scala\n")
    elif case == "no_java":  # a real .scala file, but neither JAVA_HOME nor a java on PATH
        source.mkdir()
        (source / "A.scala").write_text("object A\n")
        env["PATH"] = str(tmp_path / "empty-bin")
        env.pop("JAVA_HOME", None)
    done = _cli("measure", "build-jar", "--source", str(source), "--out", str(tmp_path / "out"), env=env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spark-sched: error: build-jar:"), done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()
    expected = {"missing": "an existing directory", "no_scala": ".scala files", "no_java": "Java 17+"}[case]
    assert expected in lines[0]


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


# -- agreement: sparkMeasure's own numbers against Spark's records, for the same window ----------------------------


def _local_jar() -> Path | None:
    """The jar the toolkit's resolver would use (named, or built before); None means Maven only."""
    try:
        return resolve(load_settings()).path
    except SettingsError:
        return None


needs_jar = pytest.mark.skipif(
    _local_jar() is None,
    reason=f"no sparkMeasure jar here: set {JAR_ENV} or run `spark-sched measure build-jar --source DIR` "
    "(make test builds one from ../shared/vendor/sparkmeasure-0.28 when that folder exists; "
    "Maven Central is unreachable on this machine)",
)


def _close(theirs: int, ours: int, tasks: int) -> bool:
    """Times and bytes: equal within 1%, or within the 1 ms per task that ns -> ms rounding can lose."""
    return abs(theirs - ours) <= max(0.01 * max(abs(theirs), abs(ours)), tasks)


def assert_stage_agreement(m: Measurement) -> None:
    """sparkMeasure's StageMetrics aggregate == the same aggregate from Spark's REST records."""
    assert m.sources == ("spark", "sparkmeasure")
    theirs, ours, stages = m.sparkmeasure_aggregate, m.aggregate_sources(), m.stages()
    assert set(AGGREGATE_NAMES) <= set(theirs) and set(ours) >= set(AGGREGATE_NAMES)
    from spark_sched.measure import frames

    spark_only = frames.aggregate(m.records)
    tasks = int(spark_only["numTasks"]) + int(spark_only["numKilledTasks"]) + int(spark_only["numFailedTasks"])
    for name in AGGREGATE_NAMES:
        value = int(theirs[name])
        if name == "numTasks":  # sparkMeasure: tasks the stages declared; ours: successful tasks (they differ
            assert value == int(stages["numTasks"].sum()), name  # only where a cancelled stage left tasks unrun)
        elif name in NS_METRICS:
            assert _close(value, int(spark_only[name]), tasks), (name, value, spark_only[name])
        else:
            assert value == int(spark_only[name]), (name, value, spark_only[name])


def assert_task_agreement(m: Measurement) -> None:
    """sparkMeasure's TaskMetrics aggregate (every ended attempt, killed included) == Spark's task rows."""
    theirs = m.sparkmeasure_task_aggregate
    rows = m.tasks()
    ended = rows[rows["status"].isin(["SUCCESS", "KILLED", "FAILED"])]
    assert int(theirs["numTasks"]) == len(ended)
    assert int(theirs["successful tasks"]) == int((ended["status"] == "SUCCESS").sum())
    for name in ("executorRunTime", "executorDeserializeTime", "resultSerializationTime", "jvmGCTime",
                 "recordsRead", "bytesRead", "shuffleBytesWritten", "shuffleRecordsWritten", "shuffleTotalBytesRead",
                 "shuffleRecordsRead", "peakExecutionMemory", "executorCpuTime", "shuffleWriteTime", "taskDuration"):
        ours = int(ended[name].fillna(0).sum())
        assert _close(int(theirs[name]), ours, len(ended)), (name, theirs[name], ours)


@pytest.fixture
def sm_spark(make_spark: Callable[..., SparkSession]) -> SparkSession:
    return make_spark(measure="sparkmeasure", app_name="measure-agree")


@needs_jar
def test_agreement_on_a_multi_stage_job_with_shuffles(sm_spark: SparkSession) -> None:
    sc = sm_spark.sparkContext
    with measure(sm_spark) as m:
        sc.parallelize(range(2000), 4).map(lambda x: (x % 7, x)).reduceByKey(lambda a, b: a + b, 3).collect()
        sm_spark.range(200_000).groupBy((F.col("id") % 11).alias("k")).agg(F.sum("id")).collect()
    assert m.aggregate()["numStages"] >= 4 and m.aggregate()["shuffleBytesWritten"] > 0
    assert_stage_agreement(m)
    assert_task_agreement(m)
    assert "Aggregated Spark stage metrics" in m.sparkmeasure_report()


@needs_jar
def test_agreement_with_a_cancelled_stage(sm_spark: SparkSession) -> None:
    sc = sm_spark.sparkContext

    def slow(i: int) -> int:  # defined here: cloudpickle ships it by value (the test module is not importable)
        time.sleep(0.05 if i < 2 else 30)
        return i

    def cancel_when_running() -> None:  # from another thread, once two tasks ended and a slow one runs
        wait_until(lambda: _running_tasks(sm_spark) >= 1 and _done_tasks(sm_spark) >= 2, "a task done, one running",
                   180)
        sc.cancelJobGroup("agree-cancel")

    failure: list[BaseException] = []
    with measure(sm_spark) as m:
        sc.setJobGroup("agree-cancel", "cancelled on purpose")  # this thread's jobs
        canceller = threading.Thread(target=cancel_when_running)
        canceller.start()
        _run_catching(lambda: sc.parallelize(range(6), 6).map(slow).collect(), failure)
        canceller.join(200)
        sc.setJobGroup("agree-after", "runs after the cancel")
        sc.parallelize(range(100), 4).map(lambda x: x * 2).sum()
    assert failure, "the slow job should have been cancelled"
    aggregate = m.aggregate()
    assert aggregate["numKilledTasks"] >= 1 and aggregate["wastedTaskTime"] > 0
    assert_stage_agreement(m)
    assert_task_agreement(m)
    # sparkMeasure's stage numTasks counts the cancelled stage's unrun tasks; its task aggregate counts killed ones
    assert int(m.sparkmeasure_aggregate["numTasks"]) > aggregate["numKilledTasks"] + _successful(m)


def _successful(m: Measurement) -> int:
    rows = m.tasks()
    return int((rows["status"] == "SUCCESS").sum())


def _run_catching(fn: Callable[[], Any], failures: list[BaseException]) -> None:
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the cancelled job's error is what we wait for
        failures.append(exc)


def _running_tasks(spark: SparkSession) -> int:
    tracker = spark.sparkContext.statusTracker()
    return sum(info.numActiveTasks for sid in tracker.getActiveStageIds()
               if (info := tracker.getStageInfo(sid)) is not None)


def _done_tasks(spark: SparkSession) -> int:
    tracker = spark.sparkContext.statusTracker()
    return sum(info.numCompletedTasks for sid in tracker.getActiveStageIds()
               if (info := tracker.getStageInfo(sid)) is not None)


@pytest.fixture
def fair_sm_spark(state_dir: Path, tmp_path: Path) -> Iterator[SparkSession]:
    """A FAIR local[2] session with the unified application's pools, measured by sparkMeasure."""
    session = fair_session(state_dir, tmp_path / "pools", "measure-agree-unified", measure="sparkmeasure")
    yield session
    session.stop()


@needs_jar
def test_agreement_on_the_unified_stream_batch_demo(fair_sm_spark: SparkSession, tmp_path: Path) -> None:
    params = UnifiedParams(seconds=6, stream_slots=2, q1_rows=100_000, feature_partitions=2, warmup_batches=1)
    with measure(fair_sm_spark) as m:  # run_unified measures itself too: the windows nest
        result = run_unified(fair_sm_spark, "requeue", tmp_path / "unified", params)
    assert result.stream_complete, result.stream_problems[:5]
    assert m.aggregate()["numStages"] >= 5
    assert_stage_agreement(m)
    assert_task_agreement(m)


def test_build_jar_from_the_vendor_sources_if_present(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "shared" / "vendor" / "sparkmeasure-0.28"
    if not source.is_dir() or shutil.which("java") is None:
        pytest.skip(f"no sparkMeasure source folder at {source} (or no java)")
    done = _cli("measure", "build-jar", "--source", str(source), "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    jar = Path(done.stdout.strip())
    assert jar == tmp_path / jar_name()
    assert jar.stat().st_mode & 0o044 == 0o044, "the jar must be readable by Spark's file server and other users"
    with zipfile.ZipFile(jar) as archive:
        names = archive.namelist()
    assert "ch/cern/sparkmeasure/StageMetrics.class" in names and "ch/cern/sparkmeasure/TaskMetrics.class" in names
