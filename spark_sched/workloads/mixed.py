"""A mixed, sporadic, never-repeating workload for the composer's bench and tests (seeded, so variants compare).

The jobs are drawn by `spark_sched.mixes` (`Job`, `WorkloadParams`,
`generate`, re-exported here), the same draws the scheduling model's
`composer` scenario runs; this module runs them on Spark. Four kinds of job,
each a list of per-record sleep costs run as Python tasks
(`sc.parallelize(costs, partitions).map(sleep)`; parallelize cuts contiguous
slices, so where the costs sit decides the skew), each a shape Spark users meet:

* `tiny`   -- a lookup over many small files: 64-128 records (256 KB files) of ~5 ms, one natural partition
  per record (Spark makes a partition per small file), so Spark runs ~100 tasks whose launch costs more than
  their work;
* `medium` -- 6-10 records of ~300 ms, one per natural partition: tasks long enough that no cut matters;
* `skewed` -- an aggregation over 9-12 keys, 3 of which hold most of the work: 6-9 light records (~100 ms)
  then 3 heavy ones (~1 s) in the 2 partitions the input comes in, so one task does most of the job;
* `stream` -- a HIGH micro-batch of 3 records of ~50 ms every `stream_period_s`.

Sizes and costs are jittered per job and batch jobs arrive as a Poisson process,
so no two jobs are the same; their kinds are dealt in shuffled rounds of three, so
a short run is not, by chance, mostly one kind. No single cut wins everywhere: tiny jobs pay per-task
overhead (fewer, coarser tasks win big), skewed jobs pay for skew (finer tasks
win), and the stream pays for queueing behind batch work in one FIFO pool (its
own pool wins). Spark's default (the input's partitions, one FIFO pool) pays all three.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyspark import InheritableThread

from spark_sched.mixes import (
    BATCH_KINDS,
    RECORD_BYTES,
    SMALL_FILE_BYTES,
    WORKLOAD_KINDS,
    Job,
    WorkloadParams,
    generate,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_sched.composer.scope import Composer

__all__ = [
    "BATCH_KINDS", "RECORD_BYTES", "SMALL_FILE_BYTES", "WORKLOAD_KINDS", "Job", "Outcome", "RunResult", "Runner",
    "WorkloadParams", "generate", "run_composed", "run_plain", "run_workload",
]


@dataclass
class Outcome:
    """What one job did: its kind, the composition and class it ran under, its time (arrival -> result)."""

    job: Job
    job_ms: float = float("nan")
    composition: str = ""
    job_class: str = ""
    explored: bool = False
    error: str = ""


@dataclass
class RunResult:
    outcomes: list[Outcome] = field(default_factory=list)
    bookkeeping_ms: list[float] = field(default_factory=list)  # the composer's post-job learning, per job


def _sleep_each(cost: float) -> float:
    time.sleep(cost)
    return cost


Runner = Callable[["SparkSession", Job, Outcome, float], None]


def run_plain(spark: SparkSession, job: Job, out: Outcome, start: float) -> None:
    """Spark as it comes: the job's natural partitions, no pool, no composer."""
    spark.sparkContext.parallelize(list(job.costs), job.natural).map(_sleep_each).collect()
    out.job_ms = (time.perf_counter() - start) * 1000.0
    out.composition = "spark_default"


def run_composed(comp: Composer, force: Callable[[Job], str | None] | None = None) -> Runner:
    """Run each job under the composer (learning), or under the composition `force(job)` names."""

    def run(spark: SparkSession, job: Job, out: Outcome, start: float) -> None:
        with comp.job(**job.features, force=force(job) if force else None) as ctx:
            ctx.sc.parallelize(list(job.costs), ctx.partitions()).map(_sleep_each).collect()
            out.job_ms = (time.perf_counter() - start) * 1000.0
            out.composition, out.job_class, out.explored = ctx.composition, ctx.job_class, ctx.decision.explored

    return run


def run_workload(spark: SparkSession, jobs: list[Job], runner: Runner, timeout_s: float = 600.0) -> RunResult:
    """Release each job at its arrival time in its own InheritableThread; wait for all of them."""
    result = RunResult()
    threads: list[InheritableThread] = []
    origin = time.perf_counter()
    for job in jobs:
        delay = origin + job.at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)  # the workload's arrival process, not a wait for a condition
        out = Outcome(job)
        result.outcomes.append(out)
        threads.append(_start(spark, job, out, runner, result))
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return result


def _start(spark: SparkSession, job: Job, out: Outcome, runner: Runner, result: RunResult) -> InheritableThread:
    lock = threading.Lock()

    def body() -> None:
        start = time.perf_counter()
        try:
            runner(spark, job, out, start)
        except Exception as exc:  # noqa: BLE001 - one failed job is reported, the run goes on
            out.error = f"{type(exc).__name__}: {exc}"
        finally:
            done = (time.perf_counter() - start) * 1000.0
            if out.job_ms == out.job_ms:  # not NaN: the job ran; what followed its result was bookkeeping
                with lock:
                    result.bookkeeping_ms.append(max(0.0, done - out.job_ms))

    thread = InheritableThread(target=body, name=f"composer-bench-{job.kind}", daemon=True)
    thread.start()
    return thread
