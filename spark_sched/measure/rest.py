"""Spark's own records while the application runs: the monitoring REST API on the driver's UI.

The UI's status store is filled asynchronously by a listener, so right after a
job returns its stages may still show running tasks (killed Python tasks can
take seconds to report). `settle` waits on that condition, with a deadline,
before anything is read. Which jobs belong to a measurement window comes from
the DAGScheduler's job counter, so jobs the store has not caught up with yet
are waited for instead of missed.
"""

from __future__ import annotations

import calendar
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spark_sched.errors import SparkSchedError
from spark_sched.measure.records import Record, Records, attribute_stages, finish_task
from spark_sched.measure.schema import METRICS, put_metric, user_tags

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MAX_TASKS_PER_STAGE = 1_000_000
POLL_S = 0.05
ENDED_JOB = ("SUCCEEDED", "FAILED")
OPEN_STAGE = ("ACTIVE", "PENDING")


class MeasureError(SparkSchedError):
    """Measurement cannot read what Spark recorded (no UI, unreadable event log, ...)."""


def parse_time(text: str | None) -> int:
    """REST timestamps ("2026-11-22T04:14:15.999GMT") as epoch ms; 0 when absent."""
    if not text:
        return 0
    stamp, _, millis = text.removesuffix("GMT").partition(".")
    seconds = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S"))
    return seconds * 1000 + int(millis or 0)


# REST stage fields -> schema names, where they differ or live elsewhere.
_STAGE_FIELDS = {
    "jvmGCTime": "jvmGcTime",
    "recordsRead": "inputRecords",
    "bytesRead": "inputBytes",
    "recordsWritten": "outputRecords",
    "bytesWritten": "outputBytes",
    "shuffleRecordsRead": "shuffleReadRecords",
    "shuffleTotalBytesRead": "shuffleReadBytes",
    "shuffleBytesWritten": "shuffleWriteBytes",
    "shuffleRecordsWritten": "shuffleWriteRecords",
}

# REST taskMetrics paths -> schema names.
_TASK_PATHS: dict[str, tuple[str, ...]] = {
    "executorRunTime": ("executorRunTime",),
    "executorCpuTime": ("executorCpuTime",),
    "executorDeserializeTime": ("executorDeserializeTime",),
    "executorDeserializeCpuTime": ("executorDeserializeCpuTime",),
    "resultSerializationTime": ("resultSerializationTime",),
    "jvmGCTime": ("jvmGcTime",),
    "shuffleFetchWaitTime": ("shuffleReadMetrics", "fetchWaitTime"),
    "shuffleWriteTime": ("shuffleWriteMetrics", "writeTime"),
    "resultSize": ("resultSize",),
    "diskBytesSpilled": ("diskBytesSpilled",),
    "memoryBytesSpilled": ("memoryBytesSpilled",),
    "peakExecutionMemory": ("peakExecutionMemory",),
    "recordsRead": ("inputMetrics", "recordsRead"),
    "bytesRead": ("inputMetrics", "bytesRead"),
    "recordsWritten": ("outputMetrics", "recordsWritten"),
    "bytesWritten": ("outputMetrics", "bytesWritten"),
    "shuffleRecordsRead": ("shuffleReadMetrics", "recordsRead"),
    "shuffleLocalBlocksFetched": ("shuffleReadMetrics", "localBlocksFetched"),
    "shuffleRemoteBlocksFetched": ("shuffleReadMetrics", "remoteBlocksFetched"),
    "shuffleLocalBytesRead": ("shuffleReadMetrics", "localBytesRead"),
    "shuffleRemoteBytesRead": ("shuffleReadMetrics", "remoteBytesRead"),
    "shuffleRemoteBytesReadToDisk": ("shuffleReadMetrics", "remoteBytesReadToDisk"),
    "shuffleBytesWritten": ("shuffleWriteMetrics", "bytesWritten"),
    "shuffleRecordsWritten": ("shuffleWriteMetrics", "recordsWritten"),
}


def _dig(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        data = data.get(key) or {}
    return data or 0


def with_totals(metrics: dict[str, Any]) -> dict[str, Any]:
    """Add sparkMeasure's two derived shuffle totals (local + remote)."""
    metrics["shuffleTotalBlocksFetched"] = metrics["shuffleLocalBlocksFetched"] + metrics["shuffleRemoteBlocksFetched"]
    metrics["shuffleTotalBytesRead"] = metrics["shuffleLocalBytesRead"] + metrics["shuffleRemoteBytesRead"]
    return metrics


def job_record(job: dict[str, Any]) -> Record:
    submitted, completed = parse_time(job.get("submissionTime")), parse_time(job.get("completionTime"))
    return {
        "jobId": int(job["jobId"]),
        "name": job.get("name", ""),
        "status": job.get("status", "UNKNOWN"),
        "submissionTime": submitted,
        "completionTime": completed,
        "duration": completed - submitted if completed and submitted else None,
        "stageIds": tuple(int(s) for s in job.get("stageIds", ())),
        "jobTags": user_tags(job.get("jobTags")),
    }


def stage_record(stage: dict[str, Any], owner: Record | None) -> Record:
    submitted, completed = parse_time(stage.get("submissionTime")), parse_time(stage.get("completionTime"))
    record: Record = {
        "jobId": owner["jobId"] if owner else -1,
        "stageId": int(stage["stageId"]),
        "attemptId": int(stage["attemptId"]),
        "name": stage.get("name", ""),
        "status": stage.get("status", ""),
        "submissionTime": submitted,
        "completionTime": completed,
        "stageDuration": completed - submitted if completed and submitted else 0,
        "numTasks": int(stage.get("numTasks", 0)),
        "numKilledTasks": int(stage.get("numKilledTasks", 0)),
        "numFailedTasks": int(stage.get("numFailedTasks", 0)),
        "pool": stage.get("schedulingPool", "default"),
        "jobTags": owner["jobTags"] if owner else (),
    }
    for name in METRICS:
        if name in ("shuffleTotalBlocksFetched",):
            continue
        put_metric(record, name, stage.get(_STAGE_FIELDS.get(name, name), 0))
    return with_totals(record)


def kill_reason(task: dict[str, Any]) -> str:
    """The end reason of a task that did not succeed ("TaskKilled (why)" becomes "why"); "" otherwise."""
    if task.get("status") == "SUCCESS":
        return ""
    message = (task.get("errorMessage") or "").strip().splitlines()
    first = message[0] if message else ""
    if first.startswith("TaskKilled (") and first.endswith(")"):
        return first[len("TaskKilled (") : -1]
    return first


def task_record(task: dict[str, Any], stage_id: int, attempt_id: int) -> Record:
    launched = parse_time(task.get("launchTime"))
    duration = task.get("duration")
    running = task.get("status") == "RUNNING"
    record: Record = {
        "stageId": stage_id,
        "stageAttemptId": attempt_id,
        "taskId": int(task["taskId"]),
        "index": int(task["index"]),
        "attempt": int(task["attempt"]),
        "launchTime": launched,
        "finishTime": launched + int(duration) if duration is not None and not running else 0,
        "taskDuration": int(duration or 0),
        "schedulerDelayTime": int(task.get("schedulerDelay", 0) or 0),
        "gettingResultTime": int(task.get("gettingResultTime", 0) or 0),
        "executorId": task.get("executorId", ""),
        "host": task.get("host", ""),
        "taskLocality": task.get("taskLocality", ""),
        "speculative": bool(task.get("speculative", False)),
        "status": task.get("status", ""),
        "killReason": kill_reason(task),
    }
    metrics = task.get("taskMetrics") or {}
    for name, path in _TASK_PATHS.items():
        put_metric(record, name, _dig(metrics, path))
    return with_totals(record)


@dataclass
class RestClient:
    """The driver UI's REST API for one application (the UI binds to loopback)."""

    base: str

    @classmethod
    def for_session(cls, spark: SparkSession) -> RestClient:
        sc = spark.sparkContext
        url = sc.uiWebUrl
        if not url:
            raise MeasureError(
                "spark.ui.enabled = 'false' is not valid for measure(); allowed: true (the REST API lives on the UI)"
            )
        return cls(f"{url.rstrip('/')}/api/v1/applications/{sc.applicationId}")

    def get(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(self.base + path, timeout=30) as response:
                return json.load(response)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise MeasureError(f"Spark REST API {self.base + path}: {exc}") from exc

    def jobs(self) -> list[dict[str, Any]]:
        return list(self.get("/jobs"))

    def stages(self) -> list[dict[str, Any]]:
        return list(self.get("/stages"))

    def tasks(self, stage_id: int, attempt_id: int) -> list[dict[str, Any]]:
        return list(self.get(f"/stages/{stage_id}/{attempt_id}/taskList?offset=0&length={MAX_TASKS_PER_STAGE}"))


def next_job_id(spark: SparkSession) -> int | None:
    """The id the next submitted job will get (DAGScheduler's counter), or None where unreadable."""
    try:
        value = spark.sparkContext._jsc.sc().dagScheduler().nextJobId()  # type: ignore[union-attr]
        return int(value.get() if hasattr(value, "get") else value)
    except Exception:  # noqa: BLE001 - an internal API: fall back to the store's job list
        return None


def active_jobs(spark: SparkSession, wanted: range) -> set[int]:
    """Jobs of `wanted` the DAGScheduler still runs (e.g. a background batch): not waited for when settling."""
    try:
        running = spark.sparkContext._jsc.sc().dagScheduler().jobIdToActiveJob()  # type: ignore[union-attr]
        return {job_id for job_id in wanted if running.contains(job_id)}
    except Exception:  # noqa: BLE001 - an internal API: then every job is waited for
        return set()


def _settled(jobs: dict[int, dict[str, Any]], ended: list[int], stages: list[dict[str, Any]]) -> bool:
    if any(job_id not in jobs or jobs[job_id]["status"] not in ENDED_JOB for job_id in ended):
        return False
    stage_ids = {s for job_id in ended for s in jobs[job_id]["stageIds"]}
    return all(
        s["status"] not in OPEN_STAGE and not s.get("numActiveTasks", 0) for s in stages if s["stageId"] in stage_ids
    )


def settle(client: RestClient, ended: list[int], timeout_s: float) -> tuple[list[dict], list[dict], bool]:
    """Poll until the store shows every job of `ended` ended and its stages without running tasks.

    Returns (jobs, stages, settled); `settled` is False when the deadline passed first.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        jobs = {int(j["jobId"]): j for j in client.jobs()}
        stages = client.stages()
        if _settled(jobs, ended, stages):
            return list(jobs.values()), stages, True
        if time.monotonic() >= deadline:
            return list(jobs.values()), stages, False
        time.sleep(POLL_S)


def collect(
    client: RestClient, first_job: int, end_job: int, timeout_s: float, running: set[int] | None = None
) -> Records:
    """Jobs first_job..end_job-1 with their stages and every task attempt, once the store has settled.

    Jobs in `running` were still running when the window closed: they are not waited for, and
    appear with what they did so far (their running tasks have status RUNNING).
    """
    wanted = range(first_job, end_job)
    running = running or set()
    raw_jobs, raw_stages, settled = settle(client, [j for j in wanted if j not in running], timeout_s)
    jobs = [job_record(j) for j in raw_jobs if int(j["jobId"]) in wanted]
    owner = attribute_stages(jobs)
    stages = [
        stage_record(s, owner.get(int(s["stageId"])))
        for s in raw_stages
        if int(s["stageId"]) in owner and s.get("status") != "SKIPPED"
    ]
    pools = {(s["stageId"], s["attemptId"]): s["pool"] for s in stages}
    tasks = [
        finish_task(task_record(t, s["stageId"], s["attemptId"]), owner, pools)
        for s in stages
        for t in client.tasks(s["stageId"], s["attemptId"])
    ]
    notes = [] if settled else [f"the status store had not settled after {timeout_s:.0f} s; some tasks still running"]
    if running:
        notes.append(f"job(s) {sorted(running)} still running when the window closed; their tasks so far are included")
    return Records(jobs=jobs, stages=stages, tasks=tasks, notes=notes)
