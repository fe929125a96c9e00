"""`priority`: does the controller keep stream latency near isolation without costing batch throughput?

The unified application (`spark_sched.priority.unified`: a YSB-like stream in
the HIGH pool, TPC-H Q1-like and Python feature-extraction jobs in the LOW
pool) runs once per variant on a local standalone cluster of 3 workers x 1
core (REFERENCE.md's setting), all variants in one application so they share
warm executors:

* `isolated`: the stream alone;  `fifo`: one FIFO pool for everything;
* `fair`: FAIR pools, the stream's pool at weight 1000 (no minShare);
* `kill`, `requeue`, `lb`, `lma`: the PriorityController with that policy (HIGH pool with a minShare).

Metrics: stream p50/p99 (event file written -> micro-batch committed), batch
jobs per minute, successful and wasted (killed/failed attempts) LOW task time
from `measure()`, reaction p99 (HIGH demand seen -> its first task running).
Targets for the best controller policy (lowest stream p99): p99 <= 1.25x
isolated and <= 1/3 of fair; jobs/min >= 0.95x fair; wasted <= 3% of batch
task time; reaction p99 <= 250 ms.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from spark_sched.bench.base import BenchContext, Target
from spark_sched.priority.unified import VARIANTS, UnifiedParams, run_unified

CONTROLLER_VARIANTS = ("kill", "requeue", "lb", "lma")
WORKERS, CORES = 3, 1
EXECUTOR_TIMEOUT_S = 180.0


class PriorityExperiment:
    name = "priority"
    description = (
        "Unified stream/batch app on 3x1-core workers: isolated, FIFO, FAIR (weight 1000) and the controller's "
        "kill/requeue/lb/lma policies; stream p50/p99, batch jobs/min, wasted work, reaction time"
    )
    variants = VARIANTS

    def __init__(self) -> None:
        self.state_dir: Path | None = None
        self.cluster: Any = None
        self.spark: Any = None
        self.params = UnifiedParams()
        self.latencies: dict[str, list[tuple[float, float]]] = {}

    def setup(self, ctx: BenchContext) -> None:
        from pyspark.sql import SparkSession

        from spark_sched import configure, load_settings
        from spark_sched.cluster import LocalCluster
        from spark_sched.priority.classes import fair_conf, write_pool_file
        from spark_sched.priority.unified import UNIFIED_CLASSES

        self.state_dir = Path(tempfile.mkdtemp(prefix="spark-sched-bench-priority-"))
        master = ctx.master
        if not master:
            self.cluster = LocalCluster(self.state_dir / "cluster")
            master = self.cluster.up(workers=WORKERS, cores=CORES, memory="1g").master
            ctx.cluster.update({"workers": WORKERS, "cores_per_worker": CORES})
        ctx.cluster["master"] = master
        conf = dict(load_settings().spark_conf)
        conf.update(fair_conf(write_pool_file(self.state_dir, UNIFIED_CLASSES)))
        conf.update({"spark.sql.shuffle.partitions": "3", "spark.executor.memory": "512m"})
        builder = configure(SparkSession.builder, load_settings(), master=master, state_dir=self.state_dir,
                            app_name="bench-priority", spark_conf=conf)
        self.spark = builder.getOrCreate()
        self.spark.sparkContext.setLogLevel("ERROR")
        slots = self._wait_for_executors(1 if ctx.master else WORKERS)
        self.params = UnifiedParams(seconds=12.0 if ctx.quick else 40.0, stream_slots=slots,
                                    q1_rows=1_000_000, in_flight=2)
        ctx.params.update({"seconds_per_run": self.params.seconds, "trigger_s": self.params.trigger_s,
                           "stream_slots": slots, "batch_in_flight": self.params.in_flight,
                           "max_preemptions": self.params.max_preemptions,
                           "latency": "event file written -> micro-batch output committed"})

    def _wait_for_executors(self, wanted: int) -> int:
        deadline = time.monotonic() + EXECUTOR_TIMEOUT_S
        while self.spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1 < wanted:
            if time.monotonic() > deadline:
                raise TimeoutError(f"priority bench: {wanted} executors did not register in {EXECUTOR_TIMEOUT_S:.0f}s")
            time.sleep(0.2)
        return int(self.spark.sparkContext.defaultParallelism)

    def run(self, variant: str, repetition: int, ctx: BenchContext) -> dict[str, float]:
        assert self.state_dir is not None
        result = run_unified(self.spark, variant, self.state_dir / "runs" / f"{variant}-{repetition}", self.params)
        self.latencies.setdefault(variant, []).extend(result.latencies_ms)
        return result.metrics()

    def summarize(
        self, variants: dict[str, dict[str, float]], ctx: BenchContext
    ) -> tuple[dict[str, float], dict[str, Target]]:
        ratios: dict[str, float] = {}
        iso, fair = variants["isolated"], variants["fair"]
        for name in CONTROLLER_VARIANTS + ("fair", "fifo"):
            v = variants[name]
            ratios[f"{name}_p99_vs_isolated"] = v["stream_p99_ms"] / iso["stream_p99_ms"]
            ratios[f"{name}_p99_vs_fair"] = v["stream_p99_ms"] / fair["stream_p99_ms"]
            ratios[f"{name}_jobs_vs_fair"] = v["batch_jobs_per_min"] / fair["batch_jobs_per_min"] if fair[
                "batch_jobs_per_min"] else float("nan")
            ratios[f"{name}_wasted_fraction"] = v["wasted_task_ms"] / v["batch_task_ms"] if v["batch_task_ms"] else 0.0
        best = min(CONTROLLER_VARIANTS, key=lambda n: variants[n]["stream_p99_ms"])
        ctx.params["best_policy"] = best
        b = variants[best]
        targets = {
            "best_p99_vs_isolated": _target(ratios[f"{best}_p99_vs_isolated"], "<= 1.25", 1.25),
            "best_p99_vs_fair": _target(ratios[f"{best}_p99_vs_fair"], "<= 0.333", 1 / 3),
            "best_jobs_vs_fair": Target(ratios[f"{best}_jobs_vs_fair"], ">= 0.95",
                                        ratios[f"{best}_jobs_vs_fair"] >= 0.95),
            "best_wasted_fraction": _target(ratios[f"{best}_wasted_fraction"], "<= 0.03", 0.03),
            "best_reaction_p99_ms": _target(b["reaction_p99_ms"], "<= 250", 250.0),
        }
        self._plot(ctx)
        return ratios, targets

    def _plot(self, ctx: BenchContext) -> None:
        from spark_sched.priority.plots import plot_latency

        plot_latency(self.latencies, ctx.out_dir, prefix="priority-latency")

    def teardown(self, ctx: BenchContext) -> None:
        if self.spark is not None:
            self.spark.stop()
            self.spark = None
        if self.cluster is not None:
            self.cluster.down()
            self.cluster = None
        if self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            self.state_dir = None


def _target(value: float, text: str, bound: float) -> Target:
    return Target(value, text, value <= bound)


EXPERIMENT = PriorityExperiment()
