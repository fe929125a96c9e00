"""Measurement's scan of an event log: events folded into job, stage and task records, as the History Server does.

Task records come from `SparkListenerTaskEnd` (end reason, task info, task
metrics), so killed and failed attempts are kept with their run time, as the
REST API keeps them; stage figures are the sums of their tasks' metrics.
"""

from __future__ import annotations

from typing import Any

from spark_sched.measure.records import Record, Records, attribute_stages, finish_task
from spark_sched.measure.rest import with_totals
from spark_sched.measure.schema import METRICS, NS_METRICS, ns_to_ms, task_status, user_tags

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



def _dig(data: dict[str, Any] | None, path: tuple[str, ...]) -> Any:
    for key in path:
        data = (data or {}).get(key)  # type: ignore[assignment]
    return data or 0


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


def task_record(event: dict[str, Any]) -> Record:
    """A SparkListenerTaskEnd as a task record in the schema (times and delays as the REST API derives them)."""
    info = event.get("Task Info", {})
    metrics = event.get("Task Metrics") or {}
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
    for name, path in _TASK_PATHS.items():
        value = _dig(metrics, path)
        record[name] = ns_to_ms(value) if name in NS_METRICS else int(value)
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

    def event(self, e: dict[str, Any]) -> None:
        handler = getattr(self, "on_" + e.get("Event", "").removeprefix("SparkListener"), None)
        if handler is not None:
            handler(e)

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
        task = task_record(e)
        self.tasks.append(task)
        key = (task["stageId"], task["stageAttemptId"])
        stage, totals = self.stages.get(key), self.stage_ns.get(key)
        if stage is None or totals is None:
            return
        stage["numKilledTasks"] += task["status"] == "KILLED"
        stage["numFailedTasks"] += task["status"] == "FAILED"
        metrics = e.get("Task Metrics") or {}
        for name, path in _TASK_PATHS.items():
            totals[name] += int(_dig(metrics, path))

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
                    stage[name] = ns_to_ms(totals[name]) if name in NS_METRICS else totals[name]
            stages.append(with_totals(stage))
        pools = {(s["stageId"], s["attemptId"]): s["pool"] for s in stages}
        tasks = [finish_task(t, owner, pools) for t in self.tasks]
        elapsed = (self.end or max([self.start, *(t["finishTime"] for t in tasks)])) - self.start
        return Records(jobs, stages, tasks, window_ms=max(0, elapsed), source="eventlog", app_id=self.app_id)
