"""Workload classes from what is observable before a job runs, plus what similar jobs took before.

A class is a short key such as `low/batch/in<100M/p<=32/t<1.5s`: priority,
stream or batch, an input-size bucket, a partition-count bucket, and a bucket of
the task duration estimated from the measurement records of similar jobs (same
`name`, else same observable features). Buckets are decades, so a class stays
put while a job varies within a factor of ten, and a job never seen before is
`t?` until its first run has been measured. Classes are made on first sight:
a new kind of job is a new class at any time.

Task duration is recorded per *natural* partition (executor run time / the
partition count the job's input comes with), so a composition that cuts a job
finer or coarser does not move the job to another class.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from spark_sched.composer.errors import CompositionError
from spark_sched.priority import DEFAULT_CLASSES

PRIORITIES = tuple(c.name for c in DEFAULT_CLASSES)
PROCESSING_KINDS = ("batch", "stream")  # a job's `kind` feature: batch work, or a stream's micro-batch

# (prefix, upper bounds with their labels, the label above the last bound, whether a bound is inclusive)
Buckets = tuple[str, tuple[tuple[float, str], ...], str, bool]
INPUT_BUCKETS: Buckets = ("in", ((1 << 20, "in<1M"), (100 << 20, "in<100M"), (10 << 30, "in<10G")), "in>=10G", False)
PARTITION_BUCKETS: Buckets = ("p", ((4, "p<=4"), (32, "p<=32"), (256, "p<=256")), "p>256", True)
TASK_BUCKETS_MS: Buckets = ("t", ((150.0, "t<150ms"), (1500.0, "t<1.5s"), (15000.0, "t<15s")), "t>=15s", False)
HYSTERESIS = 1.25  # a signature leaves its task-duration bucket only once its estimate is 25% past the edge
RECENT = 5  # the estimate is the median of a signature's last RECENT jobs: one slow start (a cold JVM) does not move it


@dataclass(frozen=True)
class JobFeatures:
    """What is known about a job before it runs. `name` groups recurring jobs (a query or template name)."""

    priority: str = "low"
    kind: str = "batch"
    input_bytes: int | None = None
    partitions: int | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.priority not in PRIORITIES:
            raise CompositionError("job priority", self.priority, PRIORITIES, "composer.job()")
        if self.kind not in PROCESSING_KINDS:
            raise CompositionError("job kind", self.kind, PROCESSING_KINDS, "composer.job()")
        for key, value in (("input_bytes", self.input_bytes), ("partitions", self.partitions)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise CompositionError(f"job {key}", value, "an integer >= 0 or None", "composer.job()")

    @property
    def signature(self) -> str:
        """Which earlier jobs count as similar: the same name, else the same observable features."""
        if self.name:
            return f"name={self.name}"
        return "/".join((self.priority, self.kind, _bucket(self.input_bytes, INPUT_BUCKETS),
                         _bucket(self.partitions, PARTITION_BUCKETS)))


def _bucket(value: float | None, buckets: Buckets) -> str:
    prefix, bounds, above, inclusive = buckets
    if value is None:
        return f"{prefix}?"
    for bound, label in bounds:
        if value < bound or (inclusive and value == bound):
            return label
    return above


class Classifier:
    """Online: the history of task durations per job signature, updated after every measured job."""

    def __init__(self, history: dict[str, dict[str, Any]] | None = None) -> None:
        self.history: dict[str, dict[str, Any]] = history if history is not None else {}

    def task_ms(self, features: JobFeatures) -> float | None:
        entry = self.history.get(features.signature)
        return None if entry is None else float(entry["task_ms"])

    def task_bucket(self, features: JobFeatures) -> str:
        """The signature's task-duration bucket (sticky: see `observe`)."""
        entry = self.history.get(features.signature)
        if entry is None:
            return _bucket(None, TASK_BUCKETS_MS)
        return str(entry.get("bucket") or _bucket(entry["task_ms"], TASK_BUCKETS_MS))

    def classify(self, features: JobFeatures) -> str:
        """The job's class key."""
        return "/".join((
            features.priority,
            features.kind,
            _bucket(features.input_bytes, INPUT_BUCKETS),
            _bucket(features.partitions, PARTITION_BUCKETS),
            self.task_bucket(features),
        ))

    def observe(self, features: JobFeatures, run_ms: float, tasks: int) -> None:
        """Fold one measured job in: its executor run time spread over its natural partitions."""
        if tasks <= 0 or run_ms <= 0:
            return
        per_partition = run_ms / max(1, features.partitions or tasks)
        entry = self.history.setdefault(features.signature, {"task_ms": per_partition, "jobs": 0, "recent": []})
        recent = [*entry.get("recent", []), per_partition][-RECENT:]
        entry["recent"] = recent
        entry["task_ms"] = float(statistics.median(recent))
        entry["jobs"] = entry["jobs"] + 1
        entry["bucket"] = _sticky(entry.get("bucket"), entry["task_ms"])


def _sticky(current: str | None, task_ms: float) -> str:
    """Keep `current` unless `task_ms` lies more than HYSTERESIS beyond its edges (no flapping at a boundary)."""
    fresh = _bucket(task_ms, TASK_BUCKETS_MS)
    if not current or current == fresh:
        return fresh
    _, bounds, _, _ = TASK_BUCKETS_MS
    edges = [0.0, *(b for b, _ in bounds), float("inf")]
    labels = [label for _, label in bounds] + [TASK_BUCKETS_MS[2]]
    if current not in labels:
        return fresh
    i = labels.index(current)
    low, high = edges[i], edges[i + 1]
    return current if low / HYSTERESIS <= task_ms < high * HYSTERESIS else fresh

    def to_json(self) -> dict[str, Any]:
        return self.history
