"""The unified stream/batch application: a YSB-like stream in the HIGH pool beside TPC-H-like and Python batch jobs.

A generator thread writes ad-event files; a Structured Streaming query counts
views per campaign in 10 s event-time windows (Yahoo Streaming Benchmark style)
and commits each micro-batch's updated windows as one file (idempotent by batch
id). Batch jobs run in the LOW pool under a PriorityController: TPC-H Q1/Q6-like
DataFrame aggregations (JVM-only: Spark cancels them in ~0.1 s) and a Python
feature-extraction job (PreemptibleJob: stops cooperatively). Each micro-batch's
latency is the time from its oldest input file being written to its output
being committed; Spark's own `durationMs` is kept beside it.

`run_unified(spark, variant, ...)` runs one variant for `seconds` and returns its figures;
the bundled job, `spark-sched demo` and the `priority` bench all call it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_sched.priority.classes import HIGH, LOW, PriorityClass, tagged
from spark_sched.priority.controller import PriorityController
from spark_sched.priority.guard import guard
from spark_sched.priority.preemptible import ActionJob, LowJob, PreemptibleJob
from spark_sched.priority.streaming import LatencyListener, StreamWatch, percentile

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

VARIANTS = ("isolated", "fifo", "fair", "fair_minshare", "kill", "requeue", "lb", "lma")
POLICY_OF = {"isolated": "none", "fifo": "none", "fair": "none", "fair_minshare": "none", "kill": "kill",
             "requeue": "requeue", "lb": "lb", "lma": "lma"}
CAMPAIGNS = 10
ADS_PER_CAMPAIGN = 10
EVENT_TYPES = ("view", "click", "purchase")

# Pools for every variant in one file, so all variants share one application.
FIFO_HIGH = PriorityClass("high", 1, "default", preemptible=False)
FIFO_LOW = PriorityClass("low", 2, "default")
FAIR_HIGH = PriorityClass("high", 1, "high_weighted", weight=1000, min_share=0, preemptible=False)
UNIFIED_CLASSES = (HIGH, LOW, FAIR_HIGH)


def classes_for(variant: str) -> tuple[PriorityClass, PriorityClass]:
    """HIGH and LOW classes of a variant: one FIFO pool, FAIR by weight only, or the minShare pools.

    `fair_minshare` is what a careful Spark user configures without a controller:
    the stream's pool at weight 1000 with a minShare (the controller's pools, no preemption).
    """
    if variant == "fifo":
        return FIFO_HIGH, FIFO_LOW
    if variant == "fair":
        return FAIR_HIGH, LOW
    return HIGH, LOW


@dataclass
class UnifiedResult:
    """What one variant measured."""

    variant: str
    seconds: float
    latencies_ms: list[tuple[float, float]] = field(default_factory=list)  # (commit wall time, latency)
    durations_ms: list[float] = field(default_factory=list)
    batch_jobs: int = 0
    completions: list[float] = field(default_factory=list)  # wall time (s) each LOW job finished, in the window
    batch_task_ms: float = 0.0
    stream_task_ms: float = 0.0  # run time of the stream's (HIGH) tasks: the slot time the stream itself used
    wasted_task_ms: float = 0.0
    reactions_ms: list[float] = field(default_factory=list)
    preemptions: int = 0
    max_job_preemptions: int = 0
    stream_complete: bool = True
    stream_problems: list[str] = field(default_factory=list)
    idle_slot_s_while_pending: float = 0.0
    cancel_to_free_ms: list[float] = field(default_factory=list)
    slots: int = 0
    # (start s, end s, class) of every task attempt, relative to the measured window's start
    task_spans: list[tuple[float, float, str]] = field(default_factory=list)

    def jobs_per_min(self) -> float:
        """LOW jobs per minute from the spacing of completions: (n - 1) / (last - first).

        A run holds only a handful of multi-second jobs, so counting completions in
        the window is quantized (one job = 5-15 %); the spacing between the first
        and last completion is not. Fewer than 3 completions: the plain count.
        """
        done = sorted(self.completions)
        if len(done) >= 3 and done[-1] > done[0]:
            return 60.0 * (len(done) - 1) / (done[-1] - done[0])
        return self.batch_jobs / (self.seconds / 60.0)

    def metrics(self) -> dict[str, float]:
        lat = [v for _, v in self.latencies_ms]
        return {
            "stream_p50_ms": percentile(lat, 50),
            "stream_p99_ms": percentile(lat, 99),
            "stream_batches": float(len(lat)),
            "batch_jobs_per_min": self.jobs_per_min(),
            "batch_jobs": float(self.batch_jobs),
            "batch_task_ms": self.batch_task_ms,
            "stream_task_ms": self.stream_task_ms,
            "wasted_task_ms": self.wasted_task_ms,
            "reaction_p99_ms": percentile(self.reactions_ms, 99) if self.reactions_ms else 0.0,
            "preemptions": float(self.preemptions),
            "max_job_preemptions": float(self.max_job_preemptions),
            "idle_slot_s_while_pending": self.idle_slot_s_while_pending,
            "cancel_to_free_p50_ms": percentile(self.cancel_to_free_ms, 50) if self.cancel_to_free_ms else 0.0,
            "cancel_to_free_p99_ms": percentile(self.cancel_to_free_ms, 99) if self.cancel_to_free_ms else 0.0,
            "stream_complete": 1.0 if self.stream_complete else 0.0,
        }


# -- the event generator -----------------------------------------------------------------------------------------


class EventGenerator:
    """Writes YSB-like ad-event files (atomically: temp file, then rename) and remembers what it wrote."""

    def __init__(self, directory: Path, every_s: float = 0.2, events_per_file: int = 200, seed: int = 7) -> None:
        self.dir = directory
        self.every_s = every_s
        self.events_per_file = events_per_file
        self.rng = random.Random(seed)
        self.written_ms: dict[int, float] = {}
        self.expected: dict[tuple[int, int], int] = {}  # (campaign, window start s) -> views
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="spark-sched-event-generator", daemon=True)

    def start(self) -> EventGenerator:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        seq = 0
        while not self._stop.is_set():
            self.write_file(seq)
            seq += 1
            self._stop.wait(self.every_s)

    def write_file(self, seq: int) -> None:
        now_ms = time.time() * 1000.0
        lines = []
        for _ in range(self.events_per_file):
            ad = self.rng.randrange(CAMPAIGNS * ADS_PER_CAMPAIGN)
            kind = self.rng.choice(EVENT_TYPES)
            event_ms = int(now_ms - self.rng.random() * 500)
            lines.append(json.dumps({"ad_id": ad, "event_type": kind, "event_time": event_ms, "file_seq": seq}))
            if kind == "view":
                key = (campaign_of(ad), (event_ms // 1000) // 10 * 10)
                self.expected[key] = self.expected.get(key, 0) + 1
        fd, tmp = tempfile.mkstemp(dir=self.dir.parent, prefix=".events-")
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.written_ms[seq] = time.time() * 1000.0
        os.replace(tmp, self.dir / f"events-{seq:06d}.json")


# -- the stream ----------------------------------------------------------------------------------------------------


class StreamSink:
    """foreachBatch sink: commit each micro-batch's updated windows once, and its latency."""

    def __init__(self, spark: SparkSession, out_dir: Path, generator: EventGenerator, high: PriorityClass) -> None:
        self.spark = spark
        self.out_dir = out_dir
        self.generator = generator
        self.high = high
        self.last_seq = -1
        self.latencies_ms: list[tuple[float, float]] = []
        out_dir.mkdir(parents=True, exist_ok=True)

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        # foreachBatch runs on a Py4J callback thread: set the pool and tags here, not on the query's thread.
        with tagged(self.spark.sparkContext, self.high, f"stream-b{batch_id}"):
            views = batch.collect()  # a few hundred joined view events: counted here, as YSB counts in Redis
        counts: dict[tuple[int, int], list[int]] = {}
        for v in views:
            entry = counts.setdefault((campaign_of(v["ad_id"]), v["window_start"]), [0, -1])
            entry[0] += 1
            entry[1] = max(entry[1], v["file_seq"])
        rows = [{"campaign_id": c, "window_start": w, "views": n, "max_seq": s} for (c, w), (n, s) in counts.items()]
        final = self.out_dir / f"batch-{batch_id:06d}.json"
        if not final.exists():  # a replayed batch id is already committed: keep the first
            fd, tmp = tempfile.mkstemp(dir=self.out_dir, prefix=".tmp-")
            with os.fdopen(fd, "w") as f:
                json.dump([{k: _plain(v) for k, v in r.items()} for r in rows], f)
            os.replace(tmp, final)
        committed = time.time() * 1000.0
        hi = max((int(r["max_seq"]) for r in rows), default=self.last_seq)
        if hi > self.last_seq:
            oldest = self.generator.written_ms.get(self.last_seq + 1)
            if oldest is not None:
                self.latencies_ms.append((committed / 1000.0, committed - oldest))
            self.last_seq = hi


    def warm_up(self, timeout_s: float, batches: int = 3) -> None:
        """Wait for a few micro-batches with data (planning, JIT, the backlog they leave), then forget them."""
        deadline = time.monotonic() + timeout_s
        while len(self.latencies_ms) < batches and time.monotonic() < deadline:
            time.sleep(0.05)
        self.latencies_ms.clear()


def campaign_of(ad_id: int) -> int:
    """The ad -> campaign lookup (YSB keeps it in Redis)."""
    return ad_id // ADS_PER_CAMPAIGN


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def start_stream(spark: SparkSession, root: Path, sink: StreamSink, trigger_s: float) -> Any:
    """The YSB-like query: view events; the sink maps ads to campaigns and counts each micro-batch's windows.

    As in YSB (which looks campaigns up and adds each batch's counts in Redis), the
    ad -> campaign lookup and the per-window counts happen in the sink, and windows
    are summed across committed batches: no state store, no broadcast, so a
    micro-batch is one short scan-and-filter job.
    """
    from pyspark.sql import functions as F

    schema = "ad_id INT, event_type STRING, event_time LONG, file_seq INT"
    events = spark.readStream.schema(schema).json(str(root / "events"))
    views = events.where(F.col("event_type") == "view").select(
        "ad_id", (F.floor(F.col("event_time") / 10_000) * 10).alias("window_start"), "file_seq"
    )
    return (
        views.writeStream.foreachBatch(sink)
        .option("checkpointLocation", str(root / "checkpoint"))
        .trigger(processingTime=f"{int(trigger_s * 1000)} milliseconds")
        .start()
    )


def check_stream_output(out_dir: Path, expected: dict[tuple[int, int], int]) -> list[str]:
    """Sum the committed batches' counts per window and compare with what the generator wrote."""
    final: dict[tuple[int, int], int] = {}
    problems: list[str] = []
    files = sorted(out_dir.glob("batch-*.json"))
    ids = [int(p.stem.split("-")[1]) for p in files]
    if ids != sorted(set(ids)):
        problems.append("duplicate batch ids")
    for path in files:
        for row in json.loads(path.read_text()):
            key = (int(row["campaign_id"]), int(row["window_start"]))
            final[key] = final.get(key, 0) + int(row["views"])
    for key in sorted(set(expected) | set(final)):
        if expected.get(key) != final.get(key):
            problems.append(f"window {key}: expected {expected.get(key)}, committed {final.get(key)}")
    return problems


# -- the batch side ------------------------------------------------------------------------------------------------


def _tokens(x: int) -> Iterator[str]:
    text = hashlib.sha256(str(x).encode()).hexdigest()
    return (text[i : i + 3] for i in range(0, 60, 3))


def extract_features(x: int) -> list[tuple[int, int]]:
    """A small Python feature extractor (hashed trigram counts), a few milliseconds per record."""
    time.sleep(0.008)
    buckets = [0] * 8
    for token in _tokens(x):
        buckets[hash(token) % 8] += 1
    return [(x, sum(b * (i + 1) for i, b in enumerate(buckets)))]


FEATURE_RECORDS = 300  # ~3 s of Python work per partition: what Spark's 2 s interrupt poll cannot stop fast


def _feature_source(p: int) -> range:
    return range(p * FEATURE_RECORDS, (p + 1) * FEATURE_RECORDS)


def q1_like(spark: SparkSession, rows: int) -> list[Any]:
    """TPC-H Q1-like: pricing summary over a generated lineitem table."""
    from pyspark.sql import functions as F

    lineitem = spark.range(rows, numPartitions=6).select(
        (F.col("id") % 3).alias("returnflag"),
        (F.col("id") % 2).alias("linestatus"),
        ((F.col("id") * 7) % 50 + 1).alias("quantity"),
        ((F.col("id") * 13) % 10000 / 10.0).alias("price"),
        ((F.col("id") % 10) / 100.0).alias("discount"),
    )
    return (
        lineitem.groupBy("returnflag", "linestatus")
        .agg(F.sum("quantity"), F.sum(F.col("price") * (1 - F.col("discount"))), F.count("*"))
        .orderBy("returnflag", "linestatus")
        .collect()
    )


class BatchFeeder:
    """Keeps `in_flight` LOW jobs running (alternating Q1-like and Python features) and counts completions."""

    def __init__(self, controller: PriorityController, work: Path, low: PriorityClass, in_flight: int = 2,
                 q1_rows: int = 2_000_000, feature_partitions: int = 3) -> None:
        self.controller = controller
        self.work = work
        self.low = low
        self.in_flight = in_flight
        self.q1_rows = q1_rows
        self.feature_partitions = feature_partitions
        self.completed: list[LowJob] = []
        self.failed: list[LowJob] = []
        self.running: list[LowJob] = []
        self._n = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="spark-sched-batch-feeder", daemon=True)

    def start(self) -> BatchFeeder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _next(self) -> LowJob:
        self._n += 1
        if self._n % 2:
            return PreemptibleJob(f"features{self._n}", self.feature_partitions, _feature_source, extract_features,
                                  self.work, cls=self.low)
        return ActionJob(f"q1-{self._n}", lambda s: q1_like(s, self.q1_rows), cls=self.low)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for job in [j for j in self.running if j.state.finished.is_set()]:
                self.running.remove(job)
                (self.failed if job.state.error else self.completed).append(job)
            while len(self.running) < self.in_flight and not self._stop.is_set():
                self.running.append(self.controller.submit(self._next()))
            self._stop.wait(0.05)


# -- one variant ---------------------------------------------------------------------------------------------------


@dataclass
class UnifiedParams:
    seconds: float = 40.0
    trigger_s: float = 1.0
    stream_slots: int = 2
    in_flight: int = 2
    q1_rows: int = 2_000_000
    feature_partitions: int = 3
    guard: str = "share"  # the starvation guard (spark_sched.priority.guard.GUARDS)
    guard_options: dict[str, float] = field(default_factory=dict)  # e.g. {"min_slots": 1, "max_wait_s": 5.0}
    max_preemptions: int = 3  # the `count` guard's bound (used only with guard="count")
    hold_s: float = 0.1  # the controller's: release preempted LOW jobs once no HIGH task has waited this long
    warmup_timeout_s: float = 120.0
    warmup_batches: int = 3


def run_unified(spark: SparkSession, variant: str, root: Path, params: UnifiedParams | None = None) -> UnifiedResult:
    """Run one variant (stream, and batch unless `isolated`) for `params.seconds`; stop all it started."""
    from spark_sched.measure import measure

    p = params or UnifiedParams()
    high, low = classes_for(variant)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    listener = LatencyListener()
    spark.streams.addListener(listener)
    generator = EventGenerator(root / "events").start()
    sink = StreamSink(spark, root / "out", generator, high)
    chosen = guard(p.guard, **p.guard_options) if p.guard != "count" else p.guard
    controller = PriorityController(spark, POLICY_OF[variant], classes=(high, low), guard=chosen,
                                    max_preemptions=p.max_preemptions if p.guard == "count" else None,
                                    hold_s=p.hold_s)
    feeder = None
    result = UnifiedResult(variant, p.seconds, slots=int(spark.sparkContext.defaultParallelism))
    window: list[float] = []
    with measure(spark) as m:
        controller.start()
        query = start_stream(spark, root, sink, p.trigger_s)
        try:
            controller.watch(StreamWatch(query, p.trigger_s, p.stream_slots))
            sink.warm_up(p.warmup_timeout_s, p.warmup_batches)
            if variant != "isolated":
                feeder = BatchFeeder(controller, root / "batch", low, p.in_flight, p.q1_rows,
                                     p.feature_partitions).start()
            window.append(time.time())
            time.sleep(p.seconds)
            window.append(time.time())
            if feeder is not None:
                feeder.stop()
            generator.stop()
            query.processAllAvailable()
        finally:
            query.stop()
            generator.stop()
            controller.stop()
            if feeder is not None:
                feeder.stop()
                controller.wait(timeout=120)
            spark.streams.removeListener(listener)
    result.latencies_ms = sink.latencies_ms
    result.durations_ms = [float(b.duration_ms.get("triggerExecution", 0)) for b in listener.batches if b.input_rows]
    result.batch_jobs = len(feeder.completed) if feeder is not None else 0
    if feeder is not None and len(window) == 2:
        result.completions = [j.state.finished_wall for j in feeder.completed
                              if window[0] <= j.state.finished_wall <= window[1]]
    result.reactions_ms = list(controller.stats.reactions_ms)
    result.preemptions = controller.stats.preemptions
    result.max_job_preemptions = max((j.state.preemptions for j in controller.jobs.values()), default=0)
    result.stream_problems = check_stream_output(root / "out", generator.expected)
    result.stream_complete = not result.stream_problems
    tasks = m.tasks()
    _task_times(tasks, result)
    if len(window) == 2:
        from spark_sched.priority.timeline import cancel_to_free_ms, idle_slot_s_while_pending, task_spans

        pending = [(j.state.submitted_wall, j.state.finished_wall or window[1]) for j in controller.jobs.values()]
        result.idle_slot_s_while_pending = idle_slot_s_while_pending(tasks, result.slots, pending, window)
        result.cancel_to_free_ms = cancel_to_free_ms(tasks, controller.stats.stops)
        result.task_spans = task_spans(tasks, window[0])
    return result


def _task_times(tasks: Any, result: UnifiedResult) -> None:
    """Successful and wasted (killed or failed attempts) run time of LOW tasks, and the stream's task time."""
    if tasks.empty:
        return
    high = tasks[tasks["jobTags"].map(lambda tags: any(t.startswith("spark-sched-priority-high") for t in tags))]
    result.stream_task_ms = float(high["executorRunTime"].fillna(0).sum())
    low = tasks[tasks["jobTags"].map(lambda tags: any(t.startswith("spark-sched-priority-low") for t in tags))]
    ok = low[low["status"] == "SUCCESS"]
    bad = low[low["status"].isin(["KILLED", "FAILED"])]
    result.batch_task_ms = float(ok["executorRunTime"].fillna(0).sum())
    run = bad["executorRunTime"].fillna(0)
    result.wasted_task_ms = float(run.where(run > 0, bad["taskDuration"].fillna(0)).sum())
