"""The chooser alone at cluster scale (no Spark): N blocks on H hosts with R replicas, some slots busy."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np

from spark_sched.sampling.blocks import Block
from spark_sched.sampling.matching import choose_input
from spark_sched.sampling.rules import SamplingRule, Uniform
from spark_sched.sampling.snapshot import ClusterSnapshot


def synthetic(n: int, hosts: int, replicas: int, slots: int = 2, busy: float = 0.5, racks: int = 0,
              strata: int = 1, seed: int = 0) -> tuple[list[Block], ClusterSnapshot]:
    """Blocks on random distinct hosts (HDFS-like), `slots` per host of which a `busy` share is taken, racks of 40."""
    rng = np.random.default_rng(seed)
    names = [f"host{i:05d}" for i in range(hosts)]
    placement = np.argsort(rng.random((n, hosts)), axis=1)[:, :replicas] if hosts <= 2000 else \
        np.stack([rng.choice(hosts, replicas, replace=False) for _ in range(n)])
    blocks = [Block(i, tuple(names[j] for j in row), stratum=f"s{i % strata}") for i, row in enumerate(placement)]
    taken = rng.binomial(slots, busy, size=hosts)
    rack_count = racks or max(1, hosts // 40)
    snap = ClusterSnapshot({h: int(slots - t) for h, t in zip(names, taken, strict=True)},
                           {h: f"r{i * rack_count // hosts + 1}" for i, h in enumerate(names)})
    return blocks, snap


@dataclass(frozen=True)
class ScaleResult:
    n: int
    hosts: int
    replicas: int
    k: int
    decisions: int
    median_ms: float
    max_ms: float
    cpu_median_ms: float
    local: int

    def to_json(self) -> dict[str, float]:
        return {key: float(value) for key, value in self.__dict__.items()}


def scale_check(n: int = 10_000, hosts: int = 1_000, replicas: int = 3, k: int = 1_000, decisions: int = 7,
                rule: SamplingRule | None = None, seed: int = 0) -> ScaleResult:
    """Time `decisions` choices of K of N (a fresh snapshot each, as a scheduler would see): wall and CPU ms."""
    walls, cpus, local = [], [], 0
    for d in range(decisions):
        blocks, snap = synthetic(n, hosts, replicas, seed=seed + d)
        wall, cpu = time.perf_counter(), time.process_time()
        choice = choose_input(blocks, k, snap, rule or Uniform(), seed=d)
        cpus.append((time.process_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
        local = choice.local
    return ScaleResult(n, hosts, replicas, k, decisions, statistics.median(walls), max(walls),
                       statistics.median(cpus), local)
