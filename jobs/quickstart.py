"""The quick-start job: a small multi-stage workload on local Spark, then what Spark recorded of it.

Runs unchanged under spark-submit (`spark-submit jobs/quickstart.py`) or through
`spark-sched demo` / `spark-sched submit quickstart`.
"""

from __future__ import annotations

import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spark_sched import configure


def main(argv: list[str]) -> int:
    rows = int(argv[1]) if len(argv) > 1 else 200_000
    spark = configure(SparkSession.builder).getOrCreate()
    sc = spark.sparkContext
    sc.setLogLevel("WARN")
    try:
        started = time.perf_counter()
        orders = spark.range(rows).select(
            (F.col("id") % 97).alias("customer"), (F.col("id") % 13).alias("region"), (F.rand(7) * 100).alias("amount")
        )
        top = orders.groupBy("region").agg(F.sum("amount").alias("revenue"), F.count("*").alias("orders"))
        result = top.orderBy(F.desc("revenue")).collect()
        words = sc.parallelize([f"w{i % 50}" for i in range(rows // 10)], 4).map(lambda w: (w, 1))
        counted = words.reduceByKey(lambda a, b: a + b).count()
        elapsed = time.perf_counter() - started
        _report(spark, len(result), counted, elapsed)
    finally:
        spark.stop()
    return 0


def _report(spark: SparkSession, regions: int, words: int, elapsed: float) -> None:
    tracker = spark.sparkContext.statusTracker()
    jobs = tracker.getJobIdsForGroup(None)
    stages = [s for j in jobs if (info := tracker.getJobInfo(j)) for s in info.stageIds]
    infos = [i for s in stages if (i := tracker.getStageInfo(s))]
    tasks = sum(i.numCompletedTasks for i in infos)
    print("spark-sched quickstart")
    print(f"  master          {spark.sparkContext.master}")
    print(f"  regions ranked  {regions}   distinct words {words}")
    print(f"  jobs            {len(jobs)}")
    print(f"  stages run      {sum(1 for i in infos if i.numCompletedTasks)} (of {len(infos)})")
    print(f"  tasks completed {tasks}")
    print(f"  wall time       {elapsed:.2f} s")
    print(f"  event log       {spark.conf.get('spark.eventLog.dir')}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
