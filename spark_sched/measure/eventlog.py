"""Spark's own records after the fact: the event log, read the way the History Server reads it.

Spark 4 writes rolling, zstd-compressed logs by default:
`<dir>/eventlog_v2_<app>/events_1_<app>.zstd, events_2_<app>.zstd, ...`; older or
reconfigured applications write one file (`<app>`, `<app>.zstd`, `<app>.inprogress`).
Both layouts are accepted, compressed (zstd) or not. Task records come from
`SparkListenerTaskEnd` (end reason, task info, task metrics), so killed and
failed attempts are kept with their run time, as the REST API keeps them.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import zstandard

from spark_sched.measure.records import Record, Records, attribute_stages, finish_task
from spark_sched.measure.rest import MeasureError, with_totals
from spark_sched.measure.schema import METRICS, NS_METRICS, ns_to_ms, task_status, user_tags

ROLLING_PREFIX = "eventlog_v2_"
_ROLLING_FILE = re.compile(r"^events_(\d+)_")
_SUPPORTED = ("uncompressed", "zstd")
_UNSUPPORTED_CODECS = (".lz4", ".lzf", ".snappy")

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


def _is_log_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and not path.name.startswith("appstatus_")


def _rolling_files(directory: Path) -> list[Path]:
    files = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _ROLLING_FILE.match(p.name)) and p.is_file()]
    return [p for _, p in sorted(files)]


def event_files(path: str | Path) -> list[Path]:
    """The files of one application's event log, in order, from a file, a rolling log dir or a dir of one log."""
    given = Path(path).expanduser()
    if given.is_file():
        return [given]
    if not given.is_dir():
        raise MeasureError(
            f"spark-sched report: EVENTLOG_PATH = '{given}' is not valid; allowed: an event log file or directory"
        )
    rolling = _rolling_files(given)
    if rolling:
        return rolling
    candidates = sorted(p for p in given.iterdir() if p.name.startswith(ROLLING_PREFIX) or _is_log_file(p))
    if len(candidates) == 1:
        return event_files(candidates[0])
    found = ", ".join(p.name for p in candidates) or "none"
    raise MeasureError(
        f"spark-sched report: EVENTLOG_PATH = '{given}' is not valid; allowed: one application's event log "
        f"(file or eventlog_v2_* directory); found: {found}"
    )


def _open_text(path: Path) -> io.TextIOBase:
    name = path.name.removesuffix(".inprogress")
    if name.endswith((".zstd", ".zst")):
        reader = zstandard.ZstdDecompressor().stream_reader(path.open("rb"), read_across_frames=True)
        return io.TextIOWrapper(reader, encoding="utf-8")
    if name.endswith(_UNSUPPORTED_CODECS):
        raise MeasureError(
            f"spark-sched report: {path}: compression = '{name.rsplit('.', 1)[1]}' is not valid; allowed: "
            f"{', '.join(_SUPPORTED)} (set spark.eventLog.compression.codec=zstd)"
        )
    return path.open(encoding="utf-8")


def read_events(files: Iterable[Path]) -> Iterator[dict[str, Any]]:
    """Every event of the log, in order; a torn last line of a log still being written is skipped."""
    for path in files:
        try:
            with _open_text(path) as text:
                for line in text:
                    if not line.strip():
                        continue
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError:
                        continue
        except (OSError, ValueError, zstandard.ZstdError) as exc:  # ValueError: also bytes that are not UTF-8
            raise MeasureError(f"spark-sched report: {path}: cannot be read as an event log ({exc})") from exc


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


class _Replay:
    """Folds events into job, stage and task records (one pass, like the History Server's listener)."""

    def __init__(self) -> None:
        self.jobs: dict[int, Record] = {}
        self.stages: dict[tuple[int, int], Record] = {}
        self.stage_ns: dict[tuple[int, int], dict[str, int]] = {}
        self.tasks: list[Record] = []
        self.app_id = ""
        self.start = self.end = 0

    def feed(self, event: dict[str, Any]) -> None:
        handler = getattr(self, "on_" + event.get("Event", "").removeprefix("SparkListener"), None)
        if handler is not None:
            handler(event)

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

    def records(self) -> Records:
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


def load(path: str | Path) -> Records:
    """One application's records from its event log (file, rolling directory, or a directory holding one log)."""
    replay = _Replay()
    for number, event in enumerate(read_events(event_files(path)), 1):
        try:
            replay.feed(event)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:  # a line that is JSON but no Spark event
            kind = event.get("Event", "?") if isinstance(event, dict) else type(event).__name__
            raise MeasureError(
                f"spark-sched report: {path}: event {number} = {kind!r} is not valid ({type(exc).__name__}: {exc}); "
                "allowed: the JSON lines Spark's event logging listener writes"
            ) from exc
    return replay.records()
