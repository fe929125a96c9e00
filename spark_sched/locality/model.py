"""The delay-scheduling model (Zaharia et al., EuroSys 2010): locality after D skipped offers.

With M nodes (or executors), replication R and K tasks of a job left, a free slot
holds data for none of them with probability q_K = (1 - K/M)^R. Spark offers each
free slot to the task set and takes a local task for it when one exists, even with
no wait (TaskSetManager.dequeueTask tries PROCESS_LOCAL first), so the first offer
is free: after D *skipped* offers a launch is still non-local with probability
q_K^(D+1), and a job of N tasks is local in expectation

    1 - (1/N) * sum_{K=1..N} q_K^(D+1).

Slots free at about S/T per second (S slots, T the mean task length), so D skips
cost a wait of W = D*T/S. (Zaharia's paper writes the exponent R*D, counting the
first offer as a skip; the two differ by one offer.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from spark_sched.locality.waits import LocalityError

MAX_SKIPS = 100_000


MAX_COUNT = 1_000_000  # nodes, slots, tasks: far beyond any cluster, and a typo cannot ask for gigabytes


def positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= MAX_COUNT:
        raise LocalityError(f"{name} = {value!r} is not valid; allowed: a whole number from 1 to {MAX_COUNT:,}")
    return int(value)


def positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise LocalityError(f"{name} = {value!r} is not valid; allowed: a number > 0")
    return float(value)


def miss_odds(nodes: int, replication: int, tasks: int) -> np.ndarray:
    """q_K for K = 1..N: a free slot holds no data of the K tasks left (0 once K >= M)."""
    m = positive_int("nodes", nodes)
    r = min(positive_int("replication", replication), m)  # a block has at most M distinct hosts
    n = positive_int("tasks", tasks)
    k = np.arange(1, n + 1, dtype=float)
    return np.clip(1.0 - k / m, 0.0, 1.0) ** r


def expected_locality(nodes: int, replication: int, tasks: int, skips: float) -> float:
    """The model's expected share of a job's tasks that run local after `skips` skipped offers.

    On a single node every slot is local (1.0).
    """
    if isinstance(skips, bool) or not isinstance(skips, (int, float)) or not skips >= 0:
        raise LocalityError(f"skips = {skips!r} is not valid; allowed: a number >= 0")
    q = miss_odds(nodes, replication, tasks)
    return float(1.0 - np.mean(q ** (skips + 1)))


def skips_for(target: float, nodes: int, replication: int, tasks: int) -> int:
    """The fewest skips D whose expected locality reaches `target` (0 < target < 1)."""
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target < 1:
        raise LocalityError(f"target = {target!r} is not valid; allowed: a fraction between 0 and 1, exclusive")
    if expected_locality(nodes, replication, tasks, 0) >= target:
        return 0
    lo, hi = 0, 1
    while expected_locality(nodes, replication, tasks, hi) < target:
        lo, hi = hi, hi * 2
        if hi > MAX_SKIPS:
            raise LocalityError(f"target = {target!r} is not reachable within {MAX_SKIPS} skips")
    while hi - lo > 1:  # lo misses the target, hi reaches it
        mid = (lo + hi) // 2
        if expected_locality(nodes, replication, tasks, mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi


def wait_for_skips(skips: float, task_seconds: float, slots: int) -> float:
    """W = D*T/S: the time D offers take when S slots free up every T seconds."""
    return skips * positive("task_seconds", task_seconds) / positive_int("slots", slots)


def skips_for_wait(wait_seconds: float, task_seconds: float, slots: int) -> float:
    """D = W*S/T: the offers that pass during a wait (the inverse of `wait_for_skips`)."""
    return max(0.0, float(wait_seconds)) * positive_int("slots", slots) / positive("task_seconds", task_seconds)


def predicted_locality(wait_seconds: float, nodes: int, slots_per_node: int, replication: int, tasks: int,
                       task_seconds: float, **_: Any) -> float:
    """The model's expected locality for a given wait (extra keys, such as a miss cost, are ignored)."""
    skips = skips_for_wait(wait_seconds, task_seconds, positive_int("nodes", nodes) * slots_per_node)
    return expected_locality(nodes, replication, tasks, skips)
