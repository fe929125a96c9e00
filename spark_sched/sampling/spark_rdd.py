"""The few JVM calls KMN needs that PySpark does not expose: block locations and sizes, pruning, placed RDDs.

- Locations: `SparkContext.getPreferredLocs` (what the task scheduler will use).
  Trap: the DAGScheduler memoises cache locations and clears the memo only on
  events such as a job submission, so right after an RDD was cached it still
  answers "nowhere". `locations` clears the memo first (`clearCacheLocs`, a
  synchronised map clear that only makes the next read current).
- Sizes: the bytes each cached partition holds (one copy), from Spark's status
  store (what the UI's Storage tab shows): the decision's estimate of output
  sizes when the source gives none.
- Pruning: Spark's `PartitionPruningRDD`, given a Scala `Set[Int]` as its
  filter function (a Scala set is an `Int => Boolean`), so only the chosen
  partitions exist downstream, shuffles included.
- Placed RDDs: `SparkContext.makeRDD(Seq[(T, Seq[host])])`, one partition per
  element with its preferred hosts, for blocks that live in files on hosts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark import RDD, SparkContext
from pyspark.serializers import UTF8Deserializer

from spark_sched.sampling.blocks import host_of_location


def _seq(sc: SparkContext, items: Sequence[Any]) -> Any:
    java = sc._jvm.java.util.ArrayList()  # type: ignore[union-attr]
    for item in items:
        java.add(item)
    return sc._jvm.scala.jdk.javaapi.CollectionConverters.asScala(java).toSeq()  # type: ignore[union-attr]


def locations(rdd: RDD, partitions: int | None = None) -> list[tuple[str, ...]]:
    """Hosts holding each partition now (cached copies, file blocks), in Spark's own preference order."""
    sc = rdd.context
    jsc = sc._jsc.sc()  # type: ignore[union-attr]
    jsc.dagScheduler().clearCacheLocs()
    jrdd = rdd._jrdd.rdd()
    out = []
    for i in range(rdd.getNumPartitions() if partitions is None else partitions):
        seq = jsc.getPreferredLocs(jrdd, i)
        hosts = (host_of_location(str(seq.apply(j))) for j in range(seq.size()))
        out.append(tuple(dict.fromkeys(hosts)))
    return out


def cached_sizes(rdd: RDD) -> list[int]:
    """Bytes of one copy of each cached partition (0 where Spark holds none, or the RDD is not cached itself)."""
    sizes = [0] * rdd.getNumPartitions()
    store = rdd.context._jsc.sc().statusStore()  # type: ignore[union-attr]
    try:
        parts = store.rdd(rdd.id()).partitions()
    except Exception:  # noqa: BLE001 - py4j's error for "not cached": no sizes known
        return sizes
    if parts.isEmpty():
        return sizes
    seq = parts.get()
    for j in range(seq.size()):
        part = seq.apply(j)
        index = int(str(part.blockName()).rsplit("_", 1)[-1])
        copies = max(1, int(part.executors().size()))
        if 0 <= index < len(sizes):
            sizes[index] = (int(part.memoryUsed()) + int(part.diskUsed())) // copies
    return sizes


def prune(rdd: RDD, partitions: Sequence[int]) -> RDD:
    """An RDD of only `partitions` of `rdd` (in ascending order), keeping their data and locations."""
    sc = rdd.context
    jvm = sc._jvm
    wanted = jvm.java.util.HashSet()  # type: ignore[union-attr]
    for p in partitions:
        wanted.add(int(p))
    keep = jvm.scala.jdk.javaapi.CollectionConverters.asScala(wanted).toSet()  # type: ignore[union-attr]
    pruned = jvm.org.apache.spark.rdd.PartitionPruningRDD.create(rdd._jrdd.rdd(), keep)  # type: ignore[union-attr]
    return RDD(pruned.toJavaRDD(), sc, rdd._jrdd_deserializer)


def placed_strings(sc: SparkContext, items: Sequence[tuple[str, Sequence[str]]]) -> RDD:
    """One partition per (string, preferred hosts) item: Spark's makeRDD with location preferences."""
    jvm = sc._jvm
    pairs = [jvm.scala.Tuple2(value, _seq(sc, list(hosts))) for value, hosts in items]  # type: ignore[union-attr]
    string_class = jvm.java.lang.Class.forName("java.lang.String")  # type: ignore[union-attr]
    tag = jvm.scala.reflect.ClassTag.apply(string_class)  # type: ignore[union-attr]
    jrdd = sc._jsc.sc().makeRDD(_seq(sc, pairs), tag)  # type: ignore[union-attr]
    return RDD(jrdd.toJavaRDD(), sc, UTF8Deserializer())
