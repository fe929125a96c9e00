"""The cluster now: hosts, their racks and free task slots, from Spark's executors and the topology.

Spark outside YARN knows no racks, so racks come from the toolkit's topology
(`conf/topology.toml`, or the racks a `LocalCluster`/`ShapedCluster` recorded
for its workers). Free slots are each executor's cores minus its active tasks,
read from Spark's status store at the moment of the decision.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spark_sched.topology import Topology, load_topology

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_UPLINK_BITS = 200e6


@dataclass(frozen=True)
class ClusterSnapshot:
    """Free slots per host and the rack of every host; the rack uplink rate (bits/s) for transfer estimates."""

    free: Mapping[str, int]
    racks: Mapping[str, str] = field(default_factory=dict)
    uplink_bits: float = DEFAULT_UPLINK_BITS

    def rack(self, host: str) -> str:
        return self.racks.get(host, "r?")

    def rack_names(self) -> list[str]:
        return sorted(set(self.racks.values()) or {"r?"})


def _host_key(host: str) -> tuple[int, Any]:
    try:
        return (0, ipaddress.ip_address(host))
    except ValueError:
        return (1, host)


def racks_for(
    hosts: list[str], topology: Topology | None = None, known: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Rack of each host: a known placement (a cluster's record) first, else the topology's blocks in address order."""
    topology = topology or load_topology()
    ordered = sorted(set(hosts), key=_host_key)
    known = known or {}
    return {h: known.get(h) or topology.rack_of(h, i, len(ordered)) for i, h in enumerate(ordered)}


def snapshot(
    spark: SparkSession, topology: Topology | None = None, racks: Mapping[str, str] | None = None
) -> ClusterSnapshot:
    """Free slots per executor host now (cores minus active tasks, Spark's status store), with racks.

    The status store is what the REST API `/executors` serves, read in the driver's JVM: no
    HTTP round trip (which a loaded machine can stall for seconds) and no UI needed.
    """
    from spark_sched.testbed import rate_bits

    topology = topology or load_topology()
    free: dict[str, int] = {}
    local = spark.sparkContext.master.startswith("local")  # local mode: the driver is the executor
    executors = spark.sparkContext._jsc.sc().statusStore().executorList(True)  # type: ignore[union-attr]
    for i in range(executors.size()):
        executor = executors.apply(i)
        if executor.id() == "driver" and not local:
            continue
        host = str(executor.hostPort()).rsplit(":", 1)[0]
        slots = int(executor.totalCores()) - int(executor.activeTasks())
        free[host] = free.get(host, 0) + max(0, slots)
    return ClusterSnapshot(free, racks_for(list(free), topology, racks), float(rate_bits(topology.rack_uplink_rate)))
