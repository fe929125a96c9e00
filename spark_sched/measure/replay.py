"""Measurement's scan of an event log: events folded into job, stage and task records, as the History Server does.

Task records come from `SparkListenerTaskEnd` (end reason, task info, task
metrics), so killed and failed attempts are kept with their run time, as the
REST API keeps them; stage figures are the sums of their tasks' metrics, taken in
Spark's own units (ns for CPU and shuffle-write time) and converted once, as Spark
sums them into the stage totals it writes itself.

Logs of any Spark are read: the version comes from the first event, and a metric
the run's Spark did not record (CPU time before 2.1, say) is listed in
`Records.unrecorded` so reports say so instead of showing a zero.
"""

from __future__ import annotations

from typing import Any

from spark_sched.measure.records import Record, Records, attribute_stages, finish_task
from spark_sched.measure.rest import with_totals
from spark_sched.measure.schema import (
    METRICS,
    native,
    put_metric,
    task_status,
    user_tags,
)
from spark_sched.sparkversions import TASK_ACCUMULABLES_SINCE, log_version, parse

# Task Metrics paths in the event log -> schema names.
_TASK_PATHS: dict[str, tuple[str, ...]] = {
    "executorRunTime": ("Executor Run Time",),
    "executorCpuTime": ("Executor CPU Time",),
    "executorDeserializeTime": ("Executor Deserialize Time",),
    "executorDeserializeCpuTime": ("Executor Deserialize CPU Time",),
    "resultSerializationTime": ("Result Serialization Time",),
    "jvmGCTime": ("JVM GC Time",),
    "shuffleFetchWaitTime": ("Shuffle Read Metrics", "Fetch Wait Time"),
    "shuffleWriteTime": ("Shuffle Write Metrics", "Shuffle Write Time"),
    "resultSize": ("Result Size",),
    "diskBytesSpilled": ("Disk Bytes Spilled",),
    "memoryBytesSpilled": ("Memory Bytes Spilled",),
    "peakExecutionMemory": ("Peak Execution Memory",),
    "recordsRead": ("Input Metrics", "Records Read"),
    "bytesRead": ("Input Metrics", "Bytes Read"),
    "recordsWritten": ("Output Metrics", "Records Written"),
    "bytesWritten": ("Output Metrics", "Bytes Written"),
    "shuffleRecordsRead": ("Shuffle Read Metrics", "Total Records Read"),
    "shuffleLocalBlocksFetched": ("Shuffle Read Metrics", "Local Blocks Fetched"),
    "shuffleRemoteBlocksFetched": ("Shuffle Read Metrics", "Remote Blocks Fetched"),
    "shuffleLocalBytesRead": ("Shuffle Read Metrics", "Local Bytes Read"),
    "shuffleRemoteBytesRead": ("Shuffle Read Metrics", "Remote Bytes Read"),
    "shuffleRemoteBytesReadToDisk": ("Shuffle Read Metrics", "Remote Bytes Read To Disk"),
    "shuffleBytesWritten": ("Shuffle Write Metrics", "Shuffle Bytes Written"),
    "shuffleRecordsWritten": ("Shuffle Write Metrics", "Shuffle Records Written"),
}


# Metrics a Spark before 3.0 kept only among the task's accumulables ("Task Info"), by the names it used.
_ACCUMULABLE_NAMES: dict[str, tuple[str, ...]] = {
    "peakExecutionMemory": ("internal.metrics.peakExecutionMemory", "peakExecutionMemory"),
}

# sparkMeasure's derived totals and the metrics they add up.
_DERIVED: dict[str, tuple[str, ...]] = {
    "shuffleTotalBlocksFetched": ("shuffleLocalBlocksFetched", "shuffleRemoteBlocksFetched"),
    "shuffleTotalBytesRead": ("shuffleLocalBytesRead", "shuffleRemoteBytesRead"),
}


def _field(metrics: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at `path`, or None when the log has no such field (not the same as 0)."""
    data: Any = metrics
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _accumulable(info: dict[str, Any], names: tuple[str, ...]) -> Any:
    """A task's own update of one of its accumulables (Spark 1.5-2.4 keep peak memory only there), or None."""
    for acc in info.get("Accumulables") or ():
        if isinstance(acc, dict) and acc.get("Name") in names:
            update: Any = acc.get("Update")
            try:  # a number, or (Spark 1.x) its text
                return int(update)
            except (TypeError, ValueError):
                return None
    return None


def _raw_metrics(event: dict[str, Any]) -> dict[str, Any]:
    """Each metric of a task end in Spark's own unit, as the log has it (None where the log has no field)."""
    metrics, info = event.get("Task Metrics") or {}, event.get("Task Info") or {}
    if not isinstance(metrics, dict):  # refused, as anything not shaped as Spark writes it
        raise TypeError(f"'Task Metrics' is {type(metrics).__name__}, not an object")
    found: dict[str, Any] = {}
    for name, path in _TASK_PATHS.items():
        value = _field(metrics, path)
        if value is None and name in _ACCUMULABLE_NAMES:
            value = _accumulable(info, _ACCUMULABLE_NAMES[name])
        found[name] = value
    return found


def _end_reason(reason: dict[str, Any], status: str) -> str:
    if status == "SUCCESS":
        return ""
    kind = reason.get("Reason", "")
    if kind == "TaskKilled":
        return str(reason.get("Kill Reason", ""))
    if kind == "ExceptionFailure":
        trace = (reason.get("Full Stack Trace") or "").strip().splitlines()
        return trace[0] if trace else f"{reason.get('Class Name', '')}: {reason.get('Description', '')}"
    return str(kind)


def task_record(event: dict[str, Any], raw: dict[str, Any] | None = None) -> Record:
    """A SparkListenerTaskEnd as a task record in the schema (times and delays as the REST API derives them).

    ns metrics are shown in ms and kept in ns beside them (`schema.ns_key`), for sums taken in ns.
    """
    info = event.get("Task Info", {})
    raw = _raw_metrics(event) if raw is None else raw
    launched, finished = int(info.get("Launch Time", 0)), int(info.get("Finish Time", 0))
    status = task_status(bool(info.get("Failed")), bool(info.get("Killed")), finished > 0)
    fetch_start = int(info.get("Getting Result Time", 0) or 0)
    record: Record = {
        "stageId": int(event["Stage ID"]),
        "stageAttemptId": int(event.get("Stage Attempt ID", 0)),
        "taskId": int(info["Task ID"]),
        "index": int(info.get("Index", 0)),
        "attempt": int(info.get("Attempt", 0)),
        "launchTime": launched,
        "finishTime": finished,
        "taskDuration": finished - launched if finished else 0,
        "gettingResultTime": finished - fetch_start if fetch_start > 0 else 0,
        "executorId": info.get("Executor ID", ""),
        "host": info.get("Host", ""),
        "taskLocality": info.get("Locality", ""),
        "speculative": bool(info.get("Speculative", False)),
        "status": status,
        "killReason": _end_reason(event.get("Task End Reason") or {}, status),
    }
    for name in _TASK_PATHS:
        put_metric(record, name, raw[name])
    with_totals(record)
    busy = record["executorRunTime"] + record["executorDeserializeTime"] + record["resultSerializationTime"]
    record["schedulerDelayTime"] = max(0, record["taskDuration"] - busy - record["gettingResultTime"])
    return record


class RecordsScan:
    """Folds events into job, stage and task records (one pass, like the History Server's listener).

    A scan of `eventlog.read` like any other; the reader always runs this one, since every report
    stands on its records.
    """

    def __init__(self) -> None:
        self.jobs: dict[int, Record] = {}
        self.stages: dict[tuple[int, int], Record] = {}
        self.stage_ns: dict[tuple[int, int], dict[str, int]] = {}
        self.tasks: list[Record] = []
        self.app_id = ""
        self.start = self.end = 0
        self.spark_version = ""
        self.metric_tasks = 0  # task ends that carried metrics
        self.recorded: set[str] = set()  # metrics some task end had a field for
        self.groups: set[str] = set()  # metric groups ("Shuffle Read Metrics") some task end had

    def event(self, e: dict[str, Any]) -> None:
        handler = getattr(self, "on_" + e.get("Event", "").removeprefix("SparkListener"), None)
        if handler is not None:
            handler(e)

    def on_LogStart(self, e: dict[str, Any]) -> None:
        self.spark_version = log_version(e) or ""

    def on_ApplicationStart(self, e: dict[str, Any]) -> None:
        self.app_id, self.start = e.get("App ID", ""), int(e.get("Timestamp", 0))

    def on_ApplicationEnd(self, e: dict[str, Any]) -> None:
        self.end = int(e.get("Timestamp", 0))

    def on_JobStart(self, e: dict[str, Any]) -> None:
        props = e.get("Properties") or {}
        infos = sorted(e.get("Stage Infos", []), key=lambda s: s.get("Stage ID", 0))
        tags = [t for t in (props.get("spark.job.tags") or "").split(",") if t]
        self.jobs[int(e["Job ID"])] = {
            "jobId": int(e["Job ID"]),
            "name": infos[-1].get("Stage Name", "") if infos else "",
            "status": "RUNNING",
            "submissionTime": int(e.get("Submission Time", 0)),
            "completionTime": 0,
            "duration": None,
            "stageIds": tuple(int(s) for s in e.get("Stage IDs", [])),
            "jobTags": user_tags(tags),
        }

    def on_JobEnd(self, e: dict[str, Any]) -> None:
        job = self.jobs.get(int(e["Job ID"]))
        if job is None:
            return
        job["completionTime"] = int(e.get("Completion Time", 0))
        job["duration"] = job["completionTime"] - job["submissionTime"]
        result = (e.get("Job Result") or {}).get("Result", "")
        job["status"] = "SUCCEEDED" if result == "JobSucceeded" else "FAILED"

    def on_StageSubmitted(self, e: dict[str, Any]) -> None:
        info, props = e.get("Stage Info", {}), e.get("Properties") or {}
        key = (int(info["Stage ID"]), int(info.get("Stage Attempt ID", 0)))
        self.stages[key] = {
            "stageId": key[0],
            "attemptId": key[1],
            "name": info.get("Stage Name", ""),
            "status": "ACTIVE",
            "submissionTime": int(info.get("Submission Time", 0) or 0),
            "completionTime": 0,
            "stageDuration": 0,
            "numTasks": int(info.get("Number of Tasks", 0)),
            "numKilledTasks": 0,
            "numFailedTasks": 0,
            "pool": props.get("spark.scheduler.pool") or "default",
        }
        self.stage_ns[key] = {name: 0 for name in METRICS}

    def on_StageCompleted(self, e: dict[str, Any]) -> None:
        info = e.get("Stage Info", {})
        stage = self.stages.get((int(info["Stage ID"]), int(info.get("Stage Attempt ID", 0))))
        if stage is None:
            return
        stage["submissionTime"] = int(info.get("Submission Time", 0) or stage["submissionTime"])
        stage["completionTime"] = int(info.get("Completion Time", 0) or 0)
        if stage["submissionTime"] and stage["completionTime"]:
            stage["stageDuration"] = stage["completionTime"] - stage["submissionTime"]
        stage["status"] = "FAILED" if info.get("Failure Reason") else "COMPLETE"

    def on_TaskEnd(self, e: dict[str, Any]) -> None:
        raw = _raw_metrics(e)
        task = task_record(e, raw)
        self.tasks.append(task)
        self._note_fields(e, raw)
        key = (task["stageId"], task["stageAttemptId"])
        stage, totals = self.stages.get(key), self.stage_ns.get(key)
        if stage is None or totals is None:
            return
        stage["numKilledTasks"] += task["status"] == "KILLED"
        stage["numFailedTasks"] += task["status"] == "FAILED"
        for name in _TASK_PATHS:
            totals[name] += native(task, name)

    def _note_fields(self, e: dict[str, Any], raw: dict[str, Any]) -> None:
        """Which metrics and groups this task end had: what the run's Spark records at all."""
        metrics = e.get("Task Metrics")
        if not isinstance(metrics, dict) or not metrics:
            return
        self.metric_tasks += 1
        self.recorded.update(name for name, value in raw.items() if value is not None)
        self.groups.update(key for key, value in metrics.items() if isinstance(value, dict))

    def unrecorded(self) -> dict[str, str]:
        """Metrics the run's Spark did not record -> their field name; none when no task carried metrics.

        A field no task end had is not recorded. Spark before 2.0 writes a group ("Shuffle Read
        Metrics") only for a task that did such I/O, so a group no task had means none of it
        happened (0 is then right); peak memory, before 3.0 kept among accumulables without its
        zeros, is recorded from 2.0 on even when no task had it.
        """
        if not self.metric_tasks:
            return {}
        version = parse(self.spark_version)
        kept_in_accumulables = version is not None and version.at_least(TASK_ACCUMULABLES_SINCE)
        missing = {}
        for name, path in _TASK_PATHS.items():
            if name in self.recorded or (len(path) > 1 and path[0] not in self.groups):
                continue
            if name in _ACCUMULABLE_NAMES and kept_in_accumulables:
                continue
            missing[name] = path[-1]
        for total, parts in _DERIVED.items():
            lacking = [missing[p] for p in parts if p in missing]
            if lacking:
                missing[total] = " and ".join(lacking)
        return missing

    def result(self) -> Records:
        """The application's records: jobs, stages with their tasks' totals, tasks with job, tags and pool."""
        jobs = [self.jobs[k] for k in sorted(self.jobs)]
        owner = attribute_stages(jobs)
        stages = []
        for key, stage in sorted(self.stages.items()):
            job = owner.get(key[0])
            totals = self.stage_ns[key]
            stage.update({"jobId": job["jobId"] if job else -1, "jobTags": job["jobTags"] if job else ()})
            for name in METRICS:
                if name in _TASK_PATHS:
                    put_metric(stage, name, totals[name])
            stages.append(with_totals(stage))
        pools = {(s["stageId"], s["attemptId"]): s["pool"] for s in stages}
        tasks = [finish_task(t, owner, pools) for t in self.tasks]
        elapsed = (self.end or max([self.start, *(t["finishTime"] for t in tasks)])) - self.start
        return Records(jobs, stages, tasks, window_ms=max(0, elapsed), source="eventlog", app_id=self.app_id,
                       spark_version=self.spark_version, unrecorded=self.unrecorded())
