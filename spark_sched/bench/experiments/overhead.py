"""`overhead`: what does measuring cost? The same multi-stage job bare, inside `measure()`, and under sparkMeasure.

`job_ms` is the job's wall time as its caller sees it (inside the window for
`measured` and `sparkmeasure`); that is what measurement must not slow down.
`window_ms` adds opening and closing the window (for `measured`: waiting for the
status store to settle and reading the REST API; for `sparkmeasure`: registering
its two listeners, draining the listener bus and aggregating), reported beside it.
`sparkmeasure` uses sparkMeasure's own StageMetrics and TaskMetrics (begin/end/aggregate)
and needs its jar (`spark-sched measure build-jar`); without one it reports nothing
and its target says so.
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
    description = "Same multi-stage DataFrame job, bare vs measure() vs sparkMeasure: job time ratios (target <= 1.05)"
    variants = ("bare", "measured", "sparkmeasure")

    def __init__(self) -> None:
        self.spark: Any = None
        self.state_dir = ""
        self.has_sparkmeasure = False

    def setup(self, ctx: BenchContext) -> None:
        from pyspark.sql import SparkSession

        from spark_sched import configure, load_settings
        from spark_sched.measure.jar import resolve
        from spark_sched.measure.sparkmeasure import load_into_driver

        rows = 2_000_000 if ctx.quick else 8_000_000
        ctx.repetitions = max(ctx.repetitions, 5 if ctx.quick else 9)
        ctx.params.update({"rows": rows, "shuffle_partitions": 8, "stages": 3})
        self.state_dir = tempfile.mkdtemp(prefix="spark-sched-bench-overhead-")
        options: dict[str, Any] = {"app_name": "bench-overhead", "state_dir": self.state_dir}
        if ctx.master:
            options["master"] = ctx.master
        settings = load_settings()
        if resolve(settings).path is not None:  # sparkMeasure's jar on the classpath for its variant
            options["measure"] = "sparkmeasure"
        builder = configure(SparkSession.builder, settings, **options)
        self.spark = builder.config("spark.sql.shuffle.partitions", "8").getOrCreate()
        self.spark.sparkContext.setLogLevel("ERROR")
        self.has_sparkmeasure = load_into_driver(self.spark)
        ctx.params["sparkmeasure_jar"] = self.has_sparkmeasure
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
        if variant == "sparkmeasure":
            return self._under_sparkmeasure(ctx)
        started = time.perf_counter()
        with measure(self.spark, source="spark") as m:
            job_ms = self._job(ctx)
        window_ms = (time.perf_counter() - started) * 1000
        return {"job_ms": job_ms, "window_ms": window_ms, "tasks": float(len(m.tasks()))}

    def _under_sparkmeasure(self, ctx: BenchContext) -> dict[str, float]:
        """sparkMeasure alone, as its users run it: listeners on, begin, the job, end, drain, aggregate, off."""
        from spark_sched.measure.sparkmeasure import SparkMeasure, drain_listeners

        if not self.has_sparkmeasure:
            return {}
        started = time.perf_counter()
        sm = SparkMeasure(self.spark)
        sm.begin()
        job_ms = self._job(ctx)
        sm.end()
        drain_listeners(self.spark)
        tasks = float(sm.aggregate()["numTasks"])
        sm.close()
        return {"job_ms": job_ms, "window_ms": (time.perf_counter() - started) * 1000, "tasks": tasks}

    def summarize(
        self, variants: dict[str, dict[str, float]], ctx: BenchContext
    ) -> tuple[dict[str, float], dict[str, Target]]:
        bare = variants["bare"]
        ratios: dict[str, float] = {}
        targets: dict[str, Target] = {}
        for variant in ("measured", "sparkmeasure"):
            if "job_ms" not in variants.get(variant, {}):  # sparkMeasure's jar was missing: nothing measured
                targets[f"{variant}_over_bare"] = Target(float("nan"), f"<= {TARGET_RATIO} (no jar: not run)", False)
                continue
            ratio = variants[variant]["job_ms"] / bare["job_ms"]
            ratios[f"{variant}_over_bare"] = ratio
            ratios[f"{variant}_window_over_bare"] = variants[variant]["window_ms"] / bare["window_ms"]
            targets[f"{variant}_over_bare"] = Target(ratio, f"<= {TARGET_RATIO}", ratio <= TARGET_RATIO)
        return ratios, targets

    def teardown(self, ctx: BenchContext) -> None:
        if self.spark is not None:
            self.spark.stop()
            self.spark = None
        if self.state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)


EXPERIMENT = Overhead()
