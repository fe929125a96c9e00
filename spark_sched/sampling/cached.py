"""Block source: the cached partitions of an RDD or DataFrame, located by Spark's block manager."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from pyspark import RDD

from spark_sched.sampling.blocks import Block
from spark_sched.sampling.spark_rdd import cached_sizes, locations

Strata = Callable[[int], Hashable] | Mapping[int, Hashable] | Sequence[Hashable] | None


def stratum_of(strata: Strata, index: int) -> Hashable:
    """The stratum of block `index` from a function, a mapping or a list (None when no strata are given)."""
    if strata is None:
        return None
    if callable(strata):
        return strata(index)
    return strata[index]


class CachedBlocks:
    """Partition i of a (cached) RDD or DataFrame is block i; its hosts are where Spark holds a copy now.

    Persist and materialise the data first (`rdd.persist(); rdd.count()`): an
    uncached RDD has no block locations (unless its input has, as HDFS files do).
    For a DataFrame, `df.rdd` is used: its partitions read the cached batches.
    Sizes (bytes per block) feed the decision on extra upstream tasks; without
    `sizes`, they are what Spark's status store reports for the cached RDD.
    """

    def __init__(self, data: Any, strata: Strata = None, sizes: Sequence[int] | None = None) -> None:
        self.rdd: RDD = data if isinstance(data, RDD) else data.rdd
        self.strata = strata
        self.sizes = sizes

    def to_rdd(self, sc: Any = None) -> RDD:
        return self.rdd

    def blocks(self) -> list[Block]:
        """Each partition's hosts now; its size as given, else the bytes Spark's block manager reports for it."""
        hosts = locations(self.rdd)
        sizes = [int(s) for s in self.sizes] if self.sizes else cached_sizes(self.rdd)
        return [Block(i, h, sizes[i], stratum_of(self.strata, i)) for i, h in enumerate(hosts)]
