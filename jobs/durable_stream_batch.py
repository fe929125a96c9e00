"""The unified stream/batch application, restartable: stop its driver at any point and start it again.

Everything it needs to resume lives in --state-dir: the stream's checkpoint
(`checkpoint/`), its committed micro-batches (`out/`, one file per batch id),
the durable queue of LOW jobs (`queue.sqlite`, WAL) and their committed
partitions (`batch/`). The stream reads event files from `<state-dir>/events`
(written by whoever feeds it). On SIGTERM it stops gracefully (the query at a
batch boundary, running LOW jobs left for the next driver); on SIGKILL nothing
runs, and the next driver resumes all the same. It exits when `<state-dir>/stop`
appears and every queued job is done and every event file processed.

    python jobs/durable_stream_batch.py --state-dir /tmp/app --jobs 6
    spark-sched submit durable_stream_batch -- --state-dir /tmp/app --jobs 6
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path

from pyspark.sql import SparkSession

from spark_sched import configure, load_settings
from spark_sched.priority import PriorityController
from spark_sched.priority.classes import HIGH, LOW, fair_conf, write_pool_file
from spark_sched.priority.durable import DurableQueue, DurableRunner
from spark_sched.priority.streaming import StreamWatch
from spark_sched.workloads import register_job_kinds
from spark_sched.workloads.unified import UNIFIED_CLASSES, EventGenerator, StreamSink, start_stream

STOP_FILE = "stop"
STATUS_FILE = "driver.json"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="durable_stream_batch", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, required=True, help="where all resumable state lives")
    parser.add_argument("--master", default="local[2]", help="Spark master URL")
    parser.add_argument("--jobs", type=int, default=6, help="LOW feature jobs queued on first start")
    parser.add_argument("--partitions", type=int, default=3, help="partitions per job")
    parser.add_argument("--records", type=int, default=40, help="records per partition")
    parser.add_argument("--ms", type=float, default=25.0, help="Python work per record (ms)")
    parser.add_argument("--trigger", type=float, default=1.0, help="stream trigger interval (s)")
    parser.add_argument("--in-flight", type=int, default=2, help="LOW jobs running at once")
    parser.add_argument("--trace", type=Path, default=None, help="log every record computed here (tests)")
    return parser.parse_args(argv)


def session(state: Path, master: str) -> SparkSession:
    conf = dict(load_settings().spark_conf)
    conf.update(fair_conf(write_pool_file(state, UNIFIED_CLASSES)))
    conf["spark.sql.shuffle.partitions"] = "2"
    builder = configure(SparkSession.builder, load_settings(), master=master, state_dir=state / "spark",
                        app_name="durable-stream-batch", spark_conf=conf)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def queue_jobs(runner: DurableRunner, args: argparse.Namespace) -> None:
    """Queue the batch jobs (idempotent: a restart re-queues nothing that is already there)."""
    spec: dict[str, object] = {"partitions": args.partitions, "records": args.records, "ms": args.ms}
    if args.trace is not None:
        spec["trace"] = str(args.trace)
    for i in range(args.jobs):
        runner.submit(f"features-{i:03d}", "features", spec)


def write_status(state: Path, **fields: object) -> None:
    """The driver's phase in `driver.json` (replaced atomically), and appended to `driver-history.jsonl`."""
    line = json.dumps({"at": time.time(), **fields})
    tmp = state / f".{STATUS_FILE}"
    tmp.write_text(line)
    tmp.replace(state / STATUS_FILE)
    with open(state / "driver-history.jsonl", "a") as f:
        f.write(line + "\n")


def main(argv: list[str]) -> int:
    args = parse(argv)
    state: Path = args.state_dir
    state.mkdir(parents=True, exist_ok=True)
    (state / "events").mkdir(exist_ok=True)
    term = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: term.set())
    spark = session(state, args.master)
    register_job_kinds()  # the `features` jobs this application queues
    queue = DurableQueue(state)
    controller = PriorityController(spark, "requeue", classes=(HIGH, LOW))
    runner = DurableRunner(controller, queue, state / "batch", in_flight=args.in_flight)
    requeued = runner.resume()
    queue_jobs(runner, args)
    sink = StreamSink(spark, state / "out", EventGenerator(state / "events"), HIGH)
    query = start_stream(spark, state, sink, args.trigger)
    controller.watch(StreamWatch(query, args.trigger, spark.sparkContext.defaultParallelism))
    controller.start()
    runner.start()
    write_status(state, phase="running", requeued=requeued, counts=queue.counts())
    try:
        while not term.is_set():
            if (state / STOP_FILE).exists() and runner.idle():
                query.processAllAvailable()
                break
            term.wait(0.2)
    finally:
        runner.stop()
        query.stop()
        controller.stop()
        write_status(state, phase="sigterm" if term.is_set() else "finished", counts=queue.counts())
        queue.close()
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
