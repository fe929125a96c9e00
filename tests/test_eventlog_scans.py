"""One pass over an event log: the reader decodes the file once and feeds measurement's replay and every scan.

Spark-free: the log is a few listener events written by hand, in the shapes Spark's
event logging listener writes them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spark_sched.locality.history import LocalityScan, app_log
from spark_sched.measure import MeasureError, eventlog


def _task(task_id: int, host: str, locality: str) -> dict[str, Any]:
    info = {"Task ID": task_id, "Index": task_id, "Attempt": 0, "Launch Time": 1000, "Finish Time": 1400,
            "Executor ID": "1", "Host": host, "Locality": locality}
    return {"Event": "SparkListenerTaskEnd", "Stage ID": 0, "Stage Attempt ID": 0, "Task Info": info,
            "Task End Reason": {"Reason": "Success"}, "Task Metrics": {"Executor Run Time": 300}}


EVENTS: list[dict[str, Any]] = [
    {"Event": "SparkListenerLogStart", "Spark Version": "4.0.1"},
    {"Event": "SparkListenerApplicationStart", "App ID": "app-1", "Timestamp": 900},
    {"Event": "SparkListenerEnvironmentUpdate", "Spark Properties": {"spark.locality.wait": "1s"}},
    {"Event": "SparkListenerExecutorAdded", "Executor ID": "1", "Executor Info": {"Host": "h1", "Total Cores": 2}},
    {"Event": "SparkListenerJobStart", "Job ID": 0, "Submission Time": 950, "Stage IDs": [0],
     "Stage Infos": [{"Stage ID": 0, "Stage Name": "count"}], "Properties": {}},
    {"Event": "SparkListenerStageSubmitted", "Stage Info": {"Stage ID": 0, "Number of Tasks": 2}},
    _task(1, "h1", "PROCESS_LOCAL"),
    _task(2, "h1", "NODE_LOCAL"),
    {"Event": "SparkListenerStageCompleted", "Stage Info": {"Stage ID": 0, "Submission Time": 960,
                                                            "Completion Time": 1500}},
    {"Event": "SparkListenerJobEnd", "Job ID": 0, "Completion Time": 1500, "Job Result": {"Result": "JobSucceeded"}},
    {"Event": "SparkListenerApplicationEnd", "Timestamp": 1600},
]


class Recorder:
    """A scan that keeps the Event names it was fed; refuses the `refuse`-th event when asked to."""

    def __init__(self, refuse: int = 0) -> None:
        self.kinds: list[str] = []
        self.refuse = refuse

    def event(self, e: dict[str, Any]) -> None:
        if len(self.kinds) + 1 == self.refuse:
            raise KeyError("Executor ID")
        self.kinds.append(e["Event"])

    def result(self) -> list[str]:
        return self.kinds


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "app-1"
    path.write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n")
    return path


def test_one_read_feeds_the_records_and_every_scan(log_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Path] = []
    real_open = eventlog._open_text
    monkeypatch.setattr(eventlog, "_open_text", lambda p: opened.append(p) or real_open(p))
    recorder, locality = Recorder(), LocalityScan()
    log = eventlog.read(log_file, recorder, locality)
    assert opened == [log_file], "the file is decoded once for all the analyses"
    assert recorder.result() == [e["Event"] for e in EVENTS]
    assert [t["taskId"] for t in log.records.tasks] == [1, 2] and log.records.app_id == "app-1"
    app = app_log(log, locality)  # the locality analysis from the same pass: no second read
    assert len(opened) == 1
    assert app.executors == {"1": ("h1", 2)} and app.slots == 2 and app.waits.node == 1.0
    assert list(app.tasks["taskId"]) == [1, 2]


def test_a_scan_that_refuses_an_event_leaves_the_records_standing(log_file: Path) -> None:
    refusing, whole = Recorder(refuse=4), Recorder()
    log = eventlog.read(log_file, refusing, whole)
    refusal = log.refusal(refusing)
    assert refusal is not None and refusal.number == 4 and refusal.kind == "SparkListenerExecutorAdded"
    assert "event 4 = 'SparkListenerExecutorAdded' is not valid (KeyError" in str(refusal)
    assert refusing.result() == [e["Event"] for e in EVENTS[:3]], "a refusing scan is fed no further"
    assert log.refusal(whole) is None and len(whole.result()) == len(EVENTS)
    assert len(log.records.tasks) == 2


def test_measurement_refusing_an_event_ends_the_pass(tmp_path: Path) -> None:
    path = tmp_path / "app-2"
    path.write_text(json.dumps(EVENTS[0]) + "\n" + json.dumps({"Event": "SparkListenerJobStart"}) + "\n")
    with pytest.raises(MeasureError, match="event 2 = 'SparkListenerJobStart' is not valid"):
        eventlog.read(path, Recorder())


def test_a_text_file_is_not_an_event_log(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("meeting notes\n{\"a\": 1}\n")
    with pytest.raises(MeasureError) as refused:
        eventlog.load(path)
    message = str(refused.value)
    assert "\n" not in message and f"{path} is not a Spark event log" in message
