"""The batch side: TPC-H Q1-like DataFrame queries and Python feature extraction, kept running as LOW jobs.

The Q1-like query is JVM-only (Spark cancels it in ~0.1 s); the feature job is
Python work (`PreemptibleJob`) that stops cooperatively and keeps its progress.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_sched.priority.jobs.preemptible import ActionJob, LowJob, PreemptibleJob
from spark_sched.workloads.loop import BackgroundLoop

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_sched.priority.classes import PriorityClass
    from spark_sched.priority.runtime.controller import PriorityController

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


class BatchFeeder(BackgroundLoop):
    """Keeps `in_flight` LOW jobs running (alternating Q1-like and Python features) and counts completions."""

    join_s = 30.0

    def __init__(self, controller: PriorityController, work: Path, low: PriorityClass, in_flight: int = 2,
                 q1_rows: int = 2_000_000, feature_partitions: int = 3) -> None:
        super().__init__("spark-sched-batch-feeder")
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

