"""Approximate aggregate over video-session logs (Conviva-style), reading any K of N blocks (KMN).

Generates N blocks of sessions (CDN, bitrate, buffering ratio), caches them,
then estimates the mean buffering ratio and bitrate per CDN from K blocks that
`spark_sched.any_k_of_n` chooses for the cluster as it is now, with a 95%
confidence interval, and prints the exact answer beside it.

KMN chooses blocks by where they sit, not at random, so the interval is not
the one of a simple random sample: the choice is a stratified random sample
over locality classes (blocks with the same replica hosts and stratum), and
the estimate weighs each block by its class's size over the blocks read from
it (`spark_sched.sampling.estimate`). `--min-per-class` (default 2) makes the
choice read that many blocks of every class, which the interval needs.

    spark-submit jobs/sampling_query.py --blocks 24 --k 6
    spark-sched submit sampling_query --k 6 --sampling stratified --extra 0.05

Settings that cannot work (K > N, K <= 0, an unknown --sampling, a stratum
count its stratum cannot meet, ...) end with one line on stderr and exit code
2 before any Spark job runs.
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
from spark_sched.sampling import Block, CachedBlocks
from spark_sched.sampling.design import Design
from spark_sched.sampling.estimate import Interval, ratio_interval
from spark_sched.sampling.rules import check_request

CDNS = ("akamai", "level3", "limelight", "fastly")
Stats = dict[str, tuple[int, float, float]]  # cdn -> (sessions, sum buffering, sum bitrate)


def sessions(block: int, rows: int) -> Iterator[tuple[int, str, int, float]]:
    """One block of generated sessions: (block, cdn, bitrate kbps, buffering ratio); block i is one hour of logs."""
    rng = random.Random(block)
    peak = 1.0 + 0.5 * math.sin(block / 3.0)  # buffering varies by hour, so blocks differ
    for _ in range(rows):
        cdn = rng.choices(CDNS, weights=(4, 3, 2, 1))[0]
        bitrate = rng.choice((400, 800, 1500, 3000, 6000))
        base = {"akamai": 0.01, "level3": 0.02, "limelight": 0.035, "fastly": 0.015}[cdn]
        yield block, cdn, bitrate, min(1.0, rng.expovariate(1.0 / (base * peak)))


def partial(rows: Iterable[tuple[int, str, int, float]]) -> list[tuple[int, Stats]]:
    """(block, per-CDN sums) of one block: the block's totals, what a cluster-sampling estimate weighs."""
    out: Stats = {}
    block = -1
    for row in rows:
        block, cdn, bitrate, buffering = row
        n, s, b = out.get(cdn, (0, 0.0, 0.0))
        out[cdn] = (n + 1, s + buffering, b + bitrate)
    return [(block, out)] if block >= 0 else []


def stratum(block: int) -> str:
    return "night" if block % 24 < 6 else "day"


def estimate(design: Design | None, parts: dict[int, Stats]) -> dict[str, tuple[Interval | str, float]]:
    """Per CDN: the mean buffering ratio's interval (or why there is none) and the mean bitrate.

    Each is a ratio of totals over all N blocks (sum of buffering / sessions), estimated from the
    blocks read with the weights of the choice's design.
    """
    out: dict[str, tuple[Interval | str, float]] = {}
    for cdn in CDNS:
        sessions_of = {b: p[cdn][0] if cdn in p else 0 for b, p in parts.items()}
        buffering = {b: p[cdn][1] if cdn in p else 0.0 for b, p in parts.items()}
        bitrate = {b: p[cdn][2] if cdn in p else 0.0 for b, p in parts.items()}
        try:
            out[cdn] = (ratio_interval(design, buffering, sessions_of),
                        ratio_interval(design, bitrate, sessions_of).estimate)
        except SparkSchedError as exc:
            out[cdn] = (str(exc).split("; allowed: ")[0].removeprefix("any_k_of_n: "), math.nan)
    return out


def exact(parts: Iterable[tuple[int, Stats]]) -> dict[str, float]:
    """Per CDN: the mean buffering ratio over every block."""
    total: dict[str, list[float]] = {}
    for _, part in parts:
        for cdn, (n, s, _) in part.items():
            t = total.setdefault(cdn, [0, 0.0])
            t[0] += n
            t[1] += s
    return {cdn: s / n for cdn, (n, s) in total.items()}


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
    parser.add_argument("--min-per-class", type=int, default=2, help="blocks read from every locality class at "
                        "least (2: an interval that holds; 0: KMN's choice unbound, no interval guarantee)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-exact", action="store_true", help="skip the exact answer (large data)")
    return parser.parse_args(argv)


def sampling_rule(name: str, k: int) -> object:
    if name == "stratified":  # half the sample from night hours, half from day hours
        return {"night": k // 2, "day": k - k // 2}
    return name


def check(args: argparse.Namespace) -> None:
    """Every setting that can be judged before Spark starts (K, the rule, extra, the floor), in one error."""
    blocks = [Block(i, stratum=stratum(i)) for i in range(max(0, args.blocks))]
    check_request(blocks, args.k, sampling_rule(args.sampling, args.k), args.extra or 0.0, args.min_per_class)


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:
        check(args)
    except SparkSchedError as exc:
        print(f"sampling_query: error: {exc}", file=sys.stderr)
        return 2
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
    logs = sc.parallelize(range(args.blocks), args.blocks).flatMap(lambda b: sessions(b, rows))
    logs.persist(StorageLevel.MEMORY_ONLY).count()
    source = CachedBlocks(logs, strata=stratum)
    started = time.perf_counter()
    run = any_k_of_n(source, args.k, partial, sampling=sampling_rule(args.sampling, args.k), spark=spark,
                     seed=args.seed, extra=args.extra or 0.0, extra_tasks=args.extra_tasks,
                     min_per_class=args.min_per_class)
    sample = list(run.result)  # per-block partials of the K blocks kept
    approx_s = time.perf_counter() - started
    print(f"sampling_query: K={args.k} of N={args.blocks} blocks, sampling={args.sampling}, tag {run.tag}")
    print(f"  blocks read      {list(run.chosen)}" + (f" (outputs used {list(run.used)})" if args.extra else ""))
    print(f"  local now        {run.local_expected} of {len(run.chosen)} tasks had a free slot on their data's host")
    print(f"  decision         {run.decision_ms:.1f} ms; approximate answer in {approx_s:.2f} s")
    if run.decision is not None and args.extra:
        print(f"  extra tasks      {'yes' if run.extra_tasks else 'no'}: {run.decision.reason}")
    print("  phases (ms)      " + ", ".join(f"{name[:-3]} {ms:.0f}" for name, ms in run.timings.items()))
    if run.design is not None:
        counts = run.design.counts()
        read = ", ".join(f"{counts[c]}/{n}" for c, n in sorted(run.design.sizes.items(), key=str))
        print(f"  design           {len(counts)} locality classes, blocks read/blocks: {read}")
    if run.extra_tasks:
        print("  note             outputs are kept by finish order and rack within each class: the interval "
              "assumes a task's time does not follow its block's values")
    truth = None
    if not args.no_exact:
        started = time.perf_counter()
        truth = exact(logs.mapPartitions(partial).collect())
        exact_s = time.perf_counter() - started
    print(f"  {'cdn':10s} {'buffering ratio (95% CI)':>28s} {'exact':>8s} {'in CI':>6s} {'bitrate':>8s}")
    for cdn, (interval, bitrate) in estimate(run.design, dict(sample)).items():
        known = f"{truth[cdn]:.4f}" if truth else "-"
        if isinstance(interval, str):
            print(f"  {cdn:10s} no interval: {interval}")
            continue
        inside = ("yes" if interval.covers(truth[cdn]) else "no") if truth else "-"
        print(f"  {cdn:10s} {interval.estimate:14.4f} +- {interval.half_width:.4f}{'':5s} {known:>8s} {inside:>6s} "
              f"{bitrate:8.0f}")
    if truth is not None:
        print(f"  exact answer over all {args.blocks} blocks in {exact_s:.2f} s")
    logs.unpersist()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
