"""The local standalone cluster: distinct hosts, authentication, and a clean stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import holds_within
from pyspark.sql import SparkSession

from spark_sched import JobError, configure, load_settings
from spark_sched.cli.main import cli
from spark_sched.cluster import ClusterState, LocalCluster, group_members
from spark_sched.submit import submit

pytestmark = pytest.mark.cluster


def _task_hosts(session: SparkSession) -> list[str]:
    """Hosts of every successful task of the app, from Spark's REST API."""
    base = f"{session.sparkContext.uiWebUrl}/api/v1/applications/{session.sparkContext.applicationId}"
    with urllib.request.urlopen(f"{base}/stages?status=complete", timeout=10) as resp:
        stages = json.load(resp)
    hosts = []
    for stage in stages:
        url = f"{base}/stages/{stage['stageId']}/{stage['attemptId']}/taskList?length=1000"
        with urllib.request.urlopen(url, timeout=10) as resp:
            hosts += [t["host"] for t in json.load(resp) if t["status"] == "SUCCESS"]
    return hosts


def test_status_reports_three_hosts_with_racks(local_cluster_3: tuple[LocalCluster, ClusterState]) -> None:
    cluster, state = local_cluster_3
    info = cluster.status()
    assert info["master"] == state.master
    workers = info["workers"]
    assert [w["host"] for w in workers] == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    assert [w["rack"] for w in workers] == ["r1", "r1", "r2"]
    assert all(w["alive"] for w in workers)
    assert cluster.secret_file.stat().st_mode & 0o777 == 0o600


def test_up_twice_starts_nothing_new(local_cluster_3: tuple[LocalCluster, ClusterState]) -> None:
    cluster, state = local_cluster_3
    again = cluster.up(workers=3)
    assert again.master_pid == state.master_pid
    assert [w.pid for w in again.workers] == [w.pid for w in state.workers]


def test_job_runs_on_three_distinct_hosts(
    local_cluster_3: tuple[LocalCluster, ClusterState], cluster_dir: Path
) -> None:
    _, state = local_cluster_3
    builder = configure(
        SparkSession.builder, load_settings(), master=state.master, state_dir=cluster_dir, app_name="cluster-hosts"
    )
    session = builder.config("spark.cores.max", "3").getOrCreate()
    try:
        sc = session.sparkContext
        # Wait (on a condition) until all three executors registered, so tasks can spread.
        deadline_ok = holds_within(lambda: sc._jsc.sc().getExecutorMemoryStatus().size() >= 4, 60)
        assert deadline_ok, "executors did not register"
        total = sc.parallelize(range(12), 12).map(lambda x: __import__("time").sleep(0.3) or x).sum()
        assert total == sum(range(12))
        hosts = _task_hosts(session)
        assert len(hosts) >= 6
        assert set(hosts) >= {"127.0.0.2", "127.0.0.3", "127.0.0.4"}
    finally:
        session.stop()


def test_application_without_secret_is_refused(
    local_cluster_3: tuple[LocalCluster, ClusterState], tmp_path: Path
) -> None:
    _, state = local_cluster_3
    stranger = load_settings().replace(state_dir=tmp_path)  # a state dir that holds no secret
    with pytest.raises(JobError, match="requires authentication"):
        submit("quickstart", stranger, ["1000"], master=state.master)


def test_cli_up_status_down_leaves_nothing(tmp_path: Path) -> None:
    state_dir = tmp_path / "cli-cluster"
    runner = CliRunner()
    try:
        for _ in range(2):  # twice in a row
            up = runner.invoke(cli, ["cluster", "up", "--workers", "2", "--state-dir", str(state_dir)])
            assert up.exit_code == 0, up.output
            assert up.output.strip().startswith("spark://127.0.0.1:")
            status = runner.invoke(cli, ["cluster", "status", "--json", "--state-dir", str(state_dir)])
            info = json.loads(status.output)
            assert info["master"] == up.output.strip()
            assert [w["alive"] for w in info["workers"]] == [True, True]
            pids = [w["pid"] for w in info["workers"]]
            down = runner.invoke(cli, ["cluster", "down", "--state-dir", str(state_dir)])
            assert down.exit_code == 0
            assert all(not group_members(pid) for pid in pids)
            assert json.loads(
                runner.invoke(cli, ["cluster", "status", "--json", "--state-dir", str(state_dir)]).output
            ) == {"master": None, "workers": []}
    finally:
        LocalCluster(state_dir).down()


def test_stale_pid_files_are_handled(tmp_path: Path) -> None:
    state_dir = tmp_path / "stale"
    cluster = LocalCluster(state_dir)
    try:
        state = cluster.up(workers=1)
        LocalCluster._stop_group(state.workers[0].pid, 10)  # a worker died behind our back
        assert not cluster.status()["workers"][0]["alive"]  # type: ignore[index]
        fresh = cluster.up(workers=1)
        assert fresh.workers[0].pid != state.workers[0].pid
        assert cluster.status()["workers"][0]["alive"]  # type: ignore[index]
    finally:
        stopped = cluster.down()
    assert stopped and all(not group_members(pid) for pid in stopped)


def test_submit_runs_a_bundled_job_on_local_spark(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "spark_sched.cli.main", "submit", "quickstart", "--master", "local[2]", "--", "5000"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "SPARK_SCHED_STATE_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "tasks completed" in result.stdout and "master          local[2]" in result.stdout


