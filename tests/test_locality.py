"""The delay-scheduling model against hand-worked cases; recommend's CLI; achieved locality from real runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from spark_sched.cli.main import cli
from spark_sched.errors import SettingsError
from spark_sched.locality import (
    LocalityError,
    LocalityWait,
    achieved_locality,
    expected_locality,
    inputs_from_tasks,
    locality_conf,
    recommend_locality_wait,
    skips_for,
    wait_for_skips,
)

# -- the model, by hand ---------------------------------------------------------------


def test_expected_locality_three_nodes_one_replica() -> None:
    # M=3, R=1, N=3: K=1 -> (2/3)^D, K=2 -> (1/3)^D, K=3 -> 0. D=1: 1 - (2/3 + 1/3 + 0)/3 = 2/3.
    assert expected_locality(3, 1, 3, 1) == pytest.approx(2 / 3)
    # D=5: 1 - (32/243 + 1/243)/3 = 1 - 11/243.
    assert expected_locality(3, 1, 3, 5) == pytest.approx(1 - 11 / 243)


def test_expected_locality_replication_multiplies_the_exponent() -> None:
    # M=10, R=3, N=20, D=2: sum over K=1..9 of (1-K/10)^6, K>=10 contribute 0.
    by_hand = sum((1 - k / 10) ** 6 for k in range(1, 10))
    assert by_hand == pytest.approx(0.978405)
    assert expected_locality(10, 3, 20, 2) == pytest.approx(1 - 0.978405 / 20)


def test_no_skips_no_locality_and_one_node_is_all_local() -> None:
    assert expected_locality(4, 2, 8, 0) == 0.0
    assert expected_locality(1, 1, 5, 0) == 1.0


def test_locality_grows_with_skips_toward_one() -> None:
    values = [expected_locality(20, 1, 10, d) for d in range(0, 60, 5)]
    assert values == sorted(values) and values[-1] > 0.99


def test_skips_are_the_fewest_that_reach_the_target() -> None:
    # From the cases above: D=4 gives 1 - (16/81 + 1/81)/3 = 0.930 < 0.95, D=5 gives 0.955.
    assert expected_locality(3, 1, 3, 4) == pytest.approx(1 - 17 / 243)
    assert skips_for(0.95, 3, 1, 3) == 5
    assert skips_for(0.9, 3, 1, 3) == 4


def test_wait_is_skips_times_task_length_over_slots() -> None:
    assert wait_for_skips(5, 1.0, 3) == pytest.approx(5 / 3)
    assert wait_for_skips(6, 2.0, 12) == pytest.approx(1.0)


def test_recommend_cached_waits_at_process_level() -> None:
    rec = recommend_locality_wait(nodes=3, slots_per_node=1, replication=1, tasks=3, task_seconds=1.0)
    assert rec.skips == 5 and rec.wait.process == pytest.approx(5 / 3) and rec.wait.node == rec.wait.rack == 0.0
    assert rec.predicted_locality == pytest.approx(1 - 11 / 243)
    assert rec.wait.spark_conf()["spark.locality.wait.process"] == "1667ms"
    # The model counts skips from the last local launch: Spark's per-launch timer reset.
    assert rec.wait.spark_conf()["spark.locality.wait.legacyResetOnTaskLaunch"] == "true"
    assert "spark.locality.wait.legacyResetOnTaskLaunch" not in LocalityWait(1.0, 1.0, 1.0).spark_conf()


def test_recommend_disk_input_and_racks() -> None:
    rec = recommend_locality_wait(10, 2, 3, 20, 2.0, target=0.95, racks=2, cached=False)
    assert rec.skips == 2 and rec.wait.process == 0.0 and rec.wait.node == pytest.approx(2 * 2.0 / 20)
    # Racks as nodes: M=2, R=3 capped to 2, N=20; D=1 already gives 1 - (1/2)^2/20 >= 0.95.
    assert rec.rack_skips == 1 and rec.wait.rack == pytest.approx(2.0 / 20)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target": 1.0},
        {"target": 0.0},
        {"target": 1.5},
        {"nodes": 0},
        {"slots_per_node": -1},
        {"replication": 0},
        {"tasks": 0},
        {"task_seconds": 0.0},
        {"task_seconds": -2.0},
    ],
)
def test_recommend_rejects_bad_inputs(kwargs: dict) -> None:
    args = {"nodes": 3, "slots_per_node": 1, "replication": 1, "tasks": 3, "task_seconds": 1.0, **kwargs}
    with pytest.raises(LocalityError, match="is not valid; allowed"):
        recommend_locality_wait(**args)


# -- the CLI ------------------------------------------------------------------------------

GOOD = ["locality", "recommend", "--nodes", "3", "--slots-per-node", "1", "--tasks", "3", "--task-seconds", "1"]


def test_recommend_cli_prints_conf_and_prediction() -> None:
    result = CliRunner().invoke(cli, GOOD)
    assert result.exit_code == 0, result.output
    assert "spark.locality.wait.process=1667ms" in result.output
    assert "predicted locality 0.955" in result.output
    data = json.loads(CliRunner().invoke(cli, [*GOOD, "--json"]).output)
    assert data["skips"] == 5 and data["spark_conf"]["spark.locality.wait.node"] == "0ms"


@pytest.mark.parametrize(
    ("flag", "value", "needle"),
    [
        ("--target", "1", "target"),
        ("--target", "0", "target"),
        ("--target", "-0.5", "target"),
        ("--nodes", "0", "nodes"),
        ("--slots-per-node", "0", "slots"),
        ("--tasks", "-3", "tasks"),
        ("--task-seconds", "0", "task"),
        ("--replication", "0", "replication"),
    ],
)
def test_recommend_cli_bad_input_is_one_line_exit_2(flag: str, value: str, needle: str) -> None:
    args = list(GOOD)
    if flag in args:
        args[args.index(flag) + 1] = value
    else:
        args += [flag, value]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "allowed" in lines[0] and "Traceback" not in result.output


def test_recommend_cli_missing_inputs_named() -> None:
    result = CliRunner().invoke(cli, ["locality", "recommend", "--nodes", "3"])
    assert result.exit_code == 2
    assert "--slots-per-node" in result.output and "--from-eventlog" in result.output


# -- settings ---------------------------------------------------------------------------


def test_locality_settings_strings() -> None:
    assert locality_conf("", None) == {}
    assert locality_conf("500ms", None)["spark.locality.wait.rack"] == "500ms"
    assert locality_conf("2", None)["spark.locality.wait.node"] == "2000ms"
    auto = locality_conf("auto", (3, 1))
    assert auto["spark.locality.wait.process"] == "1667ms"  # M=3, L=1, N=S=3, R=1, T=1 s: D=5
    assert locality_conf("auto:2s", (3, 1))["spark.locality.wait.process"] == "3334ms"
    for bad in ("soon", "auto:fast", "-1s"):
        with pytest.raises(SettingsError, match="locality.wait"):
            locality_conf(bad, (3, 1))
    with pytest.raises(SettingsError, match="auto"):
        locality_conf("auto", None)




def test_auto_locality_in_settings(tmp_path: Path) -> None:
    from spark_sched import Settings
    from spark_sched.session import spark_conf

    # local[2]: one node, every slot is local, no wait needed.
    conf = spark_conf(Settings(master="local[2]", locality="auto", state_dir=tmp_path))
    assert conf["spark.locality.wait.process"] == "0ms"
    with pytest.raises(SettingsError, match="auto"):  # an unknown master: nodes and slots are not known
        spark_conf(Settings(master="spark://10.0.0.1:7077", locality="auto", state_dir=tmp_path))


# -- achieved locality from real runs ---------------------------------------------------


@pytest.fixture(scope="module")
def cached_run(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """A real local[2] application: a cached RDD read twice; its task frame (live) and its event log."""
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
    logs = [p for p in (state / "events").iterdir() if app_id in p.name]
    return tasks, logs[0], conf


def test_configure_applies_waits(cached_run: tuple) -> None:
    conf = cached_run[2]
    assert conf["spark.locality.wait.process"] == "250ms"
    assert conf["spark.locality.wait.node"] == "0ms"
    assert conf["spark.locality.wait.rack"] == "1000ms"


def test_achieved_locality_per_stage_and_job(cached_run: tuple) -> None:
    tasks = cached_run[0]
    by_stage = achieved_locality(tasks, "stageId")
    assert list(by_stage["tasks"]) == list(tasks.groupby("stageId").size())
    levels = ["PROCESS_LOCAL", "NODE_LOCAL", "RACK_LOCAL", "NO_PREF", "ANY"]
    assert all(math.isclose(sum(row[level] for level in levels), 1.0) for _, row in by_stage.iterrows())
    # Reading the cached RDD on the one executor that holds it is PROCESS_LOCAL.
    sum_job = tasks["jobId"].min()
    first = achieved_locality(tasks[tasks["jobId"] == sum_job], "jobId").iloc[0]
    assert first["PROCESS_LOCAL"] == 1.0 and first["local_fraction"] == 1.0
    assert len(achieved_locality(tasks, "jobId")) == tasks["jobId"].nunique()


def test_inputs_from_tasks(cached_run: tuple) -> None:
    tasks = cached_run[0]
    inputs = inputs_from_tasks(tasks)
    assert inputs["nodes"] == 1 and 1 <= inputs["slots_per_node"] <= 2
    assert inputs["tasks"] == 4 and inputs["task_seconds"] > 0


def test_report_cli_reads_the_event_log(cached_run: tuple) -> None:
    tasks, log, _ = cached_run
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


def test_report_cli_missing_file_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["locality", "report", str(tmp_path / "nope")])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
