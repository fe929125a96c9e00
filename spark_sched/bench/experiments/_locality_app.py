"""The driver process of bench `locality`: one Spark application, with one wait, that runs the workloads on request.

Run as `python -m spark_sched.bench.experiments._locality_app --master URL --state-dir DIR
--params JSON --wait JSON`; it caches the data, prints a ready line with where each
block landed, then reads one JSON command per line on stdin: `{"cmd": "run",
"workload": "spread" | "hot"}` runs that workload once, `{"cmd": "stop"}` stops the
application. Replies are JSON lines on stdout behind a marker (the JVM may print too).

The wait is the application's: set in its conf at start, as Spark supports it.
Spark has no per-job locality wait (no local property, pool or resource profile
carries one), and changing `spark.locality.wait.*` on a running context's conf is
not supported: TaskSetManager reads the waits per task set, but TaskSchedulerImpl
reads `legacyResetOnTaskLaunch` once at start, and a concurrent job's task set
would take whichever wait was set last. So every wait a bench compares has its
own application, each with one executor of the same cores on every worker.

Workloads: `spread`, an iterative job over blocks spread evenly across the
executors while a background job in its own FAIR pool keeps about half the slots
busy; `hot`, an iterative job over blocks most of which one host (`hot_host`)
holds, with no other work: that host's queue outlasts everyone else's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from spark_sched.bench.application import ALL_EXECUTORS_FIRST, bench_builder, link_traffic
from spark_sched.locality import LOCAL_LEVELS, LocalityWait, inputs_from_tasks, local_fraction, miss_penalty
from spark_sched.locality.achieved import level_name, task_seconds

MARK = "@@locality@@ "
ITER_TAG, BG_TAG = "locality-iter", "locality-bg"
WORKLOADS = ("spread", "hot")
EXECUTOR_MEMORY = "896m"  # the hot host's executor keeps most of both workloads' blocks in memory


def reply(data: dict[str, Any]) -> None:
    sys.stdout.write(MARK + json.dumps(data) + "\n")
    sys.stdout.flush()


def iterate(sc: Any, data: Any, params: dict[str, Any], pause: float, iterations: int) -> float:
    """The iterative job: every iteration reads every cached partition (`pause` s a task); returns wall ms."""

    def work(rows: Any) -> Any:
        time.sleep(pause)
        yield sum(len(r) for r in rows)

    sc.setLocalProperty("spark.scheduler.pool", "iterative")
    sc.addJobTag(ITER_TAG)
    start = time.perf_counter()
    for _ in range(iterations):
        data.mapPartitions(work).sum()
    elapsed = (time.perf_counter() - start) * 1000
    sc.removeJobTag(ITER_TAG)
    return elapsed


def background(sc: Any, params: dict[str, Any], stop: threading.Event) -> None:
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


CACHE_ATTEMPTS = 4


def cache(sc: Any, partitions: int, size_mb: int, seconds: Any, wanted: Any) -> tuple[Any, dict[int, str]]:
    """`partitions` blocks of `size_mb` MB cached on the executors; and the host each block landed on.

    `seconds(host)` is how long computing a block takes on that host: equal everywhere
    spreads the blocks evenly (the caching waves finish together); short on one host and
    long elsewhere piles them onto that host. A block is cached by the task that first
    computes it, so the task that reports it names its host. Timing on a busy machine can
    land a block elsewhere, so the blocks are cached again (a few times at most) until
    `wanted(blocks per host)` holds: every application of a scenario gets the same placement.
    """
    from pyspark import StorageLevel

    size = size_mb << 20

    def host() -> str:  # the executor's worker's bind address, which executors and their Python workers inherit
        return os.environ.get("SPARK_LOCAL_IP", "")

    def block(i: int) -> bytes:
        time.sleep(seconds(host()))
        return os.urandom(size)

    for _ in range(CACHE_ATTEMPTS):
        data = sc.parallelize(range(partitions), partitions).map(block).persist(StorageLevel.MEMORY_ONLY)
        where = data.mapPartitionsWithIndex(lambda i, rows: [(i, host(), sum(1 for _ in rows))]).collect()
        placement = {i: at for i, at, _ in where}
        if wanted(Counter(placement.values())):
            break
        data.unpersist(blocking=True)
    return data, placement


class Workload:
    """The cached data of both workloads and one run of either, in an application with one wait."""

    def __init__(self, master: str, state_dir: str, params: dict[str, Any], name: str, wait: LocalityWait,
                 workloads: tuple[str, ...] = WORKLOADS) -> None:
        self.params, self.state_dir = params, state_dir
        # One executor of the same cores on every worker, whatever else runs there: the waits a bench
        # compares run in applications side by side, each with the same slots. Every executor
        # registers before the data is cached, so each holds its share of the blocks.
        slots = params["workers"] * params["cores_per_worker"]
        conf = {"spark.executor.memory": EXECUTOR_MEMORY, "spark.driver.memory": "512m", "spark.scheduler.mode": "FAIR",
                "spark.executor.cores": str(params["cores_per_worker"]), "spark.cores.max": str(slots),
                **ALL_EXECUTORS_FIRST}
        self.spark = bench_builder(master, state_dir, name, conf, locality=wait).getOrCreate()
        self.sc = self.spark.sparkContext
        self.data: dict[str, Any] = {}
        self.placement: dict[str, dict[int, str]] = {}
        workers, cores = params["workers"], params["cores_per_worker"]
        if "spread" in workloads:  # the same number of blocks on every host
            even = params["partitions"] // workers
            self.data["spread"], self.placement["spread"] = cache(
                self.sc, params["partitions"], params["partition_mb"], lambda host: 0.2,
                lambda counts: len(counts) == workers and set(counts.values()) == {even})
        if "hot" in workloads:  # every other host holds one wave of its slots, the hot host the rest
            hot, fast, slow = params["hot_host"], params["hot_cache_fast_s"], params["hot_cache_slow_s"]
            rest = params["hot_partitions"] - (workers - 1) * cores
            self.data["hot"], self.placement["hot"] = cache(
                self.sc, params["hot_partitions"], params["hot_partition_mb"],
                lambda host: fast if host == hot else slow, lambda counts: counts.get(hot, 0) == rest)

    def run(self, workload: str) -> dict[str, Any]:
        from pyspark import InheritableThread

        from spark_sched.measure import measure

        spread = workload == "spread"
        pause = self.params["task_seconds" if spread else "hot_task_seconds"]
        iterations = self.params["iterations" if spread else "hot_iterations"]
        stop = threading.Event()
        thread = InheritableThread(target=background, args=(self.sc, self.params, stop), daemon=True)
        with link_traffic(Path(self.state_dir) / "cluster") as traffic, measure(self.spark) as m:
            if spread:  # the hot workload runs alone: its hot host is busy with its own queue
                thread.start()
            job_ms = iterate(self.sc, self.data[workload], self.params, pause, iterations)
            stop.set()
            if spread:
                thread.join()
        return {"job_ms": job_ms, "cross_rack_bytes": traffic.cross_rack_bytes(),
                "hot_share": hot_share(self.placement[workload]), **facts(m.tasks())}

    def stop(self) -> None:
        self.spark.stop()


def hot_share(placement: dict[int, str]) -> float:
    """The share of the blocks the busiest host holds."""
    counts = Counter(placement.values())
    return max(counts.values()) / len(placement) if placement else float("nan")


def facts(tasks: Any) -> dict[str, Any]:
    """Locality, remote bytes and the model's inputs (local task length, miss cost) of the iterations' tasks."""
    iters = tasks[tasks["jobTags"].map(lambda tags: ITER_TAG in tags)]
    local = iters[iters["taskLocality"].map(level_name).isin(LOCAL_LEVELS)]
    remote = iters[~iters["taskLocality"].map(level_name).isin(LOCAL_LEVELS)]
    inputs = inputs_from_tasks(iters)
    inputs["task_seconds"] = float(task_seconds(local).mean()) if len(local) else inputs["task_seconds"]
    miss, misses = miss_penalty(iters)  # executor run time: where a remote block read is paid
    return {
        "local_fraction": local_fraction(iters),
        "remote_bytes": float(remote["bytesRead"].sum() + iters["shuffleRemoteBytesRead"].sum()),
        "iteration_tasks": float(len(iters)),
        "miss_ms": float("nan") if miss is None else miss * 1000,
        "misses": float(misses),
        "model_inputs": {**inputs, "miss_seconds": miss},
    }


def serve(args: argparse.Namespace) -> None:
    process, node, rack, reset = json.loads(args.wait)
    workload = Workload(args.master, args.state_dir, json.loads(args.params), args.name,
                        LocalityWait(process, node, rack, reset), tuple(args.workloads.split(",")))
    log = Path(args.state_dir) / "events" / f"eventlog_v2_{workload.sc.applicationId}"
    waits = {k: v for k, v in workload.sc.getConf().getAll() if k.startswith("spark.locality.wait")}
    reply({"ready": True, "app_id": workload.sc.applicationId, "eventlog": str(log), "waits": waits,
           "placement": {name: [where[i] for i in sorted(where)] for name, where in workload.placement.items()}})
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if command.get("cmd") != "run":
                break
            reply(workload.run(command["workload"]))
    finally:
        workload.stop()
        reply({"stopped": True})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="the driver of bench `locality` (internal)")
    parser.add_argument("--master", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--params", required=True, help="JSON")
    parser.add_argument("--name", default="locality-bench")
    parser.add_argument("--wait", default="[3.0, 3.0, 3.0, null]", help="JSON [process, node, rack, reset]")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="which data to cache: spread,hot")
    serve(parser.parse_args(argv))


if __name__ == "__main__":
    main()
