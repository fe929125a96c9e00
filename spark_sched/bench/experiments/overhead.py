"""`overhead`: what does measuring cost? The same multi-stage job with and without `measure()`.

`job_ms` is the job's wall time as its caller sees it (inside the window for
`measured`); that is what measurement must not slow down. `window_ms` adds
opening and closing the window (waiting for the status store to settle and
reading the REST API), reported beside it so the cost of reading is visible too.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from typing import Any

from spark_sched.bench.base import BenchContext, Target

TARGET_RATIO = 1.05


class Overhead:
    name = "overhead"
    description = "Same multi-stage DataFrame job, bare vs inside measure(): job time ratio (target <= 1.05)"
    variants = ("bare", "measured")

    def __init__(self) -> None:
        self.spark: Any = None
        self.state_dir = ""

    def setup(self, ctx: BenchContext) -> None:
        from pyspark.sql import SparkSession

        from spark_sched import configure, load_settings

        rows = 2_000_000 if ctx.quick else 8_000_000
        ctx.repetitions = max(ctx.repetitions, 5 if ctx.quick else 9)
        ctx.params.update({"rows": rows, "shuffle_partitions": 8, "stages": 3})
        self.state_dir = tempfile.mkdtemp(prefix="spark-sched-bench-overhead-")
        options: dict[str, Any] = {"app_name": "bench-overhead", "state_dir": self.state_dir}
        if ctx.master:
            options["master"] = ctx.master
        builder = configure(SparkSession.builder, load_settings(), **options)
        self.spark = builder.config("spark.sql.shuffle.partitions", "8").getOrCreate()
        self.spark.sparkContext.setLogLevel("ERROR")
        ctx.cluster.update({"master": self.spark.sparkContext.master})
        for _ in range(3):  # warm the JIT and the Python workers before anything is timed
            self._job(ctx)

    def _job(self, ctx: BenchContext) -> float:
        """Two shuffles (group, then join back) and a collect: three stages at least."""
        from pyspark.sql import functions as F

        rows = int(ctx.params["rows"])
        base = self.spark.range(rows).select((F.col("id") % 997).alias("k"), F.col("id").alias("v"))
        sums = base.groupBy("k").agg(F.sum("v").alias("s"))
        joined = base.join(sums, "k").groupBy((F.col("k") % 10).alias("g")).agg(F.max("s"), F.count("*"))
        started = time.perf_counter()
        joined.collect()
        return (time.perf_counter() - started) * 1000

    def run(self, variant: str, repetition: int, ctx: BenchContext) -> dict[str, float]:
        from spark_sched.measure import measure

        if variant == "bare":
            started = time.perf_counter()
            job_ms = self._job(ctx)
            return {"job_ms": job_ms, "window_ms": (time.perf_counter() - started) * 1000}
        started = time.perf_counter()
        with measure(self.spark, source="spark") as m:
            job_ms = self._job(ctx)
        window_ms = (time.perf_counter() - started) * 1000
        return {"job_ms": job_ms, "window_ms": window_ms, "tasks": float(len(m.tasks()))}

    def summarize(
        self, variants: dict[str, dict[str, float]], ctx: BenchContext
    ) -> tuple[dict[str, float], dict[str, Target]]:
        ratio = variants["measured"]["job_ms"] / variants["bare"]["job_ms"]
        window = variants["measured"]["window_ms"] / variants["bare"]["window_ms"]
        ratios = {"measured_over_bare": ratio, "window_over_bare": window}
        return ratios, {"measured_over_bare": Target(ratio, f"<= {TARGET_RATIO}", ratio <= TARGET_RATIO)}

    def teardown(self, ctx: BenchContext) -> None:
        if self.spark is not None:
            self.spark.stop()
            self.spark = None
        if self.state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)


EXPERIMENT = Overhead()
