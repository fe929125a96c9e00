"""The toolkit's own kinds of queued LOW job, registered into a durable queue's registry by its application.

`features` is Python work the controller must stop cooperatively (a stable
per-record feature, `ms` milliseconds a record; with `trace`, every record
computed is appended to a file, which is how the fault tests show that a
restarted driver does not recompute committed partitions); `range_sum` is a
tiny JVM-only job the controller cancels. The queue never imports these: the
bundled jobs, the `controller_load` bench and the tests call
`register_job_kinds()` before they open a queue.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spark_sched.priority.classes import PriorityClass
from spark_sched.priority.durable.kinds import JOB_KINDS, JobBuilder
from spark_sched.priority.durable.queue import checksum
from spark_sched.priority.jobs.preemptible import ActionJob, LowJob, PreemptibleJob
from spark_sched.registry import Registry


def stable_features(x: int) -> list[tuple[int, int]]:
    """A feature of record `x` that depends on `x` only (no per-process hash seed), so runs can be compared."""
    digest = hashlib.sha256(str(x).encode()).digest()
    return [(x, sum(digest[:8]))]


def _slow_features(ms: float, trace: str | None) -> Callable[[int], list[tuple[int, int]]]:
    """`stable_features` taking `ms` milliseconds per record (Python work the controller must stop cooperatively).

    With `trace` (a file path), each record computed is appended to it: how tests
    show that a restarted driver does not recompute committed partitions.
    """

    def process(x: int) -> list[tuple[int, int]]:
        time.sleep(ms / 1000.0)
        if trace is not None:
            with open(trace, "a") as f:
                f.write(f"{x}\n")
        return stable_features(x)

    return process


def _records_of(per_partition: int) -> Callable[[int], range]:
    def source(p: int) -> range:
        return range(p * per_partition, (p + 1) * per_partition)

    return source


def expected_features(spec: dict[str, Any]) -> str:
    """The checksum a `features` job of `spec` must produce, computed without Spark."""
    source = _records_of(int(spec["records"]))
    rows = [r for p in range(int(spec["partitions"])) for x in source(p) for r in stable_features(x)]
    return checksum(rows)


def _features(job_id: str, spec: dict[str, Any], work: Path, cls: PriorityClass) -> LowJob:
    trace = str(Path(spec["trace"]) / f"{job_id}.log") if spec.get("trace") else None
    process = _slow_features(float(spec.get("ms", 5.0)), trace)
    return PreemptibleJob(job_id, int(spec["partitions"]), _records_of(int(spec["records"])), process, work, cls=cls)


def _range_sum(job_id: str, spec: dict[str, Any], work: Path, cls: PriorityClass) -> LowJob:
    """A tiny JVM-only job: the sum of `range(n)` over `partitions` partitions."""
    n, parts = int(spec["n"]), int(spec.get("partitions", 1))
    return ActionJob(job_id, lambda s: s.range(n, numPartitions=parts).groupBy().sum("id").collect()[0][0], cls=cls)


_BUILT_IN: dict[str, JobBuilder] = {"features": _features, "range_sum": _range_sum}


def register_job_kinds(kinds: Registry[JobBuilder] = JOB_KINDS) -> Registry[JobBuilder]:
    """Add `features` and `range_sum` to `kinds` (the queues' registry by default); calling it again is harmless."""
    for name, build in _BUILT_IN.items():
        kinds.add(name, build)
    return kinds
