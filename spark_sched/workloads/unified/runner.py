"""One variant of the unified application: the stream, and batch load unless `isolated`, for `seconds`.

`run_unified(spark, variant, root, params)` starts everything the variant needs
(event generator, stream, controller, batch feeder), measures the window with
`spark_sched.measure`, stops all it started and returns its figures; the bundled
job, `spark-sched demo` and the `priority` bench all call it.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_sched.measure import measure
from spark_sched.priority.jobs.preemptible import PreemptibleJob
from spark_sched.priority.policy.guards import guard
from spark_sched.priority.runtime.controller import PriorityController
from spark_sched.priority.streaming import LatencyListener, StreamWatch
from spark_sched.workloads.timeline import cancel_to_free_ms, idle_slot_s_while_pending, task_spans
from spark_sched.workloads.unified.batch import BatchFeeder
from spark_sched.workloads.unified.events import EventGenerator
from spark_sched.workloads.unified.metrics import UnifiedResult, task_times
from spark_sched.workloads.unified.stream import StreamSink, check_stream_output, start_stream
from spark_sched.workloads.unified.variants import POLICY_OF, classes_for

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass
class UnifiedParams:
    seconds: float = 40.0
    trigger_s: float = 1.0
    stream_slots: int = 2
    in_flight: int = 2
    q1_rows: int = 2_000_000
    feature_partitions: int = 3
    guard: str = "share"  # the starvation guard (spark_sched.priority.GUARDS)
    guard_options: dict[str, float] = field(default_factory=dict)  # e.g. {"min_slots": 1, "max_wait_s": 5.0}
    max_preemptions: int = 3  # the `count` guard's bound (used only with guard="count")
    hold_s: float = 0.1  # the controller's: release preempted LOW jobs once no HIGH task has waited this long
    cores: int | None = None  # `suspend`: tasks the cluster's cores run at once (default: half the task slots)
    warmup_timeout_s: float = 120.0
    warmup_batches: int = 3


@dataclass
class _Parts:
    """What one variant started, so it can be stopped and read back."""

    generator: EventGenerator
    sink: StreamSink
    controller: PriorityController
    listener: LatencyListener
    feeder: BatchFeeder | None = None
    window: list[float] = field(default_factory=list)  # wall-clock start and end of the measured load


def run_unified(spark: SparkSession, variant: str, root: Path, params: UnifiedParams | None = None) -> UnifiedResult:
    """Run one variant (stream, and batch unless `isolated`) for `params.seconds`; stop all it started."""
    p = params or UnifiedParams()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    parts = _start_parts(spark, variant, root, p)
    result = UnifiedResult(variant, p.seconds, slots=int(spark.sparkContext.defaultParallelism))
    with measure(spark) as m:
        _drive(spark, variant, root, p, parts)
    _read_back(parts, root, result)
    tasks = m.tasks()
    task_times(tasks, result, {j.job_id: j.partitions for j in parts.controller.jobs.values()
                               if isinstance(j, PreemptibleJob)})
    if len(parts.window) == 2:
        _slot_figures(parts, tasks, result)
    return result


def _start_parts(spark: SparkSession, variant: str, root: Path, p: UnifiedParams) -> _Parts:
    high, low = classes_for(variant)
    listener = LatencyListener()
    spark.streams.addListener(listener)
    generator = EventGenerator(root / "events").start()
    sink = StreamSink(spark, root / "out", generator, high)
    chosen = guard(p.guard, **p.guard_options) if p.guard != "count" else p.guard
    controller = PriorityController(spark, POLICY_OF[variant], classes=(high, low), guard=chosen,
                                    max_preemptions=p.max_preemptions if p.guard == "count" else None,
                                    hold_s=p.hold_s, cores=p.cores)
    return _Parts(generator, sink, controller, listener)


def _drive(spark: SparkSession, variant: str, root: Path, p: UnifiedParams, parts: _Parts) -> None:
    """Warm the stream up, add the batch load, hold it for `seconds`, drain the stream; stop everything."""
    controller, generator = parts.controller, parts.generator
    controller.start()
    query = start_stream(spark, root, parts.sink, p.trigger_s)
    try:
        controller.watch(StreamWatch(query, p.trigger_s, p.stream_slots))
        parts.sink.warm_up(p.warmup_timeout_s, p.warmup_batches)
        if variant != "isolated":
            parts.feeder = BatchFeeder(controller, root / "batch", classes_for(variant)[1], p.in_flight, p.q1_rows,
                                       p.feature_partitions).start()
        parts.window.append(time.time())
        time.sleep(p.seconds)
        parts.window.append(time.time())
        if parts.feeder is not None:
            parts.feeder.stop()
        generator.stop()
        query.processAllAvailable()
    finally:
        query.stop()
        generator.stop()
        controller.stop()
        if parts.feeder is not None:
            parts.feeder.stop()
            controller.wait(timeout=120)
        spark.streams.removeListener(parts.listener)


def _read_back(parts: _Parts, root: Path, result: UnifiedResult) -> None:
    """The stream's latencies and output check, the batch completions, the controller's figures."""
    feeder, controller, window = parts.feeder, parts.controller, parts.window
    result.latencies_ms = parts.sink.latencies_ms
    result.durations_ms = [float(b.duration_ms.get("triggerExecution", 0))
                           for b in parts.listener.batches if b.input_rows]
    result.batch_jobs = len(feeder.completed) if feeder is not None else 0
    if feeder is not None and len(window) == 2:
        result.completions = [j.state.finished_wall for j in feeder.completed
                              if window[0] <= j.state.finished_wall <= window[1]]
    result.reactions_ms = list(controller.stats.reactions_ms)
    result.preemptions = controller.stats.preemptions
    result.suspended_ms = 1000.0 * sum(controller.signal.suspended_s(job_id) for job_id in controller.jobs)
    jobs = list(controller.jobs.values())
    result.jobs_lost = sum(1 for j in jobs if not j.state.finished.is_set() or j.state.error is not None)
    result.duplicate_commits = sum(j.state.duplicates for j in jobs)
    result.max_job_preemptions = max((j.state.preemptions for j in controller.jobs.values()), default=0)
    result.stream_problems = check_stream_output(root / "out", parts.generator.expected)
    result.stream_complete = not result.stream_problems


def _slot_figures(parts: _Parts, tasks: Any, result: UnifiedResult) -> None:
    """Where slot time went in the window, from Spark's task records."""
    start, end = parts.window
    controller = parts.controller
    pending = [(j.state.submitted_wall, j.state.finished_wall or end) for j in controller.jobs.values()]
    result.idle_slot_s_while_pending = idle_slot_s_while_pending(tasks, result.slots, pending, (start, end))
    cores = controller.suspend_cores or result.slots
    suspended = [(lo, hi) for _, _, lo, hi in controller.signal.pauses()]
    result.idle_core_s_while_pending = idle_slot_s_while_pending(tasks, cores, pending, (start, end), suspended)
    result.cancel_to_free_ms = cancel_to_free_ms(tasks, controller.stats.stops)
    result.task_spans = task_spans(tasks, start)
