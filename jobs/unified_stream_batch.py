"""The unified stream/batch application under the priority controller (spark-submit ready).

A YSB-like stream (HIGH pool) beside TPC-H-like and Python batch jobs (LOW
pool); each variant runs for --seconds and the job prints stream p50/p99
latency, batch throughput and wasted work side by side, and writes plots.

    spark-submit jobs/unified_stream_batch.py --variants fair,requeue --seconds 45 --out /tmp/unified
    spark-sched demo                 # the same, on the embedded local default
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from pyspark.sql import SparkSession

from spark_sched import configure
from spark_sched.priority.classes import fair_conf, write_pool_file
from spark_sched.workloads.unified import UNIFIED_CLASSES, VARIANTS, UnifiedParams, UnifiedResult, run_unified
from spark_sched.workloads.unified.plots import plot_latency


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="unified_stream_batch", description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="fair,requeue", help=f"comma-separated, of: {', '.join(VARIANTS)}")
    parser.add_argument("--seconds", type=float, default=45.0, help="run time per variant")
    parser.add_argument("--trigger", type=float, default=1.0, help="stream trigger interval (s)")
    parser.add_argument("--out", type=Path, default=None, help="where plots and JSON go (default: a temp dir)")
    args = parser.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        parser.error(f"--variants: {', '.join(unknown)} not valid; allowed: {', '.join(VARIANTS)}")
    return args


def session(work: Path) -> SparkSession:
    builder = configure(SparkSession.builder)
    for key, value in fair_conf(write_pool_file(work, UNIFIED_CLASSES)).items():
        builder = builder.config(key, value)
    spark = builder.config("spark.sql.shuffle.partitions", "2").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def table(results: list[UnifiedResult]) -> str:
    head = (f"{'variant':<10}{'p50 ms':>9}{'p99 ms':>9}{'batches':>9}{'jobs/min':>10}{'wasted %':>10}{'preempt':>9}"
            f"{'susp. s':>9}")
    lines = [head]
    for r in results:
        m = r.metrics()
        wasted = 100.0 * m["wasted_task_ms"] / m["batch_task_ms"] if m["batch_task_ms"] else 0.0
        lines.append(
            f"{r.variant:<10}{m['stream_p50_ms']:>9.0f}{m['stream_p99_ms']:>9.0f}{int(m['stream_batches']):>9}"
            f"{m['batch_jobs_per_min']:>10.1f}{wasted:>10.1f}{r.preemptions:>9}{m['suspended_ms'] / 1000:>9.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = parse(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="spark-sched-unified-"))
    out.mkdir(parents=True, exist_ok=True)
    spark = session(out)
    params = UnifiedParams(seconds=args.seconds, trigger_s=args.trigger,
                           stream_slots=spark.sparkContext.defaultParallelism)
    results: list[UnifiedResult] = []
    try:
        for variant in args.variants:
            print(f"running {variant} for {args.seconds:.0f} s ...", flush=True)
            results.append(run_unified(spark, variant, out / "runs" / variant, params))
    finally:
        spark.stop()
    print("\nspark-sched unified stream/batch (stream latency: event file written -> micro-batch committed)")
    print(table(results))
    for r in results:
        if not r.stream_complete:
            print(f"  {r.variant}: stream output incomplete: {'; '.join(r.stream_problems[:3])}")
    plots = plot_latency({r.variant: r.latencies_ms for r in results}, out)
    (out / "unified.json").write_text(json.dumps({r.variant: r.metrics() for r in results}, indent=2))
    print(f"plots: {', '.join(str(p) for p in plots)}")
    print(f"figures: {out / 'unified.json'}")
    return 0 if all(r.stream_complete for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
