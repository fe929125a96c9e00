"""Which task set gets the next offer: Spark's FIFO and FAIR comparators over pools, as sort keys.

Spark's FairSchedulingAlgorithm puts a schedulable below its minShare first
(lowest runningTasks/minShare among those), then the lowest runningTasks/weight,
ties broken by name; the key (not needy, ratio, name) orders exactly as that
comparator does. FIFO orders by job (Spark's task-set priority) and then stage.
With `spark.scheduler.mode=FIFO` every task set sits in the root; with FAIR each
job's task sets sit in its pool (an unknown pool is created with Spark's
defaults: FIFO, weight 1, minShare 0), and each pool orders its own by its mode.

Only task sets with tasks left to launch are kept in order (`waiting`): one with
every task running takes no offer, and a cluster of 1,000 hosts runs thousands
of those at once. Pools count their running tasks as tasks start and end, so a
round sorts only the pools and task sets that can take a slot.
"""

from __future__ import annotations

import bisect

from spark_sched.sim.settings import PoolSpec, SimSettings
from spark_sched.sim.taskset import TaskSet


def fifo_key(ts: TaskSet) -> tuple[int, int]:
    return ts.job.job_id, ts.stage_id  # type: ignore[attr-defined]


def fair_key(running: int, min_share: int, weight: int, name: str) -> tuple[bool, float, str]:
    """Spark's fair comparator as a sort key."""
    needy = running < min_share
    ratio = running / max(min_share, 1.0) if needy else running / weight
    return not needy, ratio, name


class PoolState:
    """One pool's settings, its task sets with tasks to launch, and its running tasks."""

    __slots__ = ("spec", "waiting", "running")

    def __init__(self, spec: PoolSpec) -> None:
        self.spec = spec
        self.waiting: list[TaskSet] = []  # FIFO pools keep it sorted by fifo_key
        self.running = 0

    def add(self, ts: TaskSet) -> None:
        if self.spec.mode == "FAIR":
            self.waiting.append(ts)
        else:
            bisect.insort(self.waiting, ts, key=fifo_key)

    def sorted(self) -> list[TaskSet]:
        if self.spec.mode == "FAIR":
            return sorted(self.waiting, key=lambda ts: fair_key(ts.running, 0, 1, ts.name))
        return list(self.waiting)


class SchedulingOrder:
    """The root of Spark's pool tree: task sets in and out, sorted for a round of offers."""

    def __init__(self, settings: SimSettings) -> None:
        self.fair = settings.mode == "FAIR"
        self.pools: dict[str, PoolState] = {"default": PoolState(PoolSpec("default"))}
        for spec in settings.pools:
            self.pools[spec.name] = PoolState(spec)
        self.waiting = 0

    def pool_of(self, ts: TaskSet) -> PoolState:
        name = ts.job.spec.pool if self.fair else "default"  # type: ignore[attr-defined]
        found = self.pools.get(name)
        if found is None:
            found = self.pools[name] = PoolState(PoolSpec(name))
        return found

    def wait(self, ts: TaskSet) -> None:
        """`ts` has tasks to launch: it takes offers from now on."""
        ts.pool.add(ts)
        self.waiting += 1

    def park(self, ts: TaskSet) -> None:
        """`ts` has nothing left to launch (or was cancelled): it takes no offer until a task comes back."""
        ts.pool.waiting.remove(ts)
        self.waiting -= 1

    def sorted(self) -> list[TaskSet]:
        """The task sets that can take a slot, in the order Spark offers them slots (getSortedTaskSetQueue)."""
        if not self.fair:
            return list(self.pools["default"].waiting)
        busy = [p for p in self.pools.values() if p.waiting]
        if len(busy) > 1:
            busy.sort(key=lambda p: fair_key(p.running, p.spec.min_share, p.spec.weight, p.spec.name))
        return [ts for pool in busy for ts in pool.sorted()]
