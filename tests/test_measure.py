"""measure(): one schema for a real multi-stage job; reports in text, JSON and CSV; job-tag latency groups."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest
from pyspark import InheritableThread
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

import spark_sched
from spark_sched.measure import MeasureError, Measurement, measure
from spark_sched.measure.schema import (
    AGGREGATE_NAMES,
    EXTRA_AGGREGATES,
    LOCALITY_LEVELS,
    METRICS,
    NS_METRICS,
    NS_PER_MS,
    STAGE_COLUMNS,
    TASK_COLUMNS,
    ns_key,
    user_tags,
)

TAG = "spark-sched:class=test-schema"
COMMON_TASK_COLUMNS = (
    "status",
    "killReason",
    "taskLocality",
    "host",
    "executorId",
    "pool",
    "jobTags",
    "launchTime",
    "finishTime",
    "stageId",
    "taskId",
    "index",
    "attempt",
)


_RUNS: dict[str, Measurement] = {}


@pytest.fixture
def schema_run(spark: SparkSession) -> Measurement:
    """The window below, measured once per application (the tests only read it)."""
    app = spark.sparkContext.applicationId
    if app not in _RUNS:
        _RUNS[app] = _two_jobs(spark)
    return _RUNS[app]


def _two_jobs(spark: SparkSession) -> Measurement:
    """A two-job window: an RDD reduceByKey (2 stages) and a DataFrame group-by (shuffle), one tagged."""
    sc = spark.sparkContext
    with measure(spark) as m:
        sc.addJobTag(TAG)
        try:
            pairs = sc.parallelize(range(1000), 4).map(lambda x: (x % 7, 1)).reduceByKey(lambda a, b: a + b, 3)
            counted = dict(pairs.collect())
        finally:
            sc.removeJobTag(TAG)
        grouped = spark.range(5000).groupBy((F.col("id") % 5).alias("k")).count().collect()
    assert sum(counted.values()) == 1000 and sum(r["count"] for r in grouped) == 5000
    return m


def test_frames_carry_sparkmeasure_names_and_spark_only_columns(schema_run) -> None:
    tasks, stages = schema_run.tasks(), schema_run.stages()
    assert list(tasks.columns) == list(TASK_COLUMNS)
    assert list(stages.columns) == list(STAGE_COLUMNS)
    assert set(COMMON_TASK_COLUMNS) <= set(tasks.columns)
    assert len(stages) >= 3  # reduceByKey: map + result stage; group-by: at least one more
    assert set(tasks["status"]) == {"SUCCESS"}
    assert set(tasks["taskLocality"]) <= set(LOCALITY_LEVELS)
    assert (tasks["finishTime"] >= tasks["launchTime"]).all() and (tasks["launchTime"] > 0).all()
    assert tasks["jobTags"].map(lambda t: isinstance(t, tuple)).all()
    assert (tasks["killReason"] == "").all() and (tasks["pool"] == "default").all()
    # every task belongs to a stage and a job of the window
    assert set(tasks["stageId"]) <= set(stages["stageId"])
    assert set(tasks["jobId"]) <= set(schema_run.jobs()["jobId"])
    # the reduceByKey's shuffle: 4 map tasks wrote what 3 reduce tasks read
    rdd_stages = stages[stages["jobTags"].map(lambda t: TAG in t)]
    assert sorted(rdd_stages["numTasks"]) == [3, 4]
    assert rdd_stages["shuffleBytesWritten"].sum() == rdd_stages["shuffleTotalBytesRead"].sum() > 0
    assert rdd_stages["shuffleRecordsWritten"].sum() == rdd_stages["shuffleRecordsRead"].sum()


def test_aggregate_sums_successful_tasks_with_sparkmeasure_names(schema_run) -> None:
    agg, tasks, stages = schema_run.aggregate(), schema_run.tasks(), schema_run.stages()
    assert list(agg) == [*AGGREGATE_NAMES, *EXTRA_AGGREGATES]
    assert agg["numStages"] == len(stages) and agg["numTasks"] == len(tasks) == stages["numTasks"].sum()
    for name in METRICS:
        if name == "resultSize":  # sparkMeasure keeps the largest stage total here
            assert agg[name] == tasks.groupby("stageId")[name].sum().max() > 0
        elif name in NS_METRICS:  # summed in ns, converted once: the tasks' floored ms, plus under 1 ms a task
            ns = sum(t[ns_key(name)] for t in schema_run.records.tasks if t["status"] == "SUCCESS")
            assert agg[name] == ns // NS_PER_MS, name
            assert tasks[name].sum() <= agg[name] < tasks[name].sum() + len(tasks), name
        else:
            assert agg[name] == tasks[name].sum(), name
    assert agg["executorRunTime"] > 0 and agg["recordsRead"] >= 5000
    assert agg["elapsedTime"] == stages["completionTime"].max() - stages["submissionTime"].min()
    assert agg["elapsedTime"] >= stages["stageDuration"].max()
    assert agg["wastedTaskTime"] == agg["numKilledTasks"] == agg["numFailedTasks"] == 0
    assert sum(agg["localityFraction"].values()) == pytest.approx(1.0)
    assert set(agg["localityFraction"]) == set(LOCALITY_LEVELS)


def test_job_tags_group_latency_percentiles(schema_run) -> None:
    jobs = schema_run.jobs()
    tagged = jobs[jobs["jobTags"].map(lambda t: TAG in t)]
    assert len(tagged) == 1 and (tagged["status"] == "SUCCEEDED").all()
    latency = schema_run.latency("spark-sched:class=")
    assert list(latency) == ["test-schema"]
    group = latency["test-schema"]
    assert group["count"] == 1 and group["p50"] == group["p99"] == float(tagged["duration"].iloc[0]) > 0


def test_reports_text_json_csv(schema_run, tmp_path: Path) -> None:
    text = schema_run.report(tag_prefix="spark-sched:class=")
    agg = schema_run.aggregate()
    assert "Aggregated Spark stage metrics:" in text
    assert f"executorRunTime => {agg['executorRunTime']} (" in text
    assert "test-schema: n=1" in text
    as_json = json.loads(json.dumps(schema_run.to_json("spark-sched:class=")))
    assert as_json["aggregate"]["numTasks"] == agg["numTasks"]
    assert set(as_json["latency"]["groups"]) == {"test-schema"}
    paths = schema_run.save_csv(tmp_path / "csv")
    assert [p.name for p in paths] == ["tasks.csv", "stages.csv", "jobs.csv"]
    tasks_csv = pd.read_csv(paths[0])
    assert len(tasks_csv) == agg["numTasks"] and set(TASK_COLUMNS) == set(tasks_csv.columns)


def test_results_before_the_window_ends_are_refused(spark: SparkSession) -> None:
    m = spark_sched.measure(spark)  # the package itself is callable, as `spark_sched.measure(spark)`
    assert isinstance(m, Measurement)
    with pytest.raises(MeasureError, match="after the window ends"):
        m.tasks()
    with pytest.raises(MeasureError, match="source = 'sparkMeasure' is not valid; allowed: spark, sparkmeasure"):
        measure(spark, source="sparkMeasure")


def test_session_managed_tags_are_reduced_to_the_users_tags() -> None:
    session = "spark-session-5224b3b9-c3de-49bb-b89a-1f52bb52c636"
    raw = [
        "mine",
        session,
        f"{session}-execution-root-id-0",
        f"{session}-thread-32966351-6340-47a9-b8cd-91526d627a9f-spark-sched:class=high",
    ]
    assert user_tags(raw) == ("mine", "spark-sched:class=high")


def test_a_job_still_running_when_the_window_closes_is_not_waited_for(spark: SparkSession) -> None:
    """A background job submitted in the window shows as RUNNING (with a note); the window does not wait for it.

    The settle deadline is set far beyond the test's own timeout, so waiting for the job would fail the test.
    """
    sc, tag = spark.sparkContext, "measure-test:background"
    errors: list[BaseException] = []

    def background() -> None:
        sc.addJobTag(tag)
        try:
            sc.parallelize([0], 1).map(lambda x: time.sleep(600) or x).collect()
        except Exception as exc:  # noqa: BLE001 - cancelled below, as intended
            errors.append(exc)

    thread = InheritableThread(target=background)
    try:
        with measure(spark, settle_timeout_s=3600) as m:
            thread.start()
            _wait_active_tasks(spark, 1, thread)
            spark.range(100).count()
    finally:
        sc.cancelJobsWithTag(tag)
        thread.join(120)
    jobs, tasks = m.jobs(), m.tasks()
    background_jobs = jobs[jobs["jobTags"].map(lambda t: tag in t)]
    assert list(background_jobs["status"]) == ["RUNNING"]
    assert list(tasks[tasks["jobTags"].map(lambda t: tag in t)]["status"]) == ["RUNNING"]
    assert any("still running when the window closed" in note for note in m.records.notes)
    assert m.aggregate()["numTasks"] == (tasks["status"] == "SUCCESS").sum() > 0
    assert not thread.is_alive() and errors


def _wait_active_tasks(spark: SparkSession, count: int, thread: InheritableThread) -> None:
    tracker = spark.sparkContext.statusTracker()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and thread.is_alive():
        infos = [tracker.getStageInfo(s) for s in tracker.getActiveStageIds()]
        if sum(i.numActiveTasks for i in infos if i is not None) >= count:
            return
        time.sleep(0.05)
    raise AssertionError("the background job never ran")
