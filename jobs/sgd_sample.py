"""Mini-batch SGD where each iteration may use any K of N partitions (KMN) vs a uniform pre-selected K.

Generates a linear-regression data set in N cached partitions. Each iteration
computes the gradient over K partitions and takes one step; the batch is
chosen either by `spark_sched.any_k_of_n` (the K whose data sits on free slots
now) or uniformly at random beforehand (what SGD code does today). Prints the
held-out loss per iteration and the time per iteration for both.

    spark-submit jobs/sgd_sample.py --partitions 16 --k 4 --iterations 10
    spark-sched submit sgd_sample --k 4
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable

import numpy as np
from pyspark import StorageLevel
from pyspark.sql import SparkSession

from spark_sched import SparkSchedError, any_k_of_n, configure

DIM = 8


def true_weights() -> np.ndarray:
    return np.linspace(-2.0, 2.0, DIM)


def partition_data(index: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(index)
    x = rng.normal(size=(rows, DIM))
    return x, x @ true_weights() + rng.normal(scale=0.5, size=rows)


def gradient(w: np.ndarray) -> object:
    def grad(parts: Iterable[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, int]]:
        g, n = np.zeros(DIM), 0
        for x, y in parts:
            g += x.T @ (x @ w - y)
            n += len(y)
        return [(g, n)]

    return grad


def step(w: np.ndarray, grads: list[tuple[np.ndarray, int]], rate: float) -> np.ndarray:
    g = sum(part for part, _ in grads)
    n = sum(count for _, count in grads)
    return w - rate * g / max(1, n)


def loss(w: np.ndarray, held_out: tuple[np.ndarray, np.ndarray]) -> float:
    x, y = held_out
    return float(np.mean((x @ w - y) ** 2))


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="mini-batch SGD over any K of N partitions vs uniform K")
    parser.add_argument("--partitions", type=int, default=16, help="N")
    parser.add_argument("--k", type=int, default=4, help="K partitions per iteration")
    parser.add_argument("--rows", type=int, default=20000, help="rows per partition")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--sampling", default="uniform")
    parser.add_argument("--extra", type=float, default=0.05, help="M = ceil(K(1 + extra)) gradient tasks may run; "
                        "the first K gradient sums are kept")
    parser.add_argument("--extra-tasks", default="auto", choices=("auto", "always", "never"),
                        help="run the M tasks: auto (when they fit free local slots and can pay), always, never")
    return parser.parse_args(argv)


def train(spark: SparkSession, data: object, args: argparse.Namespace, kmn: bool) -> list[tuple[float, float]]:
    """(held-out loss, seconds) per iteration.

    Gradient sums are partial results: with extra tasks, one job of M tasks
    runs and the first K sums to reach the driver make the step.
    """
    sc = spark.sparkContext
    held_out = partition_data(10_000, 5000)
    w = np.zeros(DIM)
    rng = np.random.default_rng(7)
    out = []
    for it in range(args.iterations):
        started = time.perf_counter()
        if kmn:
            grads = any_k_of_n(data, args.k, gradient(w), sampling=args.sampling, spark=spark, seed=it,
                               extra=args.extra, extra_tasks=args.extra_tasks).result
        else:
            chosen = sorted(int(p) for p in rng.choice(args.partitions, args.k, replace=False))
            grads = sc.runJob(data, gradient(w), partitions=chosen)
        w = step(w, grads, args.rate)
        out.append((loss(w, held_out), time.perf_counter() - started))
    return out


def main(argv: list[str]) -> int:
    args = parse(argv)
    spark = configure(SparkSession.builder, app_name="sgd-sample").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        rows = args.rows
        parts = max(1, args.partitions)
        data = spark.sparkContext.parallelize(range(parts), parts).map(lambda i: partition_data(i, rows))
        data.persist(StorageLevel.MEMORY_ONLY).count()
        if args.partitions <= 0:
            data = spark.sparkContext.emptyRDD()
        kmn = train(spark, data, args, kmn=True)
        uniform = train(spark, data, args, kmn=False)
    except SparkSchedError as exc:
        print(f"sgd_sample: error: {exc}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    print(f"sgd_sample: K={args.k} of N={args.partitions} partitions per iteration, {args.iterations} iterations")
    print(f"  {'iter':>4s} {'loss (KMN)':>11s} {'loss (uniform)':>15s} {'s (KMN)':>8s} {'s (uniform)':>12s}")
    for i, ((lk, tk), (lu, tu)) in enumerate(zip(kmn, uniform, strict=True)):
        print(f"  {i:4d} {lk:11.4f} {lu:15.4f} {tk:8.2f} {tu:12.2f}")
    print(f"  final loss: KMN {kmn[-1][0]:.4f}, uniform {uniform[-1][0]:.4f} (noise floor 0.25)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
