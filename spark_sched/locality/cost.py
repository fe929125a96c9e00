"""Cost-aware waits: the number of skips that minimises a stage's expected time, not a locality target.

A stage of N tasks on S slots takes N*T/S to run. Its last tasks (K < M left, the
only ones that can miss: with K >= M every host holds one of them) run while the
stage has nothing else to do, so what happens to them adds to the stage's time in
full: each skipped offer waits T/S for the next one, and a launch that misses
costs P more (the miss penalty, measured from the task times of non-local tasks).
With q_K the odds that an offered slot holds none of the K tasks' data (`model`):

    J(D) = N*T/S + sum_{K=1..N} [ q_K^(D+1) * P  +  (T/S) * (q_K + q_K^2 + ... + q_K^D) ]

One more skip pays for task K exactly when (1 - q_K) * P > T/S: with one replica,
K/M * P > T/S. The last task (K = 1) decides the long run: waiting pays when a miss
costs more than M*T/S = T/L (a task length over the slots per node). Between a
first skip that pays and the limit, J falls off geometrically, so the choice is the
*shortest* wait whose expected time is within `slack` (1 %) of the best: most of
the gain, and the least exposure to what the model leaves out (a busy host).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spark_sched.locality.model import MAX_SKIPS, miss_odds, positive, positive_int

SLACK = 0.01
TINY = 1e-9
WAIT_STEP_S = 0.01
MAX_WAIT_S = 30.0
_CHUNK = 2048


@dataclass(frozen=True)
class StageShape:
    """What the cost model needs of one stage: its tasks, their length, the slots, the hosts, the miss penalty."""

    tasks: int
    task_seconds: float
    slots: int
    nodes: int
    replication: int = 1
    miss_seconds: float = 0.0

    def __post_init__(self) -> None:
        positive_int("tasks", self.tasks)
        positive("task_seconds", self.task_seconds)
        positive_int("slots", self.slots)
        positive_int("nodes", self.nodes)
        positive_int("replication", self.replication)


def stage_seconds(shape: StageShape, skips: np.ndarray | float) -> np.ndarray:
    """J(D) of the module docstring for each D in `skips` (seconds; D may be fractional, as W*S/T is)."""
    d = np.atleast_1d(np.asarray(skips, dtype=float))
    q = miss_odds(shape.nodes, shape.replication, shape.tasks)
    q = q[q > 0][:, None]
    t, s, p = shape.task_seconds, shape.slots, max(0.0, shape.miss_seconds)
    base = shape.tasks * t / s
    if q.size == 0:
        return np.full(d.shape, base)
    out = np.empty(d.shape)
    for start in range(0, d.size, _CHUNK):
        part = d[None, start:start + _CHUNK]
        waiting = (t / s) * np.sum(q * (1.0 - q**part) / (1.0 - q), axis=0)
        missing = p * np.sum(q ** (part + 1.0), axis=0)
        out[start:start + _CHUNK] = base + waiting + missing
    return out


def _horizon(shape: StageShape) -> int:
    """Skips after which even the last task's miss odds are negligible (q_1^(D+1) < TINY)."""
    q1 = float(miss_odds(shape.nodes, shape.replication, 1)[0])
    if q1 <= 0:
        return 0
    return min(MAX_SKIPS, int(np.ceil(np.log(TINY) / np.log(q1))))


def _shortest_near_best(values: np.ndarray, slack: float) -> int:
    best = float(values.min())
    return int(np.argmax(values <= best * (1.0 + slack) + 1e-12))


def cost_aware_skips(shape: StageShape, slack: float = SLACK) -> int:
    """The fewest skips whose expected stage time is within `slack` of the least the model can reach."""
    grid = np.arange(_horizon(shape) + 1, dtype=float)
    return _shortest_near_best(stage_seconds(shape, grid), slack)


def application_seconds(stages: Sequence[StageShape], waits: np.ndarray) -> np.ndarray:
    """Expected time of stages run one after another, for each wait in `waits` (seconds).

    Spark's wait is one setting per application, so each stage sees it as its own
    number of skips, D = W*S/T.
    """
    total = np.zeros(np.atleast_1d(waits).shape)
    for shape in stages:
        total += stage_seconds(shape, np.atleast_1d(waits) * shape.slots / shape.task_seconds)
    return total


def cost_aware_wait(stages: Sequence[StageShape], slack: float = SLACK, step: float = WAIT_STEP_S,
                    limit: float = MAX_WAIT_S) -> float:
    """The shortest wait (seconds, on a `step` grid up to `limit`) within `slack` of the stages' best expected time."""
    if not stages:
        return 0.0
    grid = np.arange(0.0, limit + step / 2, step)
    return float(grid[_shortest_near_best(application_seconds(stages, grid), slack)])
