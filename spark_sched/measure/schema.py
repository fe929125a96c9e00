"""One schema for every source: sparkMeasure's metric names and units (ms), plus what sparkMeasure lacks.

sparkMeasure keeps only successful tasks and no end reason; Spark's REST API and
event log keep every attempt. Both are mapped onto the names below so a report,
a plot or a reward never cares where a number came from. Times are ms; Spark's
CPU and shuffle-write times arrive in ns: a record shows them floor-divided to ms,
as sparkMeasure does, and keeps the ns beside them (`ns_key`), so a sum over many
short tasks is taken in ns and converted once, as Spark's own stage totals are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

NS_PER_MS = 1_000_000

# Metrics sparkMeasure reports per stage and per task, in its order (REFERENCE.md).
METRICS: tuple[str, ...] = (
    "executorRunTime",
    "executorCpuTime",
    "executorDeserializeTime",
    "executorDeserializeCpuTime",
    "resultSerializationTime",
    "jvmGCTime",
    "shuffleFetchWaitTime",
    "shuffleWriteTime",
    "resultSize",
    "diskBytesSpilled",
    "memoryBytesSpilled",
    "peakExecutionMemory",
    "recordsRead",
    "bytesRead",
    "recordsWritten",
    "bytesWritten",
    "shuffleRecordsRead",
    "shuffleTotalBlocksFetched",
    "shuffleLocalBlocksFetched",
    "shuffleRemoteBlocksFetched",
    "shuffleTotalBytesRead",
    "shuffleLocalBytesRead",
    "shuffleRemoteBytesRead",
    "shuffleRemoteBytesReadToDisk",
    "shuffleBytesWritten",
    "shuffleRecordsWritten",
)

# Metrics whose source unit is ns (Spark's REST API and event log); converted to ms.
NS_METRICS = frozenset({"executorCpuTime", "executorDeserializeCpuTime", "shuffleWriteTime"})

# Aggregates that sparkMeasure takes as the largest per-stage total instead of the sum over stages.
MAX_STAGE_METRICS = frozenset({"resultSize"})

# sparkMeasure's aggregate_stagemetrics() names, in its order.
AGGREGATE_NAMES: tuple[str, ...] = ("numStages", "numTasks", "elapsedTime", "stageDuration", *METRICS)

# What the toolkit adds to the aggregate.
EXTRA_AGGREGATES: tuple[str, ...] = ("numKilledTasks", "numFailedTasks", "wastedTaskTime", "localityFraction")

LOCALITY_LEVELS: tuple[str, ...] = ("PROCESS_LOCAL", "NODE_LOCAL", "RACK_LOCAL", "NO_PREF", "ANY")

STATUSES: tuple[str, ...] = ("SUCCESS", "KILLED", "FAILED", "RUNNING")

TASK_KEYS: tuple[str, ...] = (
    "jobId",
    "stageId",
    "stageAttemptId",
    "taskId",
    "index",
    "attempt",
    "launchTime",
    "finishTime",
    "taskDuration",
    "schedulerDelayTime",
    "gettingResultTime",
    "executorId",
    "host",
    "taskLocality",
    "speculative",
    "status",
    "killReason",
    "pool",
    "jobTags",
)
TASK_COLUMNS: tuple[str, ...] = (*TASK_KEYS, *METRICS)

STAGE_KEYS: tuple[str, ...] = (
    "jobId",
    "stageId",
    "attemptId",
    "name",
    "status",
    "submissionTime",
    "completionTime",
    "stageDuration",
    "numTasks",
    "numKilledTasks",
    "numFailedTasks",
    "pool",
    "jobTags",
)
STAGE_COLUMNS: tuple[str, ...] = (*STAGE_KEYS, *METRICS)

JOB_COLUMNS: tuple[str, ...] = (
    "jobId",
    "name",
    "status",
    "submissionTime",
    "completionTime",
    "duration",
    "stageIds",
    "jobTags",
)

# Tags Spark adds itself when a SparkSession runs SQL; `spark.addTag(t)` reaches jobs as
# "spark-session-<uuid>-thread-<uuid>-<t>". Users think in their own tags, so we strip these.
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_SESSION_TAG = re.compile(rf"^spark-session-{_UUID}(-execution-root-id-\d+)?$")
_SESSION_USER_TAG = re.compile(rf"^spark-session-{_UUID}-thread-{_UUID}-(.+)$")


def user_tags(tags: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """The tags a user set (sc.addJobTag as is, spark.addTag without Spark's session prefix), sorted."""
    result: set[str] = set()
    for tag in tags or ():
        if _SESSION_TAG.match(tag):
            continue
        managed = _SESSION_USER_TAG.match(tag)
        result.add(managed.group(1) if managed else tag)
    return tuple(sorted(result))


def ns_to_ms(value: float | int | None) -> int:
    """Spark's ns figures as sparkMeasure's ms (floor, like sparkMeasure's integer division)."""
    return int(value or 0) // NS_PER_MS


def ns_key(name: str) -> str:
    """Where a record keeps an ns metric's own value beside its ms one ("executorCpuTime" -> "executorCpuTimeNs")."""
    return f"{name}Ns"


def put_metric(record: dict[str, Any], name: str, value: Any) -> None:
    """Store a metric read in Spark's own unit: ms for NS_METRICS (their ns kept beside, `ns_key`), else as is."""
    value = int(value or 0)
    record[name] = from_native(name, value)
    if name in NS_METRICS:
        record[ns_key(name)] = value


def native(record: Mapping[str, Any], name: str) -> int:
    """A metric in Spark's own unit (ns for NS_METRICS, else as shown): what sums are taken in."""
    if name in NS_METRICS:
        raw = record.get(ns_key(name))
        return int(raw) if raw is not None else int(record.get(name) or 0) * NS_PER_MS
    return int(record.get(name) or 0)


def from_native(name: str, total: int) -> int:
    """A sum taken in Spark's own unit, shown in the schema's (ms for NS_METRICS): converted once."""
    return ns_to_ms(total) if name in NS_METRICS else int(total)


def task_status(failed: bool, killed: bool, finished: bool) -> str:
    """Spark's TaskInfo.status from its flags (the event log keeps flags, the REST API the string)."""
    if not finished:
        return "RUNNING"
    if failed:
        return "FAILED"
    if killed:
        return "KILLED"
    return "SUCCESS"
