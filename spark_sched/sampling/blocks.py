"""Blocks: the N pieces of input a sampling job may choose K of, each with the hosts holding a copy.

A source is anything with `blocks()`; the chooser needs nothing else, so it can
be tested (and timed at 10,000 blocks) without Spark. Spark-backed sources
(`CachedBlocks`, `HostFiles`) add `rdd(ids)`: an RDD of only the chosen blocks.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Block:
    """One input block: its id (partition index or file number), replica hosts, size and stratum."""

    id: int
    hosts: tuple[str, ...] = ()
    size: int = 0
    stratum: Hashable = None


@runtime_checkable
class BlockSource(Protocol):
    """N blocks with locations."""

    def blocks(self) -> list[Block]: ...


@dataclass(frozen=True)
class StaticBlocks:
    """Blocks given as data: for planning without Spark (tests, the chooser's scale check)."""

    items: Sequence[Block]

    def blocks(self) -> list[Block]:
        return list(self.items)


def host_of_location(location: str) -> str:
    """A Spark TaskLocation string -> host: `executor_<host>_<id>` (cached), `hdfs_cache_<host>`, or a bare host."""
    if location.startswith("executor_"):
        return location[len("executor_"):].rsplit("_", 1)[0]
    if location.startswith("hdfs_cache_"):
        return location[len("hdfs_cache_"):]
    return location
