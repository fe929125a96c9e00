"""Bench `sim_validation`: is the scheduling model right about real runs?

Each repetition runs small real Spark applications on the bench's own local
standalone cluster (3 workers x 2 cores on 127.0.0.2-4, event logging on, every
log kept under `--out` in `sim_validation-eventlogs/`), in the shapes the real
benches judge, then replays each log in the model (`spark_sched.sim.replay`):

* `pools`: a warm-up, then two saturating JVM-sleep jobs (the pools bench's
  `_sleep_job`), `etl` then `adhoc` 0.3 s later, run under FIFO and under FAIR
  with the pools bench's flat pools (etl weight 2, adhoc 1). Ratio judged:
  etl's job time FAIR / FIFO (about 1.5: FIFO gives etl every slot).
* `locality`: the locality bench's `hot` workload on this loopback cluster
  (its `cache` and `iterate`: 24 cached blocks, 20 on one host; iterations of
  0.5 s Python tasks, one after another) with locality wait 0, 3 s and the
  toolkit's recommendation (`recommend_locality_wait` in cost mode with what the
  wait-0 run measured, as the locality bench does; when it recommends no wait,
  the wait-0 run stands for it). Ratios judged: wait_3s / wait_0,
  recommended / wait_0 and recommended / wait_3s iteration time.
* `priority`: a batch job of 1 s JVM-sleep tasks filling every slot in pool
  `low`, beside a stream of 2-task jobs every 0.5 s in pool `high` (the
  toolkit's HIGH/LOW classes: weight 1000, minShare 64), under FIFO and FAIR.
  Ratio judged: the stream's p99 job time FAIR / FIFO.
* `kmn`: the same 24 cached blocks piled on one host (block updates logged),
  then, one after another in one application, jobs that read K = 6 of them:
  `random_k`, a sample drawn before the job (`sc.runJob` over 6 partitions
  chosen at random, Spark's default locality wait), and `kmn`, the same
  sampling job through `any_k_of_n` (the K local to free slots). The what-if
  (`spark_sched.sim.anyk`) replays the log with each `random_k` job's input
  rewritten at its arrival by the toolkit's chooser called on the model's free
  slots. Ratio judged: the median job time kmn / random_k.
* `composer`: the composer bench's mix (tiny, medium and skewed batch jobs and
  a HIGH stream, `spark_sched.workloads.mixed`, same seeds) in the FAIR
  application with the toolkit's HIGH/LOW pools, run as Spark runs it
  (`spark_default`) and under the toolkit's compositions, each class its prior
  (`composed`: the stream in pool high, batch jobs coarse). Each log is
  replayed as recorded; the ratios judged (the stream's p99 and the median job
  time, composed / spark_default) are predicted from the two replays, one per
  run: the model does not turn one log into the other's compositions.

Every bench job is submitted open loop (at fixed times, whatever the scheduler
does) except the locality iterations, a driver loop.

One harness variant per shape, not per application: a shape's predictions
cross its applications (the FIFO log replayed with FAIR settings against the
FAIR run), so each repetition's measured and predicted ratios come from
applications run back to back. Metrics, per application `<app>` of the shape:

* as recorded (the log replayed under its own settings, 5 seeds, 3 with
  --quick), over the shape's tagged jobs: `<app>.job_time_measured_s` and
  `_predicted_s` (median over jobs), `<app>.job_time_abs_err` (median over jobs
  of |predicted - measured| / measured), `<app>.locality_measured`,
  `_predicted`, `<app>.locality_gap`, and where there is a stream,
  `<app>.stream_p99_measured_s`, `_predicted_s`, `<app>.stream_p99_err`;
  `<app>.driver_latency_s`: the driver's time from a job's last task end to the
  job's end, measured from the log: the model does not have it (see below);
* from another application's log: `<app>.from_<source>.<figure>_predicted` and
  `_err` (the source's log replayed under this application's settings against
  this application's measured figure), and `ratio.<name>.measured`,
  `.predicted` (median over seeds of the paired what-if ratio) and
  `.direction_right` (1 when the model points the way the run did, see
  `_sim_validation_metrics.direction_right`).

Targets (per repetition, judged by the harness): every application's
job_time_abs_err <= 0.10; the locality applications' locality_gap <= 0.05;
every ratio's direction_right >= 1.

What the model cannot know, and what the bench does about it:

* the driver's time inside a job (scheduling the job, serialising tasks, the
  job-end event) is not in the tasks' times the model replays; it is measured
  (`driver_latency_s`) and is the floor of the as-recorded error on short jobs
  (tens of ms on jobs of 0.3-3 s here);
* preferred locations are not in Spark's event log: the locality applications
  turn on `spark.eventLog.logBlockUpdates.enabled`, from which the trace reads
  where each cached block sat (`spark_sched.sim.trace`); without it a task that
  ran off its block's host would replay as one with no place to wait for;
* the replay is open loop: a what-if keeps recorded arrivals. The locality
  iterations are a driver loop, so their what-if replays them closed
  (`_sim_validation_metrics.Chain`: each submitted after the one before ends,
  with the recorded gap); the other shapes submit open loop by design;
* a loopback cluster's remote block read is charged at the trace's default
  link rate (10 Gbit/s), not measured.
"""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from spark_sched.bench.application import ALL_EXECUTORS_FIRST, EXECUTOR_TIMEOUT_S, BenchApplication, bench_builder
from spark_sched.bench.base import BenchContext, TargetSpec
from spark_sched.bench.executors import wait_for_executors
from spark_sched.bench.experiments import _sim_validation_metrics as m
from spark_sched.bench.experiments._common import absolute
from spark_sched.bench.experiments._locality_app import EXECUTOR_MEMORY, ITER_TAG, cache, facts, iterate
from spark_sched.bench.experiments.locality import REPLICATION, placement_counts
from spark_sched.bench.experiments.locality import _params as locality_params
from spark_sched.bench.experiments.pools import FLAT, PoolsExperiment
from spark_sched.locality import LocalityWait, recommend_locality_wait
from spark_sched.mixes import BENCH_BATCH_GAP_S
from spark_sched.pools.context import POOL_PROPERTY, local_property
from spark_sched.pools.toml_io import dump_toml
from spark_sched.priority.classes import DEFAULT_CLASSES, HIGH, LOW, fair_conf, write_pool_file
from spark_sched.sim.anyk import AnyKOfN, cached_blocks
from spark_sched.sim.replay import replay, whatif_settings
from spark_sched.sim.settings import SimSettings
from spark_sched.sim.trace import Trace, load_trace

WORKERS, CORES = 3, 2
TARGET_ERROR = 0.10
TARGET_LOCALITY_GAP = 0.05
TAG = "simval"
POOLS_TAG, STREAM_TAG, BATCH_TAG = f"{TAG}-pools", f"{TAG}-stream", f"{TAG}-batch"
PRIORITY_TAG = f"{TAG}-priority"
KMN_TAGS = {"random_k": f"{TAG}-kmn-random", "kmn": f"{TAG}-kmn-choice"}
MIX_TAG = f"{TAG}-mix"
MIX_STREAM_TAG = f"{MIX_TAG}-stream"
APPS = {"pools": ("fifo", "fair"), "locality": ("wait_0", "wait_3s", "recommended"), "priority": ("fifo", "fair"),
        "kmn": tuple(KMN_TAGS), "composer": ("spark_default", "composed")}
RATIOS = {"pools": ("etl_fair_vs_fifo",),
          "locality": ("wait_3s_vs_wait_0", "recommended_vs_wait_0", "recommended_vs_wait_3s"),
          "priority": ("stream_p99_fair_vs_fifo",), "kmn": ("kmn_vs_random_k",),
          "composer": ("stream_p99_composed_vs_default", "job_time_composed_vs_default")}
LOGS = "sim_validation-eventlogs"
FIFO = {"spark.scheduler.mode": "FIFO"}


def _params(quick: bool) -> dict[str, Any]:
    hot = {k: v for k, v in locality_params(quick).items() if k.startswith("hot_") or k in ("workers",
                                                                                            "cores_per_worker")}
    return {
        "seeds": 3 if quick else 5,
        "pools_task_ms": 300 if quick else 400, "pools_waves": 3 if quick else 8, "pools_gap_s": 0.3,
        "batch_task_ms": 1000, "batch_waves": 4 if quick else 9,
        "stream_every_s": 0.5, "stream_jobs": 6 if quick else 14, "stream_tasks": 2, "stream_task_ms": 100,
        **hot, "hot_cache_slow_s": 1.0,  # enough to pile the blocks on the hot host, half the locality bench's
        "kmn_k": 6, "kmn_jobs": 4 if quick else 8, "kmn_task_s": 0.4,
        "mix_seconds": 6.0 if quick else 10.0, "mix_batch_gap_s": BENCH_BATCH_GAP_S, "mix_seed": 12,
    }


def _sleep_job(spark: Any, tasks: int, ms: int) -> None:
    PoolsExperiment._sleep_job(spark, tasks, ms)


def _tagged(sc: Any, pool: str, tags: tuple[str, ...], job: Callable[[], None]) -> None:
    """Run `job` in this thread with its pool property (recorded under FIFO too) and tags."""
    for tag in tags:
        sc.addJobTag(tag)
    with local_property(sc, POOL_PROPERTY, pool):
        job()


def _mix_tagged(runner: Any) -> Any:
    """`runner` with every job tagged as the mix's, and the stream's also as the stream's."""

    def run(spark: Any, job: Any, out: Any, start: float) -> None:
        tags = (MIX_TAG, MIX_STREAM_TAG) if job.kind == "stream" else (MIX_TAG,)
        sc = spark.sparkContext
        for tag in tags:
            sc.addJobTag(tag)
        try:
            runner(spark, job, out, start)
        finally:
            for tag in tags:
                sc.removeJobTag(tag)

    return run


def _open_loop(jobs: list[tuple[float, Callable[[], None]]]) -> None:
    """Start each job in its own thread at its time from now (whatever the scheduler does), then join them all."""
    from pyspark import InheritableThread

    start, threads = time.monotonic(), []
    for at, job in sorted(jobs, key=lambda j: j[0]):
        time.sleep(max(0.0, start + at - time.monotonic()))  # an arrival time, not a wait for a condition
        thread = InheritableThread(target=job)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()


class SimValidation:
    name = "sim_validation"
    description = ("Real runs (FIFO vs FAIR pools, locality wait 0 / 3 s / recommended on a hot host, a stream "
                   "beside a batch job, pre-selected samples vs KMN's choice, the composer's mix with and without "
                   "compositions) replayed in the scheduling model: job-time error <= 10%, locality gap <= 0.05, "
                   "every ratio's direction right")
    variants = tuple(APPS)

    def __init__(self) -> None:
        self.app: BenchApplication | None = None
        self.files: dict[str, Path] = {}

    # -- setup / teardown ---------------------------------------------------------------------------------------
    def setup(self, ctx: BenchContext) -> None:
        ctx.params.update(_params(ctx.quick))
        self.app = BenchApplication(ctx, "sim_validation", WORKERS, CORES)
        flat = self.app.state_dir / "pools-flat.toml"
        flat.write_text(dump_toml(FLAT, "sim_validation: pools"), encoding="utf-8")
        self.files = {"pools": flat, "priority": write_pool_file(self.app.state_dir, DEFAULT_CLASSES)}
        ctx.params.update({"pools": "etl weight 2, adhoc weight 1 (bench pools' fair_flat)",
                           "priority_pools": f"{HIGH.pool} weight {HIGH.weight} minShare {HIGH.min_share}, "
                                             f"{LOW.pool} weight {LOW.weight}",
                           "hot_host": next(iter(self.app.racks)), "eventlogs": str(ctx.out_dir / LOGS),
                           "direction_tol": m.DIRECTION_TOL})

    def teardown(self, ctx: BenchContext) -> None:
        app, self.app = self.app, None
        if app is not None:
            app.stop()

    # -- one application ----------------------------------------------------------------------------------------
    def _application(self, ctx: BenchContext, label: str, conf: dict[str, str], body: Callable[[Any], Any],
                     **overrides: Any) -> tuple[Trace, Any]:
        """Start an application, run `body(spark)`, stop it; its event log kept under --out and loaded."""
        assert self.app is not None
        conf = {"spark.executor.memory": "512m", "spark.ui.showConsoleProgress": "false", **conf}
        spark = bench_builder(self.app.master, self.app.state_dir, f"bench-simval-{label}", conf,
                              **overrides).getOrCreate()
        try:
            spark.sparkContext.setLogLevel("ERROR")
            wait_for_executors(spark, WORKERS, EXECUTOR_TIMEOUT_S, "sim_validation")
            app_id = spark.sparkContext.applicationId
            out = body(spark)
        finally:
            spark.stop()
        log = self.app.state_dir / "events" / f"eventlog_v2_{app_id}"
        kept = ctx.out_dir / LOGS / label
        shutil.rmtree(kept, ignore_errors=True)
        kept.mkdir(parents=True)
        shutil.copytree(log, kept / log.name)
        return load_trace(kept / log.name), out

    def _as_recorded(self, trace: Trace, tag: str, ctx: BenchContext, stream: str | None = None) -> dict[str, float]:
        comparison = replay(trace, seeds=int(ctx.params["seeds"]))
        figures = m.as_recorded(comparison, tag, stream)
        figures["driver_latency_s"] = m.driver_latency(trace.path, tag)
        return figures

    def _seeds(self, ctx: BenchContext) -> range:
        return range(int(ctx.params["seeds"]))

    # -- the shapes ---------------------------------------------------------------------------------------------
    def run(self, variant: str, repetition: int, ctx: BenchContext) -> dict[str, float]:
        shape = {"pools": self._pools, "locality": self._locality, "priority": self._priority,
                 "kmn": self._kmn, "composer": self._composer}[variant]
        return shape(f"{variant}-{repetition + 1}", ctx)

    def _pools(self, label: str, ctx: BenchContext) -> dict[str, float]:
        p = ctx.params
        tasks, ms = WORKERS * CORES * int(p["pools_waves"]), int(p["pools_task_ms"])

        def body(spark: Any) -> None:
            sc = spark.sparkContext
            _sleep_job(spark, WORKERS * CORES, ms)  # warm-up: code generated, classes loaded on every executor
            _open_loop([(i * float(p["pools_gap_s"]),
                         lambda leaf=leaf: _tagged(sc, leaf, (POOLS_TAG, f"{POOLS_TAG}-{leaf}"),
                                                   lambda: _sleep_job(spark, tasks, ms)))
                        for i, leaf in enumerate(("etl", "adhoc"))])

        traces = {"fifo": self._application(ctx, f"{label}-fifo", FIFO, body, pools="")[0],
                  "fair": self._application(ctx, f"{label}-fair", {}, body, pools=str(self.files["pools"]))[0]}
        metrics: dict[str, float] = {}
        for app, trace in traces.items():
            metrics.update(m.prefixed(app, self._as_recorded(trace, POOLS_TAG, ctx)))
        fair = whatif_settings(traces["fifo"].settings, pools=self.files["pools"])
        metrics.update(self._cross([("etl_fair_vs_fifo", "fair", "fifo")], traces, "fifo", {"fair": fair},
                                   f"{POOLS_TAG}-etl", "job_time", ctx))
        return metrics

    def _priority(self, label: str, ctx: BenchContext) -> dict[str, float]:
        p = ctx.params
        slots = WORKERS * CORES

        def body(spark: Any) -> None:
            sc = spark.sparkContext
            _sleep_job(spark, slots, int(p["stream_task_ms"]))  # warm-up
            batch = (0.0, lambda: _tagged(sc, LOW.pool, (PRIORITY_TAG, BATCH_TAG), lambda: _sleep_job(
                spark, slots * int(p["batch_waves"]), int(p["batch_task_ms"]))))
            stream = [(0.5 + k * float(p["stream_every_s"]),
                       lambda: _tagged(sc, HIGH.pool, (PRIORITY_TAG, STREAM_TAG), lambda: _sleep_job(
                           spark, int(p["stream_tasks"]), int(p["stream_task_ms"]))))
                      for k in range(int(p["stream_jobs"]))]
            _open_loop([batch, *stream])

        traces = {"fifo": self._application(ctx, f"{label}-fifo", FIFO, body, pools="")[0],
                  "fair": self._application(ctx, f"{label}-fair", fair_conf(self.files["priority"]), body,
                                            pools="")[0]}
        metrics: dict[str, float] = {}
        for app, trace in traces.items():
            metrics.update(m.prefixed(app, self._as_recorded(trace, PRIORITY_TAG, ctx, STREAM_TAG)))
        fair = whatif_settings(traces["fifo"].settings, pools=self.files["priority"])
        metrics.update(self._cross([("stream_p99_fair_vs_fifo", "fair", "fifo")], traces, "fifo", {"fair": fair},
                                   STREAM_TAG, "p99", ctx))
        return metrics

    def _locality(self, label: str, ctx: BenchContext) -> dict[str, float]:
        assert self.app is not None
        p = ctx.params
        hot = str(p["hot_host"])
        conf = {**FIFO, "spark.executor.memory": EXECUTOR_MEMORY, "spark.eventLog.logBlockUpdates.enabled": "true",
                **ALL_EXECUTORS_FIRST}
        hosts = list(self.app.racks)

        def body(spark: Any) -> dict[str, Any]:
            sc = spark.sparkContext
            fast, slow, blocks = float(p["hot_cache_fast_s"]), float(p["hot_cache_slow_s"]), int(p["hot_partitions"])
            # the model reads where the blocks sit from the log: any placement with a hot host will do
            data, placement = cache(sc, blocks, int(p["hot_partition_mb"]), lambda host: fast if host == hot else slow,
                                    lambda counts: counts.get(hot, 0) * 2 > blocks)
            from spark_sched.measure import measure

            with measure(spark) as window:
                iterate(sc, data, {**p, "hot_host": hot}, float(p["hot_task_seconds"]), int(p["hot_iterations"]))
            found = facts(window.tasks())
            return {**found["model_inputs"], "replication": REPLICATION,
                    "placement": placement_counts(hosts, [placement[i] for i in sorted(placement)])}

        def wait_run(name: str, wait: LocalityWait) -> tuple[Trace, Any]:
            return self._application(ctx, f"{label}-{name}", conf, body, locality=wait, pools="")

        traces: dict[str, Trace] = {}
        traces["wait_0"], inputs = wait_run("wait_0", LocalityWait(0.0, 0.0, 0.0))
        traces["wait_3s"], _ = wait_run("wait_3s", LocalityWait(3.0, 3.0, 3.0))
        miss = max(0.0, inputs.pop("miss_seconds") or 0.0)
        rec = recommend_locality_wait(**inputs, miss_seconds=miss).wait
        same = max(rec.process, rec.node, rec.rack) == 0
        traces["recommended"] = traces["wait_0"] if same else wait_run("recommended", rec)[0]
        metrics: dict[str, float] = {"recommended.wait_s": rec.process, "recommended.is_wait_0": float(same)}
        for app, trace in traces.items():
            metrics.update(m.prefixed(app, self._as_recorded(trace, ITER_TAG, ctx)))
        base = traces["wait_0"].settings
        settings = {"wait_3s": whatif_settings(base, locality_wait=3.0),
                    "recommended": replace(base, waits=rec)}
        metrics.update(self._cross([("wait_3s_vs_wait_0", "wait_3s", "wait_0"),
                                    ("recommended_vs_wait_0", "recommended", "wait_0"),
                                    ("recommended_vs_wait_3s", "recommended", "wait_3s")],
                                   traces, "wait_0", settings, ITER_TAG, "job_time", ctx, chain=ITER_TAG))
        return metrics

    def _kmn(self, label: str, ctx: BenchContext) -> dict[str, float]:
        """Pre-selected samples and KMN's choice, alternating in one application over blocks piled on a host."""
        p = ctx.params
        hot, blocks, k = str(p["hot_host"]), int(p["hot_partitions"]), int(p["kmn_k"])
        conf = {**FIFO, "spark.executor.memory": EXECUTOR_MEMORY, "spark.eventLog.logBlockUpdates.enabled": "true",
                **ALL_EXECUTORS_FIRST}

        def body(spark: Any) -> None:
            from spark_sched.sampling import any_k_of_n

            sc, pause = spark.sparkContext, float(p["kmn_task_s"])
            fast, slow = float(p["hot_cache_fast_s"]), float(p["hot_cache_slow_s"])
            data, _ = cache(sc, blocks, int(p["hot_partition_mb"]), lambda host: fast if host == hot else slow,
                            lambda counts: counts.get(hot, 0) * 2 > blocks)

            def read(rows: Any) -> Any:
                time.sleep(pause)
                yield sum(len(r) for r in rows)

            draw = random.Random(label)
            for j in range(int(p["kmn_jobs"])):
                sc.addJobTag(KMN_TAGS["random_k"])
                sc.runJob(data, read, sorted(draw.sample(range(blocks), k)))  # a sample chosen beforehand
                sc.removeJobTag(KMN_TAGS["random_k"])
                any_k_of_n(data, k, read, extra=0.0, spark=spark, seed=j, tag=KMN_TAGS["kmn"])

        trace, _ = self._application(ctx, label, conf, body, pools="")
        metrics: dict[str, float] = {}
        for app, tag in KMN_TAGS.items():
            metrics.update(m.prefixed(app, self._as_recorded(trace, tag, ctx)))
        candidates = cached_blocks(trace.path)
        prediction = m.predicted_figures(
            trace, {"random_k": trace.settings, "kmn": trace.settings}, KMN_TAGS["random_k"], self._seeds(ctx),
            figures=("job_time",), hooks={"kmn": lambda seed: [AnyKOfN(candidates, KMN_TAGS["random_k"],
                                                                          trace.cluster, seed)]})
        measured = (m.measured_figure(trace, KMN_TAGS["kmn"], "job_time")
                    / m.measured_figure(trace, KMN_TAGS["random_k"], "job_time"))
        metrics.update(m.ratio_metrics("kmn_vs_random_k", measured, prediction.ratio("kmn", "random_k", "job_time")))
        predicted = prediction.median("kmn", "job_time")
        metrics["kmn.from_random_k.job_time_predicted"] = predicted
        metrics["kmn.from_random_k.job_time_err"] = m.rel_error(
            predicted, m.measured_figure(trace, KMN_TAGS["kmn"], "job_time"))
        metrics["kmn.candidate_blocks"] = float(len(candidates))
        return metrics

    def _composer(self, label: str, ctx: BenchContext) -> dict[str, float]:
        """The composer bench's mix as Spark runs it and under the toolkit's compositions (each class's prior)."""
        from spark_sched.workloads.mixed import WorkloadParams, generate, run_composed, run_plain, run_workload

        assert self.app is not None
        p, state = ctx.params, self.app.state_dir
        jobs = generate(int(p["mix_seed"]) + int(label.rsplit("-", 1)[1]),
                        WorkloadParams(seconds=float(p["mix_seconds"]), batch_gap_s=float(p["mix_batch_gap_s"])))

        def body(spark: Any, composed: bool) -> None:
            from spark_sched.composer import composer, load_compositions
            from spark_sched.composer.profiles import toolkit_compositions_file

            _sleep_job(spark, WORKERS * CORES, int(p["stream_task_ms"]))  # warm-up
            runner = run_plain
            if composed:
                comp = composer(spark, load_compositions(toolkit_compositions_file()),
                                state_dir=state / f"composer-{label}", learn=False)
                runner = run_composed(comp, lambda job: comp.compositions.prior(job.features["priority"], job.kind))
            run_workload(spark, jobs, _mix_tagged(runner))

        fair = fair_conf(self.files["priority"])
        traces = {"spark_default": self._application(ctx, f"{label}-default", fair, lambda s: body(s, False),
                                                     pools="")[0],
                  "composed": self._application(ctx, f"{label}-composed", fair, lambda s: body(s, True),
                                                pools="")[0]}
        metrics: dict[str, float] = {}
        for app, trace in traces.items():
            metrics.update(m.prefixed(app, self._as_recorded(trace, MIX_TAG, ctx, MIX_STREAM_TAG)))
        for name, key, tag, figure in (("stream_p99_composed_vs_default", "stream_p99", MIX_STREAM_TAG, "p99"),
                                       ("job_time_composed_vs_default", "job_time", MIX_TAG, "job_time")):
            measured = (m.measured_figure(traces["composed"], tag, figure)
                        / m.measured_figure(traces["spark_default"], tag, figure))
            predicted = metrics[f"composed.{key}_predicted_s"] / metrics[f"spark_default.{key}_predicted_s"]
            metrics.update(m.ratio_metrics(name, measured, predicted))
        return metrics

    def _cross(self, ratios: list[tuple[str, str, str]], traces: dict[str, Trace], source: str,
               settings: dict[str, SimSettings], tag: str, figure: str, ctx: BenchContext,
               chain: str | None = None) -> dict[str, float]:
        """`source`'s log under its own and the other applications' settings: each ratio (name, top, bottom).

        Measured: top's figure over bottom's, each from its own run. Predicted: from `source`'s log
        alone, the what-if under top's settings over the one under bottom's (paired per seed). And for
        each other application, the what-if's figures against what that application measured.
        """
        src = traces[source]
        prediction = m.predicted_figures(src, {source: src.settings, **settings}, tag, self._seeds(ctx), chain)
        out: dict[str, float] = {}
        for name, top, bottom in ratios:
            measured = m.measured_figure(traces[top], tag, figure) / m.measured_figure(traces[bottom], tag, figure)
            out.update(m.ratio_metrics(name, measured, prediction.ratio(top, bottom, figure)))
        for app in settings:
            for fig in dict.fromkeys(("job_time", "locality", figure)):
                predicted, actual = prediction.median(app, fig), m.measured_figure(traces[app], tag, fig)
                key = f"{app}.from_{source}.{fig}"
                out[f"{key}_predicted"] = predicted
                if fig == "locality":
                    out[f"{key}_gap"] = abs(predicted - actual)
                else:
                    out[f"{key}_err"] = m.rel_error(predicted, actual)
        return out

    # -- judging ------------------------------------------------------------------------------------------------
    def targets(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> list[TargetSpec]:
        specs = [absolute(shape, f"{app}.job_time_abs_err", "<=", TARGET_ERROR)
                 for shape, apps in APPS.items() for app in apps]
        specs += [absolute(shape, f"{app}.locality_gap", "<=", TARGET_LOCALITY_GAP)
                  for shape in ("locality", "kmn") for app in APPS[shape]]
        specs += [absolute(shape, f"ratio.{name}.direction_right", ">=", 1.0)
                  for shape, names in RATIOS.items() for name in names]
        return specs

    def summarize(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> dict[str, float]:
        out: dict[str, float] = {}
        for shape, names in RATIOS.items():
            for name in names:
                for kind in ("measured", "predicted"):
                    out[f"{shape}.{name}.{kind}"] = variants.get(shape, {}).get(f"ratio.{name}.{kind}", float("nan"))
        return out


EXPERIMENT = SimValidation()
