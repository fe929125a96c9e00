"""The driver process of bench `locality`: one Spark application that runs the workload on request.

Run as `python -m spark_sched.bench.experiments._locality_app --master URL --state-dir DIR
--params JSON`; it caches the data once, prints a ready line, then reads one JSON
command per line on stdin: `{"cmd": "run", "variant": .., "wait": [process, node, rack,
reset]}` runs the workload once under that wait, `{"cmd": "stop"}` stops the
application. Replies are JSON lines on stdout behind a marker (the JVM may print too).

Spark reads the locality waits when it creates each stage's task set
(TaskSetManager reads `sc.conf` for `spark.locality.wait.*` and
`legacyResetOnTaskLaunch`), so setting them on the driver's live SparkConf between
jobs gives every later stage the new waits. Variants then share one application,
one JVM and the same cached blocks on the same executors: only the wait differs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from spark_sched.bench.application import ALL_EXECUTORS_FIRST, bench_builder, link_traffic
from spark_sched.locality import LOCAL_LEVELS, RESET_KEY, LocalityWait, inputs_from_tasks, local_fraction, miss_penalty
from spark_sched.locality.achieved import level_name, task_seconds

MARK = "@@locality@@ "
ITER_TAG, BG_TAG = "locality-iter", "locality-bg"


def reply(data: dict[str, Any]) -> None:
    sys.stdout.write(MARK + json.dumps(data) + "\n")
    sys.stdout.flush()


def set_waits(sc: Any, wait: LocalityWait) -> None:
    """The waits on the driver's live conf: every task set created from now on uses them."""
    conf = sc._jsc.sc().conf()
    for key, value in wait.spark_conf().items():
        conf.set(key, value)
    if wait.reset_on_launch is None:
        conf.remove(RESET_KEY)


def iterate(sc: Any, data: Any, params: dict[str, Any]) -> float:
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


class Workload:
    """The cached data and one run of the workload under a given wait."""

    def __init__(self, master: str, state_dir: str, params: dict[str, Any], name: str, wait: LocalityWait) -> None:
        from pyspark import StorageLevel

        self.params, self.state_dir = params, state_dir
        # Started with the first run's wait, so the event log's environment states the wait that run had.
        # Every executor registered before the data is cached, so each holds its share of the partitions.
        conf = {"spark.executor.memory": "800m", "spark.scheduler.mode": "FAIR", **ALL_EXECUTORS_FIRST}
        self.spark = bench_builder(master, state_dir, name, conf, locality=wait).getOrCreate()
        self.sc = self.spark.sparkContext
        size = params["partition_mb"] << 20

        def block(i: int) -> bytes:
            time.sleep(0.2)  # caching waves finish together: an even spread of blocks over executors
            return os.urandom(size)

        self.data = self.sc.parallelize(range(params["partitions"]), params["partitions"]).map(block)
        self.data.persist(StorageLevel.MEMORY_ONLY).count()

    def run(self, wait: LocalityWait) -> dict[str, Any]:
        from pyspark import InheritableThread

        from spark_sched.measure import measure

        set_waits(self.sc, wait)
        with link_traffic(Path(self.state_dir) / "cluster") as traffic:
            stop = threading.Event()
            thread = InheritableThread(target=background, args=(self.sc, self.params, stop), daemon=True)
            with measure(self.spark) as m:
                thread.start()
                job_ms = iterate(self.sc, self.data, self.params)
                stop.set()
                thread.join()
        return {"job_ms": job_ms, "cross_rack_bytes": traffic.cross_rack_bytes(), **facts(m.tasks())}

    def stop(self) -> None:
        self.spark.stop()


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
                        LocalityWait(process, node, rack, reset))
    log = Path(args.state_dir) / "events" / f"eventlog_v2_{workload.sc.applicationId}"
    reply({"ready": True, "app_id": workload.sc.applicationId, "eventlog": str(log)})
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if command.get("cmd") != "run":
                break
            process, node, rack, reset = command["wait"]
            reply(workload.run(LocalityWait(process, node, rack, reset)))
    finally:
        workload.stop()
        reply({"stopped": True})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="the driver of bench `locality` (internal)")
    parser.add_argument("--master", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--params", required=True, help="JSON")
    parser.add_argument("--name", default="locality-bench")
    parser.add_argument("--wait", default="[3.0, 3.0, 3.0, null]", help="JSON [process, node, rack, reset] at start")
    serve(parser.parse_args(argv))


if __name__ == "__main__":
    main()
