"""Uneven placement: the stage time a wait gives when one host holds more of a stage's data than the rest.

The delay-scheduling model (`model`, `cost`) assumes a stage's blocks are spread
evenly, so a skipped offer is soon followed by one from a host holding a task's
data. When one host holds most of the blocks (a hot host), its own slots work
through its tasks at L/T per second while the other hosts have run out of local
work: waiting then holds idle slots until the hot host's queue drains, and a miss
(P more per task) is the only way to use them.

`placed_stage_seconds` plays Spark's delay scheduling on a given placement:
every slot takes a task whose data its host holds; a slot with none left may take
another host's task (paying P) once `wait` has passed since the stage's last local
launch (`spark.locality.wait.legacyResetOnTaskLaunch=true`, as the toolkit's
waits set it: every local launch restarts the timer, so a hot host launching
every T/L seconds keeps a longer wait from ever running out). A host's slots free
T/L apart, as they do once tasks of one length have run a while (in lockstep, a
wait shorter than T would seem to run out between waves). It has no offers
from other jobs: it is the placement's side of the choice, which the even-spread
model cannot see.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

from spark_sched.locality.model import positive, positive_int
from spark_sched.locality.waits import LocalityError

EPSILON = 1e-9
_FREE, _RETRY = 0, 1  # at one instant, slots that free up are offered before a wait's retry


def check_placement(placement: Sequence[int]) -> list[int]:
    """Blocks per host, each a whole number >= 0, at least one host and one block."""
    hosts = list(placement)
    bad = [v for v in hosts if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0]
    if not hosts or bad or sum(hosts) == 0:
        raise LocalityError(f"placement = {list(placement)!r} is not valid; allowed: blocks per host, whole "
                            "numbers >= 0, at least one block")
    return [int(v) for v in hosts]


def placed_stage_seconds(placement: Sequence[int], slots_per_node: int, task_seconds: float,
                         miss_seconds: float, wait: float) -> float:
    """The stage's time when `placement[h]` of its tasks read data on host h, under `wait` (seconds)."""
    left = check_placement(placement)
    slots = positive_int("slots_per_node", slots_per_node)
    t, p, w = positive("task_seconds", task_seconds), max(0.0, float(miss_seconds)), max(0.0, float(wait))
    offers = [(j * t / slots, _FREE, h) for h in range(len(left)) for j in range(slots)]
    heapq.heapify(offers)
    last_local, end = 0.0, 0.0
    while offers:
        now, _, host = heapq.heappop(offers)
        if left[host]:
            left[host] -= 1
            last_local, end = now, max(end, now + t)
            heapq.heappush(offers, (now + t, _FREE, host))
        elif any(left):
            if now + EPSILON >= last_local + w:
                left[int(np.argmax(left))] -= 1  # the longest queue: the host whose tasks would end last
                end = max(end, now + t + p)
                heapq.heappush(offers, (now + t + p, _FREE, host))
            else:
                heapq.heappush(offers, (last_local + w, _RETRY, host))
    return end


def local_drain_seconds(placement: Sequence[int], slots_per_node: int, task_seconds: float) -> float:
    """The stage's time with every task local: the busiest host's waves. No wait beyond it changes anything."""
    left = check_placement(placement)
    return float(np.ceil(max(left) / positive_int("slots_per_node", slots_per_node)) * task_seconds)


def placed_seconds(placement: Sequence[int], slots_per_node: int, task_seconds: float, miss_seconds: float,
                   waits: np.ndarray) -> np.ndarray:
    """`placed_stage_seconds` for each wait in `waits`."""
    return np.array([placed_stage_seconds(placement, slots_per_node, task_seconds, miss_seconds, float(w))
                     for w in np.atleast_1d(waits)])

