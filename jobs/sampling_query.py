"""Approximate aggregate over video-session logs (Conviva-style), reading any K of N blocks (KMN).

Generates N blocks of sessions (CDN, bitrate, buffering ratio), caches them,
then estimates the mean buffering ratio and bitrate per CDN from K blocks that
`spark_sched.any_k_of_n` chooses for the cluster as it is now, with a 95%
confidence interval from the sample, and prints the exact answer beside it.

    spark-submit jobs/sampling_query.py --blocks 24 --k 6
    spark-sched submit sampling_query --k 6 --sampling stratified

Bad input (K > N, K <= 0, an unknown --sampling, ...) ends with one line on
stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Iterable, Iterator

from pyspark import StorageLevel
from pyspark.sql import SparkSession

from spark_sched import SparkSchedError, any_k_of_n, configure
from spark_sched.sampling import CachedBlocks

CDNS = ("akamai", "level3", "limelight", "fastly")
Stats = dict[str, tuple[int, float, float, float]]  # cdn -> (sessions, sum buffering, sum buffering^2, sum bitrate)


def sessions(block: int, rows: int) -> Iterator[tuple[str, int, float]]:
    """One block of generated sessions: (cdn, bitrate kbps, buffering ratio); block i is one hour of logs."""
    rng = random.Random(block)
    peak = 1.0 + 0.5 * math.sin(block / 3.0)  # buffering varies by hour, so blocks differ
    for _ in range(rows):
        cdn = rng.choices(CDNS, weights=(4, 3, 2, 1))[0]
        bitrate = rng.choice((400, 800, 1500, 3000, 6000))
        base = {"akamai": 0.01, "level3": 0.02, "limelight": 0.035, "fastly": 0.015}[cdn]
        yield cdn, bitrate, min(1.0, rng.expovariate(1.0 / (base * peak)))


def partial(rows: Iterable[tuple[str, int, float]]) -> list[Stats]:
    """Per-CDN sufficient statistics of one block."""
    out: Stats = {}
    for cdn, bitrate, buffering in rows:
        n, s, ss, b = out.get(cdn, (0, 0.0, 0.0, 0.0))
        out[cdn] = (n + 1, s + buffering, ss + buffering * buffering, b + bitrate)
    return [out]


def combine(parts: Iterable[Stats]) -> Stats:
    total: Stats = {}
    for part in parts:
        for cdn, (n, s, ss, b) in part.items():
            t = total.get(cdn, (0, 0.0, 0.0, 0.0))
            total[cdn] = (t[0] + n, t[1] + s, t[2] + ss, t[3] + b)
    return total


def estimate(blocks: list[Stats], population: int) -> dict[str, tuple[float, float, float]]:
    """Per CDN: mean buffering ratio, its 95% CI half-width, mean bitrate, from whole sampled blocks.

    Blocks (hours) differ, so sessions are not independent draws: the CI is the
    cluster-sampling ratio estimator's, from the spread of per-block means, with
    the finite-population correction for K of N blocks.
    """
    total = combine(blocks)
    k = len(blocks)
    out = {}
    for cdn, (n, s, _, b) in sorted(total.items()):
        mean = s / n
        mean_n = n / k
        spread = sum((blk[cdn][1] - mean * blk[cdn][0]) ** 2 for blk in blocks if cdn in blk) / (mean_n**2)
        var = spread / (k * max(1, k - 1)) * max(0.0, 1 - k / population) if k > 1 else 0.0
        out[cdn] = (mean, 1.96 * math.sqrt(var), b / n)
    return out


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="approximate per-CDN session quality from any K of N blocks")
    parser.add_argument("--blocks", type=int, default=24, help="N: blocks (hours of logs)")
    parser.add_argument("--k", type=int, default=6, help="K: blocks the estimate may read")
    parser.add_argument("--rows", type=int, default=5000, help="sessions per block")
    parser.add_argument("--sampling", default="uniform", help="uniform, stratified (K spread over day/night), or a "
                        "name any_k_of_n knows")
    parser.add_argument("--extra", type=float, default=None, help="M = ceil(K(1 + extra)) upstream tasks may run; "
                        "the first K partials are kept (default: K tasks only)")
    parser.add_argument("--extra-tasks", default="auto", choices=("auto", "always", "never"),
                        help="run the M tasks: auto (when they fit free local slots and can pay), always, never")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-exact", action="store_true", help="skip the exact answer (large data)")
    return parser.parse_args(argv)


def sampling_rule(name: str, k: int) -> object:
    if name == "stratified":  # half the sample from night hours, half from day hours
        return {"night": k // 2, "day": k - k // 2}
    return name


def main(argv: list[str]) -> int:
    args = parse(argv)
    spark = configure(SparkSession.builder, app_name="sampling-query").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        return run(spark, args)
    except SparkSchedError as exc:
        print(f"sampling_query: error: {exc}", file=sys.stderr)
        return 2
    finally:
        spark.stop()


def run(spark: SparkSession, args: argparse.Namespace) -> int:
    sc = spark.sparkContext
    rows = args.rows
    logs = sc.parallelize(range(max(0, args.blocks)), max(1, args.blocks)).flatMap(lambda b: sessions(b, rows))
    logs.persist(StorageLevel.MEMORY_ONLY).count()
    source = CachedBlocks(logs, strata=lambda i: "night" if i % 24 < 6 else "day")
    if args.blocks <= 0:
        source = CachedBlocks(sc.emptyRDD())
    started = time.perf_counter()
    run = any_k_of_n(source, args.k, partial, sampling=sampling_rule(args.sampling, args.k), spark=spark,
                     seed=args.seed, extra=args.extra or 0.0, extra_tasks=args.extra_tasks)
    sample = list(run.result)  # per-block partials of the K blocks kept
    approx_s = time.perf_counter() - started
    print(f"sampling_query: K={args.k} of N={args.blocks} blocks, sampling={args.sampling}, tag {run.tag}")
    print(f"  blocks read      {list(run.chosen)}" + (f" (outputs used {list(run.used)})" if args.extra else ""))
    print(f"  local now        {run.local_expected} of {len(run.chosen)} tasks had a free slot on their data's host")
    print(f"  decision         {run.decision_ms:.1f} ms; approximate answer in {approx_s:.2f} s")
    if run.decision is not None and args.extra:
        print(f"  extra tasks      {'yes' if run.extra_tasks else 'no'}: {run.decision.reason}")
    print("  phases (ms)      " + ", ".join(f"{name[:-3]} {ms:.0f}" for name, ms in run.timings.items()))
    exact = None
    if not args.no_exact:
        started = time.perf_counter()
        exact = estimate(logs.mapPartitions(partial).collect(), args.blocks)
        exact_s = time.perf_counter() - started
    print(f"  {'cdn':10s} {'buffering ratio (95% CI)':>28s} {'exact':>8s} {'in CI':>6s} {'bitrate':>8s}")
    for cdn, (mean, half, bitrate) in estimate(sample, args.blocks).items():
        truth = f"{exact[cdn][0]:.4f}" if exact else "-"
        inside = ("yes" if abs(exact[cdn][0] - mean) <= half else "no") if exact else "-"
        print(f"  {cdn:10s} {mean:14.4f} +- {half:.4f}{'':5s} {truth:>8s} {inside:>6s} {bitrate:8.0f}")
    if exact is not None:
        print(f"  exact answer over all {args.blocks} blocks in {exact_s:.2f} s")
    logs.unpersist()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
