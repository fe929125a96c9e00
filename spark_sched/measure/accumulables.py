"""The report's stage totals against the totals Spark wrote itself: the check that the sums are exact.

When a stage attempt completes, Spark writes the totals of its tasks' metrics into
the event (`SparkListenerStageCompleted` -> "Stage Info" -> "Accumulables", named
`internal.metrics.*`, since Spark 2.0), each summed in the metric's own unit (ns
for CPU and shuffle-write time). The report's stage totals are sums of the same
tasks' metrics (`replay.RecordsScan`); `check(path)` reads a log once and lists
every stage attempt and metric where the two differ, for every metric both keep.

Where they may differ without the report being wrong, and how a difference shows it:
- a task that ended after its stage attempt completed (a speculative copy killed once
  the stage was done) is in the report's totals, not in the event Spark had already
  written: `Difference.late` is such tasks' part, and `Difference.explained` holds
  when it accounts for the whole difference;
- Spark does not add a duplicate successful result task (speculation), nor, after a
  stage retry, puts an old attempt's late tasks under their own attempt; such a
  difference is listed and not explained.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spark_sched.measure import eventlog
from spark_sched.measure.records import Records
from spark_sched.measure.replay import task_record
from spark_sched.measure.rest import MeasureError
from spark_sched.measure.schema import NS_METRICS, native

PREFIX = "internal.metrics."

# Schema names -> Spark's accumulable names (without PREFIX); the derived totals have none.
ACCUMULABLES: dict[str, str] = {
    "executorRunTime": "executorRunTime",
    "executorCpuTime": "executorCpuTime",
    "executorDeserializeTime": "executorDeserializeTime",
    "executorDeserializeCpuTime": "executorDeserializeCpuTime",
    "resultSerializationTime": "resultSerializationTime",
    "jvmGCTime": "jvmGCTime",
    "shuffleFetchWaitTime": "shuffle.read.fetchWaitTime",
    "shuffleWriteTime": "shuffle.write.writeTime",
    "resultSize": "resultSize",
    "diskBytesSpilled": "diskBytesSpilled",
    "memoryBytesSpilled": "memoryBytesSpilled",
    "peakExecutionMemory": "peakExecutionMemory",
    "recordsRead": "input.recordsRead",
    "bytesRead": "input.bytesRead",
    "recordsWritten": "output.recordsWritten",
    "bytesWritten": "output.bytesWritten",
    "shuffleRecordsRead": "shuffle.read.recordsRead",
    "shuffleLocalBlocksFetched": "shuffle.read.localBlocksFetched",
    "shuffleRemoteBlocksFetched": "shuffle.read.remoteBlocksFetched",
    "shuffleLocalBytesRead": "shuffle.read.localBytesRead",
    "shuffleRemoteBytesRead": "shuffle.read.remoteBytesRead",
    "shuffleRemoteBytesReadToDisk": "shuffle.read.remoteBytesReadToDisk",
    "shuffleBytesWritten": "shuffle.write.bytesWritten",
    "shuffleRecordsWritten": "shuffle.write.recordsWritten",
}

StageKey = tuple[int, int]


@dataclass(frozen=True)
class Difference:
    """One stage attempt's metric where the report's total and Spark's own differ, in Spark's unit."""

    stage_id: int
    attempt_id: int
    metric: str
    ours: int
    spark: int
    late: int = 0  # the part of `ours` from tasks that ended after the stage attempt completed

    @property
    def unit(self) -> str:
        return "ns" if self.metric in NS_METRICS else "as Spark keeps it"

    @property
    def explained(self) -> bool:
        """The late tasks account for the whole difference."""
        return self.ours - self.late == self.spark

    def __str__(self) -> str:
        late = f" ({self.late} from tasks that ended after the stage completed)" if self.late else ""
        return (f"stage {self.stage_id}.{self.attempt_id} {self.metric}: report {self.ours}, Spark {self.spark} "
                f"({self.unit}){late}")


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def spark_totals(accumulables: Any) -> dict[str, int]:
    """A stage's `internal.metrics.*` totals by accumulable name (without the prefix); {} when it has none."""
    totals: dict[str, int] = {}
    for acc in accumulables if isinstance(accumulables, list) else ():
        name = acc.get("Name") if isinstance(acc, dict) else None
        if not isinstance(name, str) or not name.startswith(PREFIX):
            continue
        value = _number(acc.get("Value"))
        if value is not None:
            totals[name.removeprefix(PREFIX)] = value
    return totals


class AccumulablesScan:
    """Spark's own totals per completed stage attempt, and what tasks ending after that completion added.

    A scan of `eventlog.read`, fed in the same pass as the report's records.
    """

    def __init__(self) -> None:
        self.totals: dict[StageKey, dict[str, int]] = {}
        self.late: dict[StageKey, dict[str, int]] = {}

    def event(self, e: dict[str, Any]) -> None:
        kind = e.get("Event")
        if kind == "SparkListenerStageCompleted":
            info = e.get("Stage Info") or {}
            key = (int(info["Stage ID"]), int(info.get("Stage Attempt ID", 0)))
            self.totals[key] = spark_totals(info.get("Accumulables"))
        elif kind == "SparkListenerTaskEnd":
            key = (int(e["Stage ID"]), int(e.get("Stage Attempt ID", 0)))
            if key in self.totals:
                task, late = task_record(e), self.late.setdefault(key, {})
                for name in ACCUMULABLES:
                    late[name] = late.get(name, 0) + native(task, name)

    def result(self) -> dict[StageKey, dict[str, int]]:
        return self.totals


def compare(records: Records, scan: AccumulablesScan) -> list[Difference]:
    """Every stage attempt and metric both keep where the report's total is not Spark's own.

    A stage attempt whose event has no `internal.metrics.*` (Spark before 2.0) is not compared;
    in one that has some, a metric Spark left out is 0 (Spark leaves out zero-valued ones).
    """
    differences = []
    for stage in records.stages:
        key = (int(stage["stageId"]), int(stage["attemptId"]))
        theirs = scan.totals.get(key) or {}
        if not theirs:
            continue
        for name, spark_name in ACCUMULABLES.items():
            if name in records.unrecorded:
                continue
            ours, spark = native(stage, name), theirs.get(spark_name, 0)
            if ours != spark:
                late = scan.late.get(key, {}).get(name, 0)
                differences.append(Difference(key[0], key[1], name, ours, spark, late))
    return differences


def check(path: str | Path) -> list[Difference]:
    """Read one log once; the stage totals of its report that differ from the totals Spark wrote ([] when none)."""
    scan = AccumulablesScan()
    log = eventlog.read(path, scan)
    refusal = log.refusal(scan)
    if refusal is not None:
        raise MeasureError(f"spark-sched report: {path}: {refusal}")
    return compare(log.records, scan)
