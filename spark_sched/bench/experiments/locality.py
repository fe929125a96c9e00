"""Bench `locality`: does the recommended wait buy locality without idling?

On the shaped testbed (3 workers x 2 cores, two racks, tc-shaped links) an
iterative job reads data cached across the executors several times while a
background job in its own FAIR pool keeps about half the slots busy with short tasks. Spark's wait is
per application, so every variant runs as its own application, in its own
Python process (a fresh JVM, so the driver UI binds where the testbed needs it):

- `wait_0`: never wait for a local slot;
- `wait_3s`: Spark's default;
- `recommended`: the delay-scheduling model's wait, from M, L, N and T measured
  in a pilot run at setup with Spark's default wait (as `spark-sched locality recommend
  --from-eventlog` takes them), with Spark's per-launch timer reset that the model assumes.

Metrics: job_ms (the iterations, wall clock), local_fraction (PROCESS_LOCAL +
NODE_LOCAL share of the iterations' tasks), remote_bytes (cached bytes and
shuffle bytes the iterations read from other hosts, from measurement),
cross_rack_bytes (the rack uplinks' kernel counters over the same window) and
predicted_local_fraction (the model's figure for the variant's wait).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from spark_sched.bench.base import BenchContext, Target
from spark_sched.errors import SparkSchedError
from spark_sched.locality import (
    LOCAL_LEVELS,
    LocalityWait,
    inputs_from_tasks,
    local_fraction,
    predicted_locality,
    recommend_locality_wait,
)
from spark_sched.testbed import ShapedCluster, Testbed, cross_rack_bytes, link_delta, require_tools
from spark_sched.topology import Topology

ITER_TAG, BG_TAG = "locality-iter", "locality-bg"
WORKERS, CORES, RACKS = 3, 2, 2
REPLICATION = 1  # Spark caches one copy of each block (MEMORY_ONLY)
RUN_TIMEOUT_S = 600


def _params(quick: bool) -> dict[str, Any]:
    return {
        "workers": WORKERS,
        "cores_per_worker": CORES,
        "racks": RACKS,
        "host_rate": "1gbit",
        "rack_uplink_rate": "100mbit",
        "partitions": 12,
        "partition_mb": 12 if quick else 16,
        "iterations": 4 if quick else 6,
        "task_seconds": 0.3,
        "background_tasks": 12,
        "background_task_seconds": 0.25,
        "target": 0.95,
    }


# -- one application (runs in its own process) -----------------------------------


def _iterate(sc: Any, data: Any, params: dict[str, Any]) -> float:
    """The iterative job: every iteration reads every cached partition; returns wall ms."""
    pause = params["task_seconds"]

    def work(rows: Any) -> Any:
        time.sleep(pause)
        yield sum(len(r) for r in rows)

    sc.setLocalProperty("spark.scheduler.pool", "iterative")
    sc.addJobTag(ITER_TAG)
    start = time.perf_counter()
    for _ in range(params["iterations"]):
        data.mapPartitions(work).sum()
    elapsed = (time.perf_counter() - start) * 1000
    sc.removeJobTag(ITER_TAG)
    return elapsed


def _background(sc: Any, params: dict[str, Any], stop: Any) -> None:
    """Jobs of short tasks with no locality preference, in their own FAIR pool, until told to stop.

    The two pools split the slots about evenly, so a slot that frees goes to the
    iterative job about half the time, on whatever host it happens to be: the
    situation delay scheduling was made for.
    """
    pause, width = params["background_task_seconds"], params["background_tasks"]
    sc.setLocalProperty("spark.scheduler.pool", "background")
    sc.addJobTag(BG_TAG)
    while not stop.is_set():
        sc.parallelize(range(width), width).foreach(lambda _: time.sleep(pause))


def run_application(master: str, state_dir: str, variant: str, wait: LocalityWait, params: dict[str, Any]) -> dict:
    """One variant as one Spark application on the running testbed; returns metrics and the raw task facts."""
    import threading

    from pyspark import InheritableThread, StorageLevel
    from pyspark.sql import SparkSession

    from spark_sched import configure
    from spark_sched.measure import measure

    builder = configure(SparkSession.builder, master=master, state_dir=state_dir, app_name=f"locality-{variant}",
                        locality=wait)
    # Every executor registered before the data is cached, so each holds its share of the partitions.
    builder = builder.config("spark.executor.memory", "800m").config("spark.scheduler.mode", "FAIR")
    builder = builder.config("spark.scheduler.minRegisteredResourcesRatio", "1.0")
    spark = builder.config("spark.scheduler.maxRegisteredResourcesWaitingTime", "120s").getOrCreate()
    sc = spark.sparkContext
    try:
        size = params["partition_mb"] << 20

        def block(i: int) -> bytes:
            time.sleep(0.2)  # caching waves finish together: an even spread of blocks over executors
            return os.urandom(size)

        data = sc.parallelize(range(params["partitions"]), params["partitions"]).map(block)
        data.persist(StorageLevel.MEMORY_ONLY).count()
        stop = threading.Event()
        background = InheritableThread(target=_background, args=(sc, params, stop), daemon=True)
        testbed = Testbed(Path(state_dir) / "cluster")
        before = testbed.links()
        with measure(spark) as m:
            background.start()
            job_ms = _iterate(sc, data, params)
            stop.set()
            background.join()
        links = link_delta(before, testbed.links())
        tasks = m.tasks()
    finally:
        spark.stop()
    iters = tasks[tasks["jobTags"].map(lambda tags: ITER_TAG in tags)]
    remote = iters[~iters["taskLocality"].isin(LOCAL_LEVELS)]
    return {
        "job_ms": job_ms,
        "local_fraction": local_fraction(iters),
        "remote_bytes": float(remote["bytesRead"].sum() + iters["shuffleRemoteBytesRead"].sum()),
        "cross_rack_bytes": float(cross_rack_bytes(links)),
        "iteration_tasks": float(len(iters)),
        "mean_task_ms": float((tasks["finishTime"] - tasks["launchTime"]).mean()),
        "model_inputs": inputs_from_tasks(tasks),
    }


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="one application of bench `locality` (internal)")
    parser.add_argument("--master", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--variant", required=True)
    parser.add_argument("--wait", required=True, help="process,node,rack seconds,reset_on_launch")
    parser.add_argument("--params", required=True, help="JSON")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    process, node, rack, reset = args.wait.split(",")
    wait = LocalityWait(float(process), float(node), float(rack), None if reset == "None" else reset == "True")
    result = run_application(args.master, args.state_dir, args.variant, wait, json.loads(args.params))
    Path(args.out).write_text(json.dumps(result))


# -- the experiment ---------------------------------------------------------------


class LocalityExperiment:
    name = "locality"
    description = "Does the delay-scheduling model's locality wait buy locality without idling? (shaped testbed)"
    variants = ("wait_0", "wait_3s", "recommended")

    def __init__(self) -> None:
        self.tmp: tempfile.TemporaryDirectory[str] | None = None
        self.cluster: ShapedCluster | None = None
        self.master = ""
        self.waits: dict[str, LocalityWait] = {}
        self.inputs: dict[str, Any] = {}

    @property
    def state_dir(self) -> str:
        assert self.tmp is not None
        return self.tmp.name

    def setup(self, ctx: BenchContext) -> None:
        require_tools()
        params = _params(ctx.quick)
        ctx.params.update(params)
        self.tmp = tempfile.TemporaryDirectory(prefix="spark-sched-bench-locality-")
        self.cluster = ShapedCluster(Path(self.state_dir) / "cluster")
        topology = Topology(racks=RACKS, host_rate=params["host_rate"], rack_uplink_rate=params["rack_uplink_rate"],
                            source="bench locality")
        state = self.cluster.up(workers=WORKERS, cores=CORES, memory="1g", topology=topology)
        self.master = state.master
        ctx.cluster.update({"master": state.master, "shaped": True,
                            "workers": [{"host": w.host, "rack": w.rack} for w in state.workers]})
        self.waits = {"wait_0": LocalityWait(0.0, 0.0, 0.0), "wait_3s": LocalityWait(3.0, 3.0, 3.0)}
        # A past run with Spark's default wait gives M, L, N and T, as `recommend --from-eventlog` takes them.
        pilot = self._application("pilot", self.waits["wait_3s"], params)
        self.inputs = {**pilot["model_inputs"], "replication": REPLICATION}
        rec = recommend_locality_wait(**self.inputs, target=params["target"])
        self.waits["recommended"] = rec.wait
        ctx.params["model_inputs_from_pilot"] = self.inputs
        ctx.params["recommended_wait_s"] = rec.wait.process
        ctx.params["recommended_conf"] = rec.wait.spark_conf()

    def _application(self, variant: str, wait: LocalityWait, params: dict[str, Any]) -> dict[str, Any]:
        out = Path(self.state_dir) / f"{variant}.json"
        out.unlink(missing_ok=True)
        waits = f"{wait.process},{wait.node},{wait.rack},{wait.reset_on_launch}"
        cmd = [sys.executable, "-m", "spark_sched.bench.experiments.locality", "--master", self.master,
               "--state-dir", self.state_dir, "--variant", variant, "--wait", waits,
               "--params", json.dumps(params), "--out", str(out)]
        env = {k: v for k, v in os.environ.items() if k != "SPARK_LOCAL_IP"}
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, env=env)
        if proc.returncode != 0 or not out.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise SparkSchedError(f"bench locality: variant {variant} failed: {' | '.join(tail)}")
        return json.loads(out.read_text())

    def run(self, variant: str, repetition: int, ctx: BenchContext) -> dict[str, float]:
        wait = self.waits[variant]
        metrics = self._application(variant, wait, dict(ctx.params))
        metrics.pop("model_inputs", None)
        metrics["predicted_local_fraction"] = predicted_locality(wait.process, **self.inputs)
        return metrics

    def summarize(
        self, variants: dict[str, dict[str, float]], ctx: BenchContext
    ) -> tuple[dict[str, float], dict[str, Target]]:
        rec, zero, default = variants["recommended"], variants["wait_0"], variants["wait_3s"]
        vs_zero = rec["job_ms"] / zero["job_ms"]
        vs_default = rec["job_ms"] / default["job_ms"]
        gap = abs(rec["predicted_local_fraction"] - rec["local_fraction"])
        ratios = {
            "recommended_vs_wait_0_job_ms": vs_zero,
            "recommended_vs_wait_3s_job_ms": vs_default,
            "predicted_minus_measured_local_fraction": rec["predicted_local_fraction"] - rec["local_fraction"],
        }
        targets = {
            "recommended.local_fraction": Target(rec["local_fraction"], ">= 0.95", rec["local_fraction"] >= 0.95),
            "recommended.job_ms / wait_0.job_ms": Target(vs_zero, "<= 0.8", vs_zero <= 0.8),
            "recommended.job_ms / wait_3s.job_ms": Target(vs_default, "<= 1.0", vs_default <= 1.0),
            "|predicted - measured| local_fraction": Target(gap, "<= 0.10", not math.isnan(gap) and gap <= 0.10),
        }
        return ratios, targets

    def teardown(self, ctx: BenchContext) -> None:
        if self.cluster is not None:
            self.cluster.down()
        if self.tmp is not None:
            self.tmp.cleanup()


EXPERIMENT = LocalityExperiment()

if __name__ == "__main__":
    _main()
