"""Locality on real local[2] runs: waits applied, achieved locality, `report`, `advise` and bad event logs."""

from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from spark_sched.cli.main import cli
from spark_sched.locality import LocalityWait, achieved_locality, inputs_from_tasks


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two real local[2] applications: a cached RDD read twice (task frame, conf, event log); one that ran nothing."""
    from pyspark.sql import SparkSession

    from spark_sched import configure, load_settings
    from spark_sched.measure import measure

    state = tmp_path_factory.mktemp("locality-state")
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    waits = LocalityWait(process=0.25, node=0.0, rack=1.0)
    spark = configure(SparkSession.builder, load_settings(), master="local[2]", app_name="locality-report",
                      state_dir=state, locality=waits).getOrCreate()
    try:
        sc = spark.sparkContext
        conf = {k: v for k, v in sc.getConf().getAll() if k.startswith("spark.locality")}
        data = sc.parallelize(range(400), 4).map(lambda i: i * i).cache()
        data.count()
        with measure(spark) as m:
            data.sum()
            data.map(lambda v: (v % 3, v)).reduceByKey(lambda a, b: a + b).collect()
        tasks = m.tasks()
        app_id = sc.applicationId
    finally:
        spark.stop()
    idle = configure(SparkSession.builder, load_settings(), master="local[1]", app_name="locality-idle",
                     state_dir=state).getOrCreate()
    idle_id = idle.sparkContext.applicationId
    idle.stop()
    logs = {p.name: p for p in (state / "events").iterdir()}
    return {"tasks": tasks, "conf": conf, "log": logs[f"eventlog_v2_{app_id}"],
            "idle_log": logs[f"eventlog_v2_{idle_id}"]}


def test_configure_applies_waits(runs: dict) -> None:
    conf = runs["conf"]
    assert conf["spark.locality.wait.process"] == "250ms"
    assert conf["spark.locality.wait.node"] == "0ms"
    assert conf["spark.locality.wait.rack"] == "1000ms"


def test_achieved_locality_per_stage_and_job(runs: dict) -> None:
    tasks = runs["tasks"]
    by_stage = achieved_locality(tasks, "stageId")
    assert list(by_stage["tasks"]) == list(tasks.groupby("stageId").size())
    levels = ["PROCESS_LOCAL", "NODE_LOCAL", "RACK_LOCAL", "NO_PREF", "ANY"]
    assert all(math.isclose(sum(row[level] for level in levels), 1.0) for _, row in by_stage.iterrows())
    # Reading the cached RDD on the one executor that holds it is PROCESS_LOCAL.
    sum_job = tasks["jobId"].min()
    first = achieved_locality(tasks[tasks["jobId"] == sum_job], "jobId").iloc[0]
    assert first["PROCESS_LOCAL"] == 1.0 and first["local_fraction"] == 1.0
    assert len(achieved_locality(tasks, "jobId")) == tasks["jobId"].nunique()


def test_inputs_from_tasks(runs: dict) -> None:
    inputs = inputs_from_tasks(runs["tasks"])
    assert inputs["nodes"] == 1 and 1 <= inputs["slots_per_node"] <= 2
    assert inputs["tasks"] == 4 and inputs["task_seconds"] > 0


def test_locality_report_cli_reads_the_event_log(runs: dict) -> None:
    tasks, log = runs["tasks"], runs["log"]
    result = CliRunner().invoke(cli, ["locality", "report", str(log), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["application"]["tasks"] >= len(tasks)
    assert {row["stageId"] for row in data["stages"]} >= set(tasks["stageId"])
    text = CliRunner().invoke(cli, ["locality", "report", str(log)])
    assert text.exit_code == 0 and "PROCESS_LOCAL" in text.output and "application" in text.output
    from_log = CliRunner().invoke(cli, ["locality", "recommend", "--from-eventlog", str(log), "--json"])
    assert from_log.exit_code == 0, from_log.output
    assert json.loads(from_log.output)["inputs"]["nodes"] == 1


def test_advise_on_the_toolkits_log(runs: dict) -> None:
    """One host: the run's waits, the cached-read stage found, and the advice that no wait is needed."""
    result = CliRunner().invoke(cli, ["locality", "advise", str(runs["log"]), "--json"])
    assert result.exit_code == 0, result.output
    advice = json.loads(result.output)
    assert advice["run_wait_seconds"]["process"] == pytest.approx(0.25)
    assert advice["run_wait_seconds"]["rack"] == pytest.approx(1.0)
    assert advice["nodes"] == 1 and advice["slots"] == 2 and advice["level"] == "process"
    sum_stage = int(runs["tasks"].loc[runs["tasks"]["jobId"] == runs["tasks"]["jobId"].min(), "stageId"].iloc[0])
    assert sum_stage in [s["stageId"] for s in advice["stages"]]  # it read the cache computed by count()
    assert advice["spark_conf"]["spark.locality.wait.process"] == "0ms" and advice["predicted_locality"] == 1.0
    text = CliRunner().invoke(cli, ["locality", "advise", str(runs["log"])])
    assert text.exit_code == 0 and "one host" in text.output and "# advised: process wait 0ms" in text.output


def test_measurement_report_has_achieved_vs_predicted(runs: dict) -> None:
    text = CliRunner().invoke(cli, ["report", str(runs["log"])])
    assert text.exit_code == 0, text.output
    assert "Locality, achieved vs predicted" in text.output
    data = json.loads(CliRunner().invoke(cli, ["report", str(runs["log"]), "--json"]).output)
    rows = data["localityCheck"]
    assert rows and all(row["predicted"] == 1.0 and row["achieved"] == 1.0 and row["wait_s"] == 0.25 for row in rows)


def _one_line_exit_2(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "allowed" in lines[0], result.output


def test_bad_event_logs_are_one_line_exit_2(runs: dict, tmp_path: Path) -> None:
    import zstandard

    _one_line_exit_2(["locality", "advise", str(tmp_path / "nope")], "nope")
    _one_line_exit_2(["locality", "advise", str(runs["idle_log"])], "no tasks")
    # Truncated: the compressed rolled log cut in half, and the same events as plain text cut in half.
    files = sorted(runs["log"].glob("events_*"))
    cut = tmp_path / "cut"
    cut.mkdir()
    raw = files[-1].read_bytes()
    (cut / files[-1].name).write_bytes(raw[: len(raw) // 2])
    _one_line_exit_2(["locality", "advise", str(cut)], "cut short")
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw), read_across_frames=True)
    text = reader.read().decode()
    plain = tmp_path / "plain-log"
    plain.write_text(text[: text.rindex("SparkListenerApplicationEnd") - 5])  # every task, then a torn last line
    _one_line_exit_2(["locality", "advise", str(plain)], "cut short")
    _one_line_exit_2(["locality", "report", str(plain)], "cut short")
    # Whole, but with an executor's cores as Spark never writes them.
    odd = tmp_path / "odd-log"
    odd.write_text(text.replace('"Total Cores":', '"Total Cores":"many","x":', 1))
    assert '"many"' in odd.read_text()
    _one_line_exit_2(["locality", "advise", str(odd)], "SparkListenerExecutorAdded")
    # Still being written is not cut short: the same events, named in progress, are read.
    shutil.copy(plain, tmp_path / "app-1.inprogress")
    assert CliRunner().invoke(cli, ["locality", "advise", str(tmp_path / "app-1.inprogress")]).exit_code == 0
