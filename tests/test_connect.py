"""Every public function on a Spark Connect session: it works, or it refuses in one line (`spark_sched.connect`).

One real local Spark Connect server for the module (pyspark's own server jar, the toolkit's
conf: FAIR with the HIGH/LOW pools, event log on), one Connect session against it. Each row
of `SUPPORT` has an exercise here, and each exercise shows its row is true: a "works" row by
its effect on the server (a job in the named pool, per the server's REST API), a "refuses"
row by ConnectUnsupported with one line that names the function.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("grpc", reason="the connect extra (pip install spark-sched[connect]) is not installed")

from connect_server import ConnectServer, client, start_server  # noqa: E402
from helpers import wait_until  # noqa: E402

import spark_sched  # noqa: E402
from spark_sched.connect import SUPPORT, ConnectUnsupported, table  # noqa: E402
from spark_sched.priority.classes import DEFAULT_CLASSES, HIGH, write_pool_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "connect.md"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectServer]:
    work = tmp_path_factory.mktemp("connect")
    pools = write_pool_file(work, DEFAULT_CLASSES)
    conf = spark_sched.connect_server_conf(state_dir=work / "state")
    conf.update({"spark.scheduler.mode": "FAIR", "spark.scheduler.allocation.file": str(pools)})
    running = start_server(work, conf)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def remote(server: ConnectServer) -> Iterator[Any]:
    session = client(server)
    try:
        yield session
    finally:
        session.stop()


def _stage_pools(server: ConnectServer, tag: str) -> set[str]:
    """The pools of the stages that ran for the jobs the server ran with `tag` among their job tags.

    A job also lists the stages it skipped (their output was there already): those never ran in any pool.
    """
    jobs = [j for j in server.rest("jobs") if any(t.endswith(tag) for t in j.get("jobTags", []))]
    stages = {s for j in jobs for s in j["stageIds"]}
    return {s["schedulingPool"] for s in server.rest("stages") if s["stageId"] in stages and s["status"] != "SKIPPED"}


def _run_tagged(session: Any, tag: str) -> None:
    session.addTag(tag)
    try:
        session.range(0, 1000, 1, 2).selectExpr("sum(id)").collect()
    finally:
        session.removeTag(tag)


# -- the exercises: one per row ----------------------------------------------------------------------------------

def _configure(server: ConnectServer, session: Any, work: Path) -> Any:
    from pyspark.sql import SparkSession

    return spark_sched.configure(SparkSession.builder.remote(server.url))


def _connect_server_conf(server: ConnectServer, session: Any, work: Path) -> Any:
    conf = spark_sched.connect_server_conf(state_dir=work)
    assert conf["spark.eventLog.enabled"] == "true" and "spark.eventLog.dir" in conf
    return conf


def _load_settings(server: ConnectServer, session: Any, work: Path) -> Any:
    return spark_sched.load_settings()


def _load_pools(server: ConnectServer, session: Any, work: Path) -> Any:
    pools = spark_sched.load_pools(ROOT / "conf" / "pools.toml")
    assert pools
    return pools


def _pool(server: ConnectServer, session: Any, work: Path) -> Any:
    with spark_sched.pool(HIGH.pool, session):
        _run_tagged(session, "connect-pool")
    assert session.conf.get("spark.scheduler.pool", None) is None  # restored: no pool set before
    assert wait_until(lambda: _stage_pools(server, "connect-pool"), "the job's stages in the REST API") == {HIGH.pool}
    with pytest.raises(spark_sched.PoolError, match="not in the loaded pool configuration"), \
            spark_sched.pool("no-such-pool", session):
        pass
    return True


def _locality(server: ConnectServer, session: Any, work: Path) -> Any:
    rec = spark_sched.recommend_locality_wait(nodes=10, slots_per_node=4, replication=3, tasks=20,
                                              task_seconds=1.0, miss_seconds=0.5)
    assert isinstance(rec.wait, spark_sched.LocalityWait)
    return rec


def _advise(server: ConnectServer, session: Any, work: Path) -> Any:
    _run_tagged(session, "connect-advise")
    logs = Path(server.conf["spark.eventLog.dir"].removeprefix("file://"))
    log = wait_until(lambda: next(iter(sorted(logs.iterdir())), None), "the server's event log")
    return spark_sched.advise_eventlog(log)


def _any_k_of_n(server: ConnectServer, session: Any, work: Path) -> Any:
    return spark_sched.any_k_of_n(session.range(0, 100, 1, 4), 2, lambda rows: [sum(1 for _ in rows)], spark=session)


def _controller(server: ConnectServer, session: Any, work: Path) -> Any:
    return spark_sched.PriorityController(session)


def _preemptible(server: ConnectServer, session: Any, work: Path) -> Any:
    job = spark_sched.ActionJob("connect-low", lambda s: s.range(10).count())
    return spark_sched.PriorityController(session).submit(job)


def _sleep_query(session: Any, tasks: int, ms: int) -> Any:
    """`tasks` tasks that each sleep `ms` in the JVM (Java's Thread.sleep through SQL's reflect): interruptible."""
    return session.range(0, tasks, 1, tasks).selectExpr(
        f"reflect('java.lang.Thread', 'sleep', cast({ms} as bigint)) as slept").collect()


def _remote_controller(server: ConnectServer, session: Any, work: Path) -> Any:
    """LOW holds both slots; HIGH arrives; the controller interrupts LOW, HIGH runs, LOW reruns and completes."""
    from spark_sched.priority import HIGH, LOW

    high_session, low_session = client(server), client(server)
    try:
        with spark_sched.RemoteController(low_session, f"http://127.0.0.1:{server.ui_port}", "requeue") as ctl:
            low = ctl.submit("connect-batch", lambda s: len(_sleep_query(s, 2, 8_000)))
            deadline = time.monotonic() + 60
            while not (low.done.is_set() or _pool_running(server, LOW.pool) >= 1):
                assert time.monotonic() < deadline, (
                    f"the LOW job never ran: active stages {server.rest('stages?status=active')}; last jobs "
                    f"{[(j['jobId'], j['status'], j.get('jobTags')) for j in server.rest('jobs')[:5]]}")
                time.sleep(0.02)  # polling a condition (LOW's tasks running), with a deadline
            assert not low.done.is_set(), f"the LOW job ended before HIGH came: {low.error!r}"
            with spark_sched.pool(HIGH.pool, high_session):
                high_session.addTag("connect-high")
                assert len(_sleep_query(high_session, 2, 100)) == 2
            high_done = server.rest("jobs")  # HIGH finished here: the LOW job's rerun cannot have finished yet
            assert low.done.wait(120), "the LOW job neither finished nor failed"
        assert low.error is None and low.result == 2 and low.preemptions >= 1
        low_jobs = [j for j in high_done if any(t.endswith("connect-batch") for t in j.get("jobTags", []))]
        assert any(j["status"] == "FAILED" for j in low_jobs) and not any(j["status"] == "SUCCEEDED" for j in low_jobs)
        return low
    finally:
        high_session.stop()
        low_session.stop()


def _pool_running(server: ConnectServer, pool: str) -> int:
    return sum(s["numActiveTasks"] for s in server.rest("stages?status=active") if s["schedulingPool"] == pool)


def _composer(server: ConnectServer, session: Any, work: Path) -> Any:
    return spark_sched.composer(session, state_dir=work)


def _measure(server: ConnectServer, session: Any, work: Path) -> Any:
    with spark_sched.measure(session) as window:
        session.range(10).count()
    return window


def _classes(server: ConnectServer, session: Any, work: Path) -> Any:
    with spark_sched.pool(HIGH.pool, session):
        _run_tagged(session, f"connect-{HIGH.name}")
    assert wait_until(lambda: _stage_pools(server, f"connect-{HIGH.name}"), "the HIGH job's stages") == {HIGH.pool}
    return True


def _local_cluster(server: ConnectServer, session: Any, work: Path) -> Any:
    status = spark_sched.LocalCluster(work / "cluster").status()  # no session involved: Connect changes nothing
    assert status["master"] is None
    return status


EXERCISES: dict[str, Callable[[ConnectServer, Any, Path], Any]] = {
    "configure": _configure,
    "connect_server_conf": _connect_server_conf,
    "load_settings": _load_settings,
    "load_pools": _load_pools,
    "pool": _pool,
    "LocalityWait / recommend_locality_wait": _locality,
    "advise_eventlog": _advise,
    "any_k_of_n": _any_k_of_n,
    "PriorityController": _controller,
    "RemoteController": _remote_controller,
    "PreemptibleJob / ActionJob": _preemptible,
    "composer": _composer,
    "measure": _measure,
    "HIGH / LOW / PriorityClass": _classes,
    "local_cluster": _local_cluster,
}


def test_every_row_has_an_exercise_and_every_public_function_a_row() -> None:
    assert set(EXERCISES) == {row.function for row in SUPPORT}
    covered = {name.strip() for row in SUPPORT for name in row.function.split("/")}
    errors = {n for n in spark_sched.__all__ if n.endswith("Error") or n == "ConnectUnsupported"}
    public = set(spark_sched.__all__) - errors - {"Settings", "LocalCluster", "PoolError", "SamplingError"}
    assert public <= covered, f"public names without a row: {sorted(public - covered)}"


@pytest.mark.parametrize("row", SUPPORT, ids=[r.function for r in SUPPORT])
def test_the_row_is_true_on_a_connect_session(row: Any, server: ConnectServer, remote: Any, tmp_path: Path) -> None:
    exercise = EXERCISES[row.function]
    if row.connect == "works":
        assert exercise(server, remote, tmp_path) is not None
        return
    with pytest.raises(ConnectUnsupported) as refused:
        exercise(server, remote, tmp_path)
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"spark_sched.{row.refused_by}:")
    assert "Spark Connect session has no SparkContext" in message


def test_the_cli_refuses_a_connect_url_in_one_line_with_exit_2(server: ConnectServer) -> None:
    for command in (["demo"], ["submit", "quickstart"]):
        run = subprocess.run([sys.executable, "-m", "spark_sched.cli.main", *command, "--master", server.url],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 2, run.stderr
        lines = [line for line in run.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "Spark Connect URL" in lines[0] and "Traceback" not in run.stderr


def test_connect_conf_prints_the_servers_command_line() -> None:
    run = subprocess.run([sys.executable, "-m", "spark_sched.cli.main", "connect", "conf"], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "--conf spark.eventLog.enabled=true" in run.stdout and "spark.master" not in run.stdout


def test_the_documentation_table_is_the_support_table() -> None:
    text = DOCS.read_text(encoding="utf-8")
    start, end = "<!-- connect support -->\n", "\n<!-- end connect support -->"
    assert text[text.index(start) + len(start):text.index(end)].strip() == table()
