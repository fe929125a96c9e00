"""Small event logs in the shapes different Spark versions write them, built by hand (no Spark needed).

What differs by version, as Spark's JSON protocol has it:
- `SparkListenerLogStart` with "Spark Version" comes first since 1.3; before, no such event.
- Spark before 2.0 writes a metric group ("Input Metrics", "Shuffle Read Metrics", ...) only for a
  task that did such I/O; 2.0 and later write every group for every task.
- "Executor CPU Time" and "Executor Deserialize CPU Time" (ns) since 2.1; "Remote Bytes Read To
  Disk" since 2.3; "Peak Execution Memory" in Task Metrics since 3.0, before only among the task's
  accumulables (`internal.metrics.peakExecutionMemory`, zeros left out).
- A stage's completion carries its `internal.metrics.*` totals ("Accumulables") since 2.0.
- Local mode on old Spark posts no `SparkListenerExecutorAdded`.

The application: one job of one stage whose tasks read input on two hosts, most of them
NODE_LOCAL, a few ANY and slower (so a miss's cost can be measured), all launched at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APP_START = 1_000_000
CPU_NS = 363_636  # well under a ms: floor-per-task sums lose all of it


@dataclass(frozen=True)
class Shape:
    """How one Spark version writes the events this module builds."""

    version: str | None  # None: no LogStart event (Spark before 1.3)
    executors: bool = True  # SparkListenerExecutorAdded events

    def _at_least(self, major: int, minor: int) -> bool:
        if self.version is None:
            return False
        parts = self.version.split(".")
        return (int(parts[0]), int(parts[1].split("-")[0])) >= (major, minor)

    @property
    def all_groups(self) -> bool:
        return self._at_least(2, 0)

    @property
    def cpu(self) -> bool:
        return self._at_least(2, 1)

    @property
    def to_disk(self) -> bool:
        return self._at_least(2, 3)

    @property
    def peak_in_metrics(self) -> bool:
        return self._at_least(3, 0)

    @property
    def accumulables(self) -> bool:
        return self._at_least(2, 0)


@dataclass(frozen=True)
class Task:
    task_id: int
    host: str
    locality: str
    launch: int
    run_ms: int
    peak: int = 0


def _metrics(shape: Shape, task: Task) -> dict[str, Any]:
    metrics: dict[str, Any] = {"Executor Deserialize Time": 2, "Executor Run Time": task.run_ms, "Result Size": 1500,
                               "JVM GC Time": 1, "Result Serialization Time": 0, "Memory Bytes Spilled": 0,
                               "Disk Bytes Spilled": 0}
    if shape.cpu:
        metrics["Executor Deserialize CPU Time"] = CPU_NS
        metrics["Executor CPU Time"] = CPU_NS + task.task_id
    if shape.peak_in_metrics:
        metrics["Peak Execution Memory"] = task.peak
    metrics["Input Metrics"] = {"Bytes Read": 1000, "Records Read": 10}
    if shape.all_groups:
        read = {"Remote Blocks Fetched": 0, "Local Blocks Fetched": 0, "Fetch Wait Time": 0, "Remote Bytes Read": 0,
                "Local Bytes Read": 0, "Total Records Read": 0}
        if shape.to_disk:
            read["Remote Bytes Read To Disk"] = 0
        metrics["Shuffle Read Metrics"] = read
        metrics["Shuffle Write Metrics"] = {"Shuffle Bytes Written": 0, "Shuffle Write Time": 0,
                                            "Shuffle Records Written": 0}
        metrics["Output Metrics"] = {"Bytes Written": 0, "Records Written": 0}
    return metrics


def task_end(shape: Shape, task: Task, stage: int = 0) -> dict[str, Any]:
    accumulables = []
    if not shape.peak_in_metrics and shape.accumulables and task.peak:
        accumulables.append({"ID": 9, "Name": "internal.metrics.peakExecutionMemory", "Update": task.peak,
                             "Value": task.peak, "Internal": True, "Count Failed Values": True})
    info = {"Task ID": task.task_id, "Index": task.task_id, "Attempt": 0, "Launch Time": task.launch,
            "Executor ID": task.host[-1], "Host": task.host, "Locality": task.locality, "Speculative": False,
            "Getting Result Time": 0, "Finish Time": task.launch + task.run_ms + 10, "Failed": False,
            "Killed": False, "Accumulables": accumulables}
    return {"Event": "SparkListenerTaskEnd", "Stage ID": stage, "Stage Attempt ID": 0, "Task Type": "ResultTask",
            "Task End Reason": {"Reason": "Success"}, "Task Info": info, "Task Metrics": _metrics(shape, task)}


def default_tasks(count: int = 8) -> list[Task]:
    """Tasks on two hosts launched together: NODE_LOCAL ones of 400 ms, every fourth ANY and 900 ms long."""
    return [Task(i, f"host{i % 2 + 1}", "ANY" if i % 4 == 3 else "NODE_LOCAL", APP_START + 100 + i,
                 900 if i % 4 == 3 else 400, peak=1024 * (i + 1)) for i in range(count)]


def stage_totals(ends: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A stage's `internal.metrics.*` accumulables as Spark writes them: each metric summed in its own unit."""
    fields = {"executorRunTime": ("Executor Run Time",), "executorCpuTime": ("Executor CPU Time",),
              "executorDeserializeTime": ("Executor Deserialize Time",),
              "executorDeserializeCpuTime": ("Executor Deserialize CPU Time",), "resultSize": ("Result Size",),
              "jvmGCTime": ("JVM GC Time",), "input.bytesRead": ("Input Metrics", "Bytes Read"),
              "input.recordsRead": ("Input Metrics", "Records Read"), "peakExecutionMemory": ("Peak Execution Memory",)}
    totals = []
    for number, (name, path) in enumerate(fields.items()):
        value, seen = 0, False
        for end in ends:
            data: Any = end["Task Metrics"]
            for key in path:
                data = data.get(key) if isinstance(data, dict) else None
            if data is None and name == "peakExecutionMemory":
                data = next((a["Update"] for a in end["Task Info"]["Accumulables"]
                             if a["Name"] == "internal.metrics.peakExecutionMemory"), None)
            if data is not None:
                value, seen = value + int(data), True
        if seen and value:  # Spark leaves zero-valued ones out
            totals.append({"ID": number, "Name": f"internal.metrics.{name}", "Value": value, "Internal": True,
                           "Count Failed Values": True})
    return totals


def _stage_info(stage_id: int, tasks: int, cached: bool) -> dict[str, Any]:
    rdds = [{"RDD ID": 7, "Name": "7", "Number of Partitions": tasks,
             "Storage Level": {"Use Disk": False, "Use Memory": True, "Deserialized": True, "Replication": 1}}]
    return {"Stage ID": stage_id, "Stage Attempt ID": 0, "Stage Name": f"count at shapes.py:{stage_id}",
            "Number of Tasks": tasks, "RDD Info": rdds if cached else [], "Accumulables": []}


Events = list[dict[str, Any]]


def _stage_events(shape: Shape, info: dict[str, Any], tasks: list[Task], start: int) -> tuple[Events, int]:
    ends = [task_end(shape, t, info["Stage ID"]) for t in tasks]
    last = max([start + 10, *(e["Task Info"]["Finish Time"] for e in ends)])
    done = {**info, "Submission Time": start, "Completion Time": last + 5,
            "Accumulables": stage_totals(ends) if shape.accumulables else []}
    submitted = {"Event": "SparkListenerStageSubmitted", "Stage Info": {**info, "Submission Time": start},
                 "Properties": {}}
    return [submitted, *ends, {"Event": "SparkListenerStageCompleted", "Stage Info": done}], last + 5


def app_events(shape: Shape, tasks: list[Task] | None = None, conf: dict[str, str] | None = None,
               ended: bool = True, stages: list[list[Task]] | None = None, cached: bool = False) -> Events:
    """One application of one job, in `shape`'s way of writing it.

    The job runs `stages` in turn (default: one stage of `tasks`, default `default_tasks()`);
    `cached`: every stage reads a persisted RDD, so every stage after the first reads it from the cache.
    """
    stages = stages if stages is not None else [default_tasks() if tasks is None else tasks]
    props = {"spark.master": "local[8]" if not shape.executors else "spark://m:7077", "spark.app.id": "app-1",
             "spark.locality.wait": "1s", **(conf or {})}
    events: list[dict[str, Any]] = []
    if shape.version is not None:
        events.append({"Event": "SparkListenerLogStart", "Spark Version": shape.version})
    events += [{"Event": "SparkListenerEnvironmentUpdate", "Spark Properties": props},
               {"Event": "SparkListenerApplicationStart", "App Name": "shapes", "App ID": "app-1",
                "Timestamp": APP_START}]
    if shape.executors:
        for host in sorted({t.host for tasks_of in stages for t in tasks_of}):
            events.append({"Event": "SparkListenerExecutorAdded", "Timestamp": APP_START + 10, "Executor ID": host[-1],
                           "Executor Info": {"Host": host, "Total Cores": 2}})
    infos = [_stage_info(number, len(tasks_of), cached) for number, tasks_of in enumerate(stages)]
    events.append({"Event": "SparkListenerJobStart", "Job ID": 0, "Submission Time": APP_START + 50,
                   "Stage Infos": infos, "Stage IDs": [i["Stage ID"] for i in infos], "Properties": {}})
    start = APP_START + 60
    for info, tasks_of in zip(infos, stages, strict=True):
        stage_events, start = _stage_events(shape, info, tasks_of, start)
        events += stage_events
    if ended:
        events += [{"Event": "SparkListenerJobEnd", "Job ID": 0, "Completion Time": start + 1,
                    "Job Result": {"Result": "JobSucceeded"}},
                   {"Event": "SparkListenerApplicationEnd", "Timestamp": start + 20}]
    return events


def write_log(path: Path, events: list[dict[str, Any]]) -> Path:
    """The events as Spark's event logging listener writes them: one JSON object a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    return path
