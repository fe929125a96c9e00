"""What-if for a recorded sample: the job had read the K blocks KMN picks, not the ones it was given.

A job that reads K of a cached RDD's N partitions (`sc.runJob(rdd, fn, partitions)`,
a pre-selected sample) is recorded with the K it read. Had it been submitted through
`spark_sched.sampling.any_k_of_n`, the toolkit's chooser would have picked the K
blocks local to the slots free at its arrival. `AnyKOfN` is that what-if: at the
arrival of each job carrying its tag it builds a `ClusterSnapshot` of the model's
free slots and racks, calls the same `choose_input` the real runner calls, and
rewrites the job's input stage to read the chosen blocks, each task keeping the
compute time of the recorded task it replaces.

Where the blocks were comes from the log's block updates
(`spark.eventLog.logBlockUpdates.enabled`): `cached_blocks` reads them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from spark_sched.sampling.blocks import Block
from spark_sched.sampling.matching import choose_input
from spark_sched.sampling.rules import Uniform
from spark_sched.sampling.snapshot import ClusterSnapshot
from spark_sched.sim.cluster import SimCluster
from spark_sched.sim.simulator import JobRun, Simulation
from spark_sched.sim.trace import TraceScan
from spark_sched.sim.workload import TaskSpec


def cached_blocks(path: str | Path) -> list[Block]:
    """The blocks of the RDD with the most cached partitions, as the log last placed them (one pass over it)."""
    from spark_sched.measure import eventlog

    scan = TraceScan()
    eventlog.read(Path(path), scan)
    by_rdd: dict[int, dict[int, dict[str, int]]] = {}
    for block, held in scan.blocks.items():
        _, rdd, part = block.split("_")[:3]
        if held:
            by_rdd.setdefault(int(rdd), {})[int(part)] = held
    if not by_rdd:
        return []
    parts = max(by_rdd.values(), key=len)
    return [Block(p, tuple(sorted(held)), max(held.values())) for p, held in sorted(parts.items())]


class AnyKOfN:
    """At the arrival of a job tagged `tag`: its first stage reads the K blocks the toolkit's chooser picks now."""

    def __init__(self, blocks: list[Block], tag: str, cluster: SimCluster, seed: int = 0) -> None:
        self.blocks, self.tag, self.seed = blocks, tag, seed
        self.racks = dict(cluster.rack_of)
        self.uplink_bits = cluster.rack_bps * 8

    def job_arrived(self, sim: Simulation, run: JobRun) -> None:
        if self.tag not in run.spec.tags or not self.blocks:
            return
        first, *rest = run.spec.stages
        snap = ClusterSnapshot(dict(sim.free), self.racks, self.uplink_bits)
        k = min(len(first.tasks), len(self.blocks))
        choice = choose_input(self.blocks, k, snap, Uniform(), seed=self.seed * 100_003 + run.job_id)
        by_id = {b.id: b for b in self.blocks}
        tasks = [TaskSpec(task.compute_s, float(by_id[b].size), by_id[b].hosts, cached=True)
                 for task, b in zip(first.tasks, choice.chosen, strict=False)]
        # a copy: the trace's job is replayed again under other settings and seeds
        run.spec = replace(run.spec, stages=[replace(first, tasks=tasks), *rest])

    def job_ended(self, sim: Simulation, run: JobRun) -> None:
        return None
