"""Which task set gets the next offer: Spark's FIFO and FAIR comparators over pools, as sort keys.

Spark's FairSchedulingAlgorithm puts a schedulable below its minShare first
(lowest runningTasks/minShare among those), then the lowest runningTasks/weight,
ties broken by name; the key (not needy, ratio, name) orders exactly as that
comparator does. FIFO orders by job (Spark's task-set priority) and then stage.
With `spark.scheduler.mode=FIFO` every task set sits in the root; with FAIR each
job's task sets sit in its pool (an unknown pool is created with Spark's
defaults: FIFO, weight 1, minShare 0), and each pool orders its own by its mode.
"""

from __future__ import annotations

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
    """One pool's settings and its active task sets."""

    __slots__ = ("spec", "tasksets")

    def __init__(self, spec: PoolSpec) -> None:
        self.spec = spec
        self.tasksets: list[TaskSet] = []

    @property
    def running(self) -> int:
        return sum(ts.running for ts in self.tasksets)

    def sorted(self) -> list[TaskSet]:
        if self.spec.mode == "FAIR":
            return sorted(self.tasksets, key=lambda ts: fair_key(ts.running, 0, 1, ts.name))
        return sorted(self.tasksets, key=fifo_key)


class SchedulingOrder:
    """The root of Spark's pool tree: where task sets are added, removed and sorted for a round of offers."""

    def __init__(self, settings: SimSettings) -> None:
        self.fair = settings.mode == "FAIR"
        self.pools: dict[str, PoolState] = {"default": PoolState(PoolSpec("default"))}
        for spec in settings.pools:
            self.pools[spec.name] = PoolState(spec)
        self.root: list[TaskSet] = []

    def _pool_of(self, ts: TaskSet) -> PoolState:
        name = ts.job.spec.pool if self.fair else "default"  # type: ignore[attr-defined]
        found = self.pools.get(name)
        if found is None:
            found = self.pools[name] = PoolState(PoolSpec(name))
        return found

    def add(self, ts: TaskSet) -> None:
        self._pool_of(ts).tasksets.append(ts)

    def remove(self, ts: TaskSet) -> None:
        pool = self._pool_of(ts)
        if ts in pool.tasksets:
            pool.tasksets.remove(ts)

    def sorted(self) -> list[TaskSet]:
        """Every active task set in the order Spark offers them slots (getSortedTaskSetQueue)."""
        if not self.fair:
            return self.pools["default"].sorted()
        busy = [p for p in self.pools.values() if p.tasksets]
        busy.sort(key=lambda p: fair_key(p.running, p.spec.min_share, p.spec.weight, p.spec.name))
        return [ts for pool in busy for ts in pool.sorted()]
