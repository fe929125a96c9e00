"""A job cancelled while running: its tasks are KILLED with their run time as wasted work, and the
event log of that application, read offline (`spark-sched report`), gives the same aggregates."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner
from pyspark import InheritableThread
from pyspark.sql import SparkSession

from spark_sched import configure, load_settings
from spark_sched.cli.main import cli
from spark_sched.measure import MeasureError, Measurement, eventlog, measure
from spark_sched.measure.frames import aggregate, tasks_frame

CANCEL_TAG = "measure-test:cancel"
DEADLINE_S = 120.0


def _wait_running(session: SparkSession, tasks: int, job: InheritableThread, errors: list[BaseException]) -> None:
    """Wait (on a condition, with a deadline) until `tasks` tasks of an active stage are running."""
    tracker = session.sparkContext.statusTracker()
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if not job.is_alive():
            raise AssertionError(f"the job ended before it was cancelled: {errors}")
        for stage_id in tracker.getActiveStageIds():
            info = tracker.getStageInfo(stage_id)
            if info is not None and info.numActiveTasks >= tasks:
                return
        time.sleep(0.05)
    raise AssertionError(f"{tasks} tasks never ran within {DEADLINE_S} s")


def _run_and_cancel(session: SparkSession) -> None:
    """A short successful job, then a 2-task job of endless Python tasks cancelled by its tag."""
    sc = session.sparkContext
    sc.parallelize(range(100), 2).map(lambda x: (x % 3, x)).reduceByKey(lambda a, b: a + b).collect()
    errors: list[BaseException] = []

    def doomed() -> None:
        sc.addJobTag(CANCEL_TAG)
        try:
            sc.parallelize(range(2), 2).map(lambda x: time.sleep(600) or x).collect()
        except Exception as exc:  # noqa: BLE001 - the cancellation surfaces here, as it should
            errors.append(exc)

    thread = InheritableThread(target=doomed)
    thread.start()
    _wait_running(session, 2, thread, errors)
    sc.cancelJobsWithTag(CANCEL_TAG)
    thread.join(DEADLINE_S)
    assert not thread.is_alive() and errors, "the tagged job was not cancelled"


@pytest.fixture(scope="module")
def cancelled_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Measurement, Path]]:
    """One application of its own (stopped afterwards, so its event log is complete)."""
    state = tmp_path_factory.mktemp("measure-cancel")
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    session = configure(
        SparkSession.builder, load_settings(), master="local[2]", app_name="measure-cancel", state_dir=state
    ).getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        with measure(session, settle_timeout_s=DEADLINE_S) as m:
            _run_and_cancel(session)
    finally:
        session.stop()
    yield m, state / "events"


def test_cancelled_tasks_are_killed_and_their_run_time_wasted(cancelled_run: tuple[Measurement, Path]) -> None:
    m, _ = cancelled_run
    tasks, agg = m.tasks(), m.aggregate()
    killed = tasks[tasks["status"] == "KILLED"]
    assert len(killed) == 2 and set(killed["index"]) == {0, 1}
    assert killed["killReason"].str.len().min() > 0
    assert killed["jobTags"].map(lambda t: CANCEL_TAG in t).all()
    assert (killed["executorRunTime"] > 0).all()
    assert agg["numKilledTasks"] == 2 and agg["numFailedTasks"] == 0
    assert agg["wastedTaskTime"] == killed["executorRunTime"].sum() > 0
    # the successful job's tasks are the aggregate; the killed ones are not in it
    assert agg["numTasks"] == (tasks["status"] == "SUCCESS").sum() == 4
    jobs = m.jobs()
    assert list(jobs["status"]) == ["SUCCEEDED", "FAILED"]
    assert CANCEL_TAG in jobs["jobTags"].iloc[1]


def test_event_log_gives_the_live_aggregates(cancelled_run: tuple[Measurement, Path]) -> None:
    m, events = cancelled_run
    offline = eventlog.load(events)
    assert aggregate(offline) == m.aggregate()
    assert offline.window_ms >= m.records.window_ms > 0
    live_tasks = m.tasks().sort_values("taskId").reset_index(drop=True)
    offline_tasks = tasks_frame(offline).sort_values("taskId").reset_index(drop=True)
    for column in ("taskId", "status", "killReason", "jobId", "jobTags", "taskLocality", "executorRunTime"):
        assert list(offline_tasks[column]) == list(live_tasks[column]), column
    assert [j["status"] for j in offline.jobs] == list(m.jobs()["status"])


def test_report_cli_matches_live_aggregates(cancelled_run: tuple[Measurement, Path]) -> None:
    m, events = cancelled_run
    result = CliRunner().invoke(cli, ["report", str(events), "--json", "--tag-prefix", "measure-test:"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["aggregate"] == json.loads(json.dumps(m.aggregate()))
    live = m.aggregate()
    assert report["latency"]["groups"]["cancel"]["count"] == 1
    text = CliRunner().invoke(cli, ["report", str(events)])
    assert text.exit_code == 0 and f"wastedTaskTime => {live['wastedTaskTime']} (" in text.output


def test_uncompressed_and_torn_logs_read_alike(cancelled_run: tuple[Measurement, Path], tmp_path: Path) -> None:
    """A plain single-file log, and one cut mid-line as a running app leaves it, read like the original."""
    _, events = cancelled_run
    files = eventlog.event_files(events)
    assert files[0].name.startswith("events_1_") and files[0].suffix == ".zstd"
    lines = b""
    for path in files:
        with path.open("rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True) as r:
            lines += r.read()
    plain = tmp_path / "local-123"
    plain.write_bytes(lines)
    torn = tmp_path / "torn" / "local-456.inprogress"
    torn.parent.mkdir()
    torn.write_bytes(lines + b'{"Event":"SparkListenerTaskEnd","Stage ')
    expected = aggregate(eventlog.load(events))
    assert aggregate(eventlog.load(plain)) == expected
    assert aggregate(eventlog.load(torn.parent)) == expected


def test_report_refuses_ambiguous_or_missing_paths(cancelled_run: tuple[Measurement, Path], tmp_path: Path) -> None:
    _, events = cancelled_run
    (tmp_path / "two").mkdir()
    for name in ("eventlog_v2_a", "eventlog_v2_b"):
        shutil.copytree(eventlog.event_files(events)[0].parent, tmp_path / "two" / name)
    with pytest.raises(MeasureError, match="eventlog_v2_a, eventlog_v2_b"):
        eventlog.load(tmp_path / "two")
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "EVENTLOG_PATH" in result.output and "Traceback" not in result.output
