"""The YSB-like stream: a Structured Streaming query in the HIGH pool, its foreachBatch sink, its output check.

Each micro-batch's updated windows are committed once as one file (idempotent
by batch id); its latency is the time from its oldest input file being written
to its output being committed.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_sched.priority.classes import PriorityClass, tagged
from spark_sched.workloads.unified.events import EventGenerator, campaign_of

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

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

