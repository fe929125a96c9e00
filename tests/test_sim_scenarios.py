"""`spark-sched sim run` scenarios `delay` and `kmn` (Spark-free): quick runs, the papers' relations, the CLI.

The quick workloads are small enough to run in seconds; the assertions are the
relations the papers predict and the model must reproduce (a wait buys small jobs
locality; choosing K of N beats a pre-selected sample that does not wait; extra
upstream tasks cut job time), never the figures themselves.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from spark_sched.cli.main import cli
from spark_sched.errors import SettingsError
from spark_sched.sim.cluster import SimCluster
from spark_sched.sim.scenarios import ScenarioReport, scenarios
from spark_sched.sim.scenarios.delay import SPARK_DEFAULT_S
from spark_sched.sim.scenarios.kmn import VARIANTS
from spark_sched.sim.simulator import Simulation
from spark_sched.sim.workload import JobSpec, StageSpec, TaskSpec


@pytest.fixture(scope="module")
def delay_report() -> ScenarioReport:
    return scenarios().get("delay").run(40, 1, True, None)


@pytest.fixture(scope="module")
def kmn_report() -> ScenarioReport:
    return scenarios().get("kmn").run(40, 1, True, None)


def _finite_rows(report: ScenarioReport) -> None:
    for name, row in report.rows.items():
        assert row, name
        for figure in ("mean_s", "p50_s", "p99_s"):
            key = figure if figure in row else f"all_{figure}"
            assert math.isfinite(row[key]) and row[key] > 0, (name, key)


def test_delay_rows_for_every_variant(delay_report: ScenarioReport) -> None:
    names = list(delay_report.rows)
    assert names[:2] == ["wait 0", "wait 3s (Spark default)"]
    assert names[2].startswith("recommended ")
    _finite_rows(delay_report)
    for row in delay_report.rows.values():
        assert row["unfinished_jobs"] == 0
        assert 0 < row["small_jobs"] < row["all_jobs"]
    sweep = delay_report.params["sweep"]
    assert {"0", f"{SPARK_DEFAULT_S:g}"} <= set(sweep)


def test_delay_wait_buys_small_jobs_locality(delay_report: ScenarioReport) -> None:
    """Zaharia et al.: with no wait small jobs miss their data; the recommended wait (and 3 s) gets it back."""
    rows = delay_report.rows
    none, default = rows["wait 0"], rows["wait 3s (Spark default)"]
    recommended = rows[next(n for n in rows if n.startswith("recommended"))]
    assert recommended["small_locality"] > none["small_locality"]
    assert default["small_locality"] > none["small_locality"]
    assert recommended["small_mean_s"] < none["small_mean_s"]
    # Small jobs are the ones that lose locality without a wait: large ones find a local slot anyway.
    assert none["small_locality"] < none["all_locality"]


def test_delay_recommendation_is_the_toolkits(delay_report: ScenarioReport) -> None:
    """The recommended wait is what `recommend_locality_wait` gives for the measured costs, not a constant."""
    from spark_sched.locality.recommend import recommend_locality_wait

    p = delay_report.params
    rec = p["recommendation"]
    again = recommend_locality_wait(p["hosts"], p["slots_per_host"], p["replicas"], rec["inputs"]["tasks"],
                                    p["measured_local_task_s"], racks=p["racks"], cached=False,
                                    miss_seconds=p["measured_miss_s"])
    assert rec["wait_seconds"]["node"] == pytest.approx(again.wait.node)
    assert 1.5 < p["measured_remote_over_local"] < 3.5  # a remote task takes about twice a local one


def test_kmn_rows_for_every_variant(kmn_report: ScenarioReport) -> None:
    assert list(kmn_report.rows) == list(VARIANTS)
    _finite_rows(kmn_report)
    for row in kmn_report.rows.values():
        assert row["unfinished_jobs"] == 0
        assert row["cross_rack_gb"] > 0


def test_kmn_relations(kmn_report: ScenarioReport) -> None:
    """Venkataraman et al.: choosing K of N gets more local tasks than a fixed sample taking any slot; extra
    upstream tasks (first K of M kept) cut job time, at the cost of the extra tasks they launch."""
    rows = kmn_report.rows
    fixed, nowait, kmn = rows["random sample"], rows["random sample, wait 0"], rows["kmn (M=K)"]
    assert kmn["locality"] > nowait["locality"]
    assert rows["kmn +5%"]["mean_s"] < fixed["mean_s"]
    assert rows["kmn +10%"]["mean_s"] < fixed["mean_s"]
    assert kmn["extra_task_share"] == 0 == fixed["extra_task_share"]
    assert 0 < rows["kmn +5%"]["extra_task_share"] <= rows["kmn +5%"]["planned_extra_share"] + 1e-12
    assert rows["kmn +5%"]["planned_extra_share"] < rows["kmn +10%"]["planned_extra_share"]


def test_needed_finishes_a_stage_after_k_tasks_and_kills_the_rest() -> None:
    """The model's `StageSpec.needed`: the stage ends with its K-th success; the slow tasks are killed."""
    cluster = SimCluster.uniform(hosts=4, slots=2)
    tasks = [TaskSpec(1.0), TaskSpec(1.0), TaskSpec(50.0)]
    stages = [StageSpec(0, tasks, needed=2), StageSpec(1, [TaskSpec(1.0)], parents=(0,))]
    sim = Simulation(cluster)
    sim.submit(JobSpec(0, 0.0, stages))
    result = sim.run()
    job = result.jobs[0]
    assert job.status == "SUCCEEDED"
    assert job.finish == pytest.approx(2.0, abs=0.01)  # not 50 s: the straggler did not hold the next stage
    assert job.killed == 1 and job.tasks == 3


@pytest.mark.parametrize("scenario", ["delay", "kmn"])
def test_cli_writes_strict_json_and_plots(tmp_path: Path, scenario: str) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["sim", "run", scenario, "--hosts", "30", "--quick", "--out", str(out),
                                      "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    written = (out / f"{scenario}.json").read_text()
    document: dict[str, Any] = json.loads(written, parse_constant=_refuse)
    assert document["rows"] == printed["rows"] and document["scenario"] == scenario
    assert document["quick"] is True and document["hosts"] == 30
    assert document["plots"] and all(Path(p).stat().st_size > 0 for p in document["plots"])
    assert document["comparison"] and all({"figure", "paper", "model", "note"} <= set(c)
                                          for c in document["comparison"])


def _refuse(name: str) -> None:
    raise AssertionError(f"non-strict JSON constant {name}")


def test_cli_table_names_every_variant(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sim", "run", "kmn", "--hosts", "20", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in VARIANTS:
        assert name in result.output
    assert "paper vs model" in result.output


@pytest.mark.parametrize("args", [["nope"], ["delay", "--hosts", "0"], ["kmn", "--hosts", "5"],
                                  ["kmn", "--hosts", "many"], ["delay", "--hosts", "999999"]])
def test_cli_bad_scenario_or_hosts_is_one_line_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["sim", "run", *args, "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spark-sched: error:"), result.output
    assert "Traceback" not in result.output


def test_unknown_scenario_names_those_found() -> None:
    result = CliRunner().invoke(cli, ["sim", "run", "nope"])
    for name in scenarios().names():
        assert name in result.output


def test_scenario_checks_hosts_itself() -> None:
    with pytest.raises(SettingsError, match="--hosts"):
        scenarios().get("kmn").run(3, 0, True, None)
