"""`overhead`: what does measuring cost? The same multi-stage job bare, inside `measure()`, and under sparkMeasure.

`job_ms` is the job's wall time as its caller sees it (inside the window for
`measured` and `sparkmeasure`); that is what measurement must not slow down.
`window_ms` adds opening and closing the window (for `measured`: waiting for the
status store to settle and reading the REST API; for `sparkmeasure`: registering
its two listeners, draining the listener bus and aggregating), reported beside it.
`sparkmeasure` uses sparkMeasure's own StageMetrics and TaskMetrics (begin/end/aggregate)
and needs its jar (`spark-sched measure build-jar`); without one it reports nothing
and has no target (`params.sparkmeasure_jar` is false).

Spark's untouched default is `bare` (the job with no measurement at all).

Targets, judged by the harness on paired per-repetition values (each run over
`bare`'s run in the same repetition; the median, its 95% bootstrap interval and
a verdict met / missed / inconclusive): measured.job_ms / bare.job_ms <= 1.05
and sparkmeasure.job_ms / bare.job_ms <= 1.05. Runs are short and the ratios
close to 1, so the experiment asks for at least 5 (quick) or 9 repetitions and
allows up to 9 or 25 while a target is inconclusive.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from typing import Any

from spark_sched.bench.base import BenchContext, TargetSpec
from spark_sched.bench.experiments._common import paired, ratio

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
        ctx.max_repetitions = max(ctx.max_repetitions, ctx.repetitions, 9 if ctx.quick else 25)
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

    def targets(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> list[TargetSpec]:
        # without sparkMeasure's jar its variant never measures: a target it can never decide would only keep
        # the adaptive harness running to max_repetitions (params.sparkmeasure_jar says why it is absent)
        judged = ("measured", "sparkmeasure") if self.has_sparkmeasure else ("measured",)
        return [paired(variant, "job_ms", "<=", TARGET_RATIO, "bare") for variant in judged]

    def summarize(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> dict[str, float]:
        ratios: dict[str, float] = {}
        for variant in ("measured", "sparkmeasure"):
            if "job_ms" not in variants.get(variant, {}):  # sparkMeasure's jar was missing: nothing measured
                continue
            ratios[f"{variant}_over_bare"] = ratio(variants, variant, "bare", "job_ms")
            ratios[f"{variant}_window_over_bare"] = ratio(variants, variant, "bare", "window_ms")
        return ratios

    def teardown(self, ctx: BenchContext) -> None:
        if self.spark is not None:
            self.spark.stop()
            self.spark = None
        if self.state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)


EXPERIMENT = Overhead()
