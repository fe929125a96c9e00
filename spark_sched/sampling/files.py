"""Block source: files that live on hosts, each block on `replication` hosts' own disks (the HDFS situation).

Layout: `<root>/<host>/block-<id>` for every host holding block `<id>`. The RDD
has one partition per block, with the replica hosts as Spark's preferred
locations, so Spark's delay scheduling sees them as it sees HDFS blocks. A task
reads the copy on its own host when there is one (the executor's bind address,
`SPARK_LOCAL_IP`), else the first replica's. On one machine every host's
directory is on the same disk; the shaped testbed's links carry only what Spark
itself sends (cached blocks, shuffles), so the `kmn` bench uses cached blocks.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from pyspark import RDD, SparkContext

from spark_sched.sampling.blocks import Block
from spark_sched.sampling.cached import Strata, stratum_of
from spark_sched.sampling.errors import SamplingError
from spark_sched.sampling.spark_rdd import placed_strings

_BLOCK = re.compile(r"^block-(\d+)$")


def read_block(item: str) -> tuple[int, bytes]:
    """(block id, bytes) of a partition's item: the local copy if this host has one, else the first replica."""
    spec = json.loads(item)
    here = os.environ.get("SPARK_LOCAL_IP", "")
    paths: dict[str, str] = spec["paths"]
    path = paths.get(here) or next(iter(paths.values()))
    return int(spec["id"]), Path(path).read_bytes()


class HostFiles:
    """The blocks under `root` (one directory per host); `to_rdd(sc)` reads them with locality preferences."""

    def __init__(self, root: str | Path, strata: Strata = None) -> None:
        self.root = Path(root)
        self.strata = strata
        self._rdd: RDD | None = None

    def _paths(self) -> dict[int, dict[str, str]]:
        if not self.root.is_dir():
            raise SamplingError("source", str(self.root), "a directory with one sub-directory per host")
        found: dict[int, dict[str, str]] = {}
        for host_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for file in host_dir.iterdir():
                match = _BLOCK.match(file.name)
                if match:
                    found.setdefault(int(match.group(1)), {})[host_dir.name] = str(file)
        return dict(sorted(found.items()))

    def blocks(self) -> list[Block]:
        paths = self._paths()
        if list(paths) != list(range(len(paths))):
            raise SamplingError("source", str(self.root), "blocks numbered 0..N-1 (block-<id> files)")
        return [
            Block(i, tuple(hosts), Path(next(iter(hosts.values()))).stat().st_size, stratum_of(self.strata, i))
            for i, hosts in paths.items()
        ]

    def to_rdd(self, sc: SparkContext) -> RDD:
        """Partition i reads block i as one (id, bytes) record; Spark prefers the hosts holding it."""
        if self._rdd is None:
            items = [(json.dumps({"id": i, "paths": hosts}), list(hosts)) for i, hosts in self._paths().items()]
            self._rdd = placed_strings(sc, items).map(read_block)
        return self._rdd


def write_host_files(
    root: str | Path, hosts: Sequence[str], n: int, replication: int, make: Callable[[int], bytes], seed: int = 0
) -> HostFiles:
    """Write N blocks, each onto `replication` distinct hosts chosen at random (seeded), like HDFS placement."""
    if replication < 1 or replication > len(hosts):
        raise SamplingError("replication", replication, f"1 to the {len(hosts)} hosts")
    rng = np.random.default_rng(seed)
    root = Path(root)
    for i in range(n):
        data = make(i)
        for host in rng.choice(list(hosts), size=replication, replace=False):
            target = root / str(host) / f"block-{i}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return HostFiles(root)


def iter_blocks(records: Iterable[tuple[int, bytes]]) -> Iterator[bytes]:
    """The bytes of each (id, bytes) record: for partition functions that only need the data."""
    for _, data in records:
        yield data
