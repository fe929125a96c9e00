"""The delay-scheduling model and the cost-aware choice against hand-worked cases; `recommend`'s CLI; settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from spark_sched.cli.main import cli
from spark_sched.errors import SettingsError
from spark_sched.locality import (
    LocalityError,
    LocalityWait,
    StageShape,
    cost_aware_skips,
    cost_aware_wait,
    expected_locality,
    locality_conf,
    recommend_locality_wait,
    skips_for,
    stage_seconds,
    wait_for_skips,
)

# -- the locality model, by hand ----------------------------------------------------------
# M=3 nodes, R=1, N=3 tasks: a free slot holds none of the K tasks left with odds
# q_1 = 2/3, q_2 = 1/3, q_3 = 0; after D skipped offers a launch misses with q_K^(D+1).


def test_expected_locality_three_nodes_one_replica() -> None:
    assert expected_locality(3, 1, 3, 0) == pytest.approx(1 - (2 / 3 + 1 / 3) / 3)  # no wait: 2/3
    assert expected_locality(3, 1, 3, 4) == pytest.approx(1 - (32 / 243 + 1 / 243) / 3)  # 1 - 11/243 = 0.955


def test_expected_locality_replication_multiplies_the_exponent() -> None:
    # M=10, R=3, N=20, D=1: sum over K=1..9 of (1-K/10)^(3*2); K>=10 contribute 0.
    by_hand = sum((1 - k / 10) ** 6 for k in range(1, 10))
    assert by_hand == pytest.approx(0.978405)
    assert expected_locality(10, 3, 20, 1) == pytest.approx(1 - 0.978405 / 20)


def test_one_node_is_all_local_and_skips_raise_locality() -> None:
    assert expected_locality(1, 1, 5, 0) == 1.0
    values = [expected_locality(20, 1, 10, d) for d in range(0, 60, 5)]
    assert values == sorted(values) and values[0] < 0.8 and values[-1] > 0.99


def test_target_mode_takes_the_fewest_skips_that_reach_it() -> None:
    # D=3: 1 - (16/81 + 1/81)/3 = 0.930 < 0.95 <= D=4's 0.955.
    assert expected_locality(3, 1, 3, 3) == pytest.approx(1 - 17 / 243)
    assert skips_for(0.95, 3, 1, 3) == 4
    assert skips_for(0.9, 3, 1, 3) == 3
    assert skips_for(0.5, 3, 1, 3) == 0  # no wait already gives 2/3


def test_wait_is_skips_times_task_length_over_slots() -> None:
    assert wait_for_skips(4, 1.0, 3) == pytest.approx(4 / 3)
    assert wait_for_skips(6, 2.0, 12) == pytest.approx(1.0)


# -- the cost model, by hand --------------------------------------------------------------
# Same stage, S=3 slots, T=1 s: J(D) = N*T/S + sum_K [q_K^(D+1)*P + (T/S)*(q_K + ... + q_K^D)].


def test_stage_time_by_hand() -> None:
    shape = StageShape(tasks=3, task_seconds=1.0, slots=3, nodes=3, miss_seconds=2.0)
    # D=0: 1 + (2/3 + 1/3)*2 = 3.  D=1: 1 + (4/9)*2 + (1/3)(2/3) + (1/9)*2 + (1/3)(1/3) = 1 + 13/9.
    assert list(stage_seconds(shape, [0, 1])) == pytest.approx([3.0, 1 + 13 / 9])


def test_expensive_miss_waits_until_within_one_percent_of_the_best() -> None:
    # Every skip pays ((1-q_K)*P > T/S for K=1,2), J falls to 1 + (1/3)(2 + 1/2) = 11/6, and
    # J(D) - 11/6 = (2/3)^(D+1) + 1.5*(1/3)^(D+1): D=8 leaves 0.0261, D=9 leaves 0.0174 <= 0.01*11/6.
    shape = StageShape(tasks=3, task_seconds=1.0, slots=3, nodes=3, miss_seconds=2.0)
    assert cost_aware_skips(shape) == 9
    # The same with a continuous D = W*S/T: (2/3)^(D+1) = 0.01*11/6 at D = 8.87, W = D/3 = 2.96 s.
    assert cost_aware_wait([shape]) == pytest.approx(2.96)


def test_interior_optimum() -> None:
    # P = 0.9: the last task does not pay for a skip ((1/3)*0.9 < 1/3), the second-last does
    # ((2/3)*0.9 > 1/3). J = 1.9, 1.8333, 1.8185, 1.8185, then rising: best D=2, and D=1 is
    # within 1 % of it (1.8333 <= 1.01 * 1.8185).
    shape = StageShape(tasks=3, task_seconds=1.0, slots=3, nodes=3, miss_seconds=0.9)
    assert list(stage_seconds(shape, [0, 1, 2, 3])) == pytest.approx([1.9, 1 + 5 / 6, 1.818519, 1.818519], rel=1e-5)
    assert cost_aware_skips(shape, slack=0.0) == 2
    assert cost_aware_skips(shape) == 1


def test_cheap_miss_means_no_wait() -> None:
    # P = 0.4: (1-q_K)*P is 0.133 and 0.267, both under T/S = 0.333: every skip costs more than it saves.
    assert cost_aware_skips(StageShape(3, 1.0, 3, 3, 1, 0.4)) == 0
    assert cost_aware_skips(StageShape(3, 1.0, 3, 3, 1, 0.0)) == 0
    # Break-even of the last task: P = T*M/S = 1 s; just above it waiting pays.
    assert cost_aware_skips(StageShape(3, 1.0, 3, 3, 1, 1.5)) > 0


def test_one_wait_for_stages_that_disagree() -> None:
    costly = StageShape(3, 1.0, 3, 3, 1, 2.0)
    free = StageShape(3, 1.0, 3, 3, 1, 0.0)
    both = cost_aware_wait([costly, free])
    assert 0.0 < both < cost_aware_wait([costly]) and cost_aware_wait([free]) == 0.0


def test_recommend_by_cost_and_by_target() -> None:
    by_cost = recommend_locality_wait(3, 1, 1, 3, 1.0, miss_seconds=2.0)
    assert by_cost.mode == "cost" and by_cost.skips == 9 and by_cost.wait.process == pytest.approx(3.0)
    assert by_cost.predicted_seconds == pytest.approx(float(stage_seconds(StageShape(3, 1.0, 3, 3, 1, 2.0), 9)[0]))
    assert by_cost.no_wait_seconds == pytest.approx(3.0) and by_cost.predicted_change < -0.35
    by_target = recommend_locality_wait(3, 1, 1, 3, 1.0)  # no miss cost known: target 0.95
    assert by_target.mode == "target" and by_target.skips == 4 and by_target.wait.process == pytest.approx(4 / 3)
    assert recommend_locality_wait(3, 1, 1, 3, 1.0, target=0.9, miss_seconds=2.0).skips == 3  # a target wins
    conf = by_target.wait.spark_conf()
    assert conf["spark.locality.wait.process"] == "1334ms" and conf["spark.locality.wait.node"] == "0ms"
    assert conf["spark.locality.wait.legacyResetOnTaskLaunch"] == "true"
    assert "spark.locality.wait.legacyResetOnTaskLaunch" not in LocalityWait(1.0, 1.0, 1.0).spark_conf()


def test_recommend_disk_input_and_racks() -> None:
    rec = recommend_locality_wait(10, 2, 3, 20, 2.0, target=0.95, racks=2, cached=False)
    # M=10, R=3, N=20: D=1 leaves 0.978/20 = 0.049 misses -> 0.951 >= 0.95; W = 1*2/20.
    assert rec.skips == 1 and rec.wait.process == 0.0 and rec.wait.node == pytest.approx(0.1)
    # Racks as nodes: M=2, R=3 capped to 2, N=20: no wait already gives 1 - (1/2)^2/20 = 0.9875.
    assert rec.rack_skips == 0 and rec.wait.rack == 0.0
    costly_racks = recommend_locality_wait(10, 2, 1, 20, 2.0, racks=2, miss_seconds=1.0, rack_miss_seconds=5.0)
    assert costly_racks.rack_skips > 0 and costly_racks.wait.rack > 0


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
        {"miss_seconds": -1.0},
        {"miss_seconds": float("nan")},
    ],
)
def test_recommend_rejects_bad_inputs(kwargs: dict) -> None:
    args = {"nodes": 3, "slots_per_node": 1, "replication": 1, "tasks": 3, "task_seconds": 1.0, **kwargs}
    with pytest.raises(LocalityError, match="is not valid; allowed"):
        recommend_locality_wait(**args)


# -- the recommend CLI ----------------------------------------------------------------------

GOOD = ["locality", "recommend", "--nodes", "3", "--slots-per-node", "1", "--tasks", "3", "--task-seconds", "1"]


def test_recommend_cli_prints_conf_and_prediction() -> None:
    result = CliRunner().invoke(cli, GOOD)
    assert result.exit_code == 0, result.output
    assert "spark.locality.wait.process=1334ms" in result.output and "target mode" in result.output
    by_cost = CliRunner().invoke(cli, [*GOOD, "--miss-seconds", "2"])
    assert "spark.locality.wait.process=3000ms" in by_cost.output and "cost mode" in by_cost.output
    data = json.loads(CliRunner().invoke(cli, [*GOOD, "--miss-seconds", "0.4", "--json"]).output)
    assert data["mode"] == "cost" and data["skips"] == 0 and data["spark_conf"]["spark.locality.wait.process"] == "0ms"


@pytest.mark.parametrize(
    ("flag", "value", "needle"),
    [
        ("--target", "1", "target"),
        ("--target", "-0.5", "target"),
        ("--nodes", "0", "nodes"),
        ("--slots-per-node", "0", "slots"),
        ("--tasks", "-3", "tasks"),
        ("--task-seconds", "0", "task"),
        ("--replication", "0", "replication"),
        ("--miss-seconds", "-1", "miss_seconds"),
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


# -- settings ---------------------------------------------------------------------------------


def test_locality_settings_strings() -> None:
    assert locality_conf("", None) == {}
    assert locality_conf("500ms", None)["spark.locality.wait.rack"] == "500ms"
    assert locality_conf("2", None)["spark.locality.wait.node"] == "2000ms"
    auto = locality_conf("auto", (3, 1))
    assert auto["spark.locality.wait.process"] == "1334ms"  # M=3, L=1, N=S=3, R=1, T=1 s: D=4
    assert locality_conf("auto:2s", (3, 1))["spark.locality.wait.process"] == "2667ms"
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
