"""One recommendation from the model: by the cost of a miss (default when the cost is known) or by a target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from spark_sched.locality.cost import SLACK, WAIT_STEP_S, StageShape, cost_aware_skips, stage_seconds
from spark_sched.locality.model import (
    expected_locality,
    positive,
    positive_int,
    skips_for,
    skips_for_wait,
    wait_for_skips,
)
from spark_sched.locality.placement import check_placement, local_drain_seconds, placed_seconds
from spark_sched.locality.waits import LocalityError, LocalityWait

DEFAULT_TARGET = 0.95


@dataclass(frozen=True)
class Recommendation:
    """A wait chosen from the model, with the inputs and what the model predicts for it.

    `mode`: "cost" (fewest skips within 1 % of the least expected stage time) or
    "target" (fewest skips reaching `inputs["target"]` locality). `predicted_seconds`
    and `no_wait_seconds` are the model's stage time with this wait and with none
    (only when a miss cost is known).
    """

    wait: LocalityWait
    skips: int
    rack_skips: int
    predicted_locality: float
    inputs: dict[str, Any]
    mode: str = "target"
    predicted_seconds: float | None = None
    no_wait_seconds: float | None = None

    @property
    def predicted_change(self) -> float | None:
        """Expected stage time with this wait over the time with none, minus 1 (-0.2: 20 % faster)."""
        if self.predicted_seconds is None or not self.no_wait_seconds:
            return None
        return self.predicted_seconds / self.no_wait_seconds - 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "spark_conf": self.wait.spark_conf(),
            "wait_seconds": asdict(self.wait),
            "skips": self.skips,
            "rack_skips": self.rack_skips,
            "predicted_locality": self.predicted_locality,
            "predicted_seconds": self.predicted_seconds,
            "no_wait_seconds": self.no_wait_seconds,
            "predicted_change_vs_no_wait": self.predicted_change,
            "inputs": self.inputs,
        }


def _check_target(target: Any) -> float:
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target < 1:
        raise LocalityError(f"target = {target!r} is not valid; allowed: a fraction between 0 and 1, exclusive")
    return float(target)


def _check_miss(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or value == float("inf"):
        raise LocalityError(f"{name} = {value!r} is not valid; allowed: seconds >= 0 (a miss's extra task time)")
    return float(value)


def recommend_locality_wait(
    nodes: int,
    slots_per_node: int,
    replication: int,
    tasks: int,
    task_seconds: float,
    target: float | None = None,
    racks: int = 1,
    cached: bool = True,
    miss_seconds: float | None = None,
    rack_miss_seconds: float | None = None,
    placement: Sequence[int] | None = None,
) -> Recommendation:
    """Spark's locality waits for a job of `tasks` tasks of `task_seconds` on `nodes` x `slots_per_node` slots.

    With `miss_seconds` (how much longer a non-local task runs, as measured) and no
    `target`, the wait minimises the job's expected time (`spark_sched.locality.cost`);
    with a `target` (or neither: 0.95), it is the shortest wait reaching that locality.
    `cached`: the input sits in executors' memory (one executor per host, as on the
    toolkit's clusters), so PROCESS_LOCAL is the level to wait at and NODE_LOCAL
    offers the same hosts again (node wait 0); otherwise the wait goes to NODE_LOCAL.
    The rack wait treats each of `racks` racks as one node of the same model (by
    `rack_miss_seconds`, the extra cost of ANY over RACK_LOCAL, in cost mode); with
    one rack it is 0. Spark sees racks only on YARN or where the toolkit maps them.

    `placement` (cost mode): the stage's blocks per host, as a run placed them. The
    even-spread model's wait stands unless, on this placement, it makes the stage more
    than 1 % slower than the best wait does (`placement.placed_stage_seconds`: a hot
    host whose queue outlasts the others'); then the wait is the shortest within 1 %
    of that best. The predicted times are then the placement's.
    """
    m = positive_int("nodes", nodes)
    slots = m * positive_int("slots_per_node", slots_per_node)
    positive_int("replication", replication)
    positive_int("tasks", tasks)
    positive("task_seconds", task_seconds)
    positive_int("racks", racks)
    mode = "cost" if miss_seconds is not None and target is None else "target"
    goal = _check_target(DEFAULT_TARGET if target is None else target)
    shape = StageShape(tasks, task_seconds, slots, m, replication, 0.0)
    predicted_s = no_wait_s = None
    if mode == "cost":
        shape = StageShape(tasks, task_seconds, slots, m, replication, _check_miss("miss_seconds", miss_seconds))
        skips = cost_aware_skips(shape)
        predicted_s, no_wait_s = (float(v) for v in stage_seconds(shape, np.array([skips, 0])))
        if placement is not None:
            skips, predicted_s, no_wait_s = _placed_choice(shape, slots_per_node, placement, skips, predicted_s,
                                                           no_wait_s)
    else:
        skips = skips_for(goal, m, replication, tasks)
    rack_skips = _rack_skips(mode, goal, racks, m, replication, tasks, task_seconds, slots, rack_miss_seconds)
    wait = wait_for_skips(skips, task_seconds, slots)
    rack_wait = wait_for_skips(rack_skips, task_seconds, slots)
    waits = LocalityWait(wait, 0.0, rack_wait, True) if cached else LocalityWait(0.0, wait, rack_wait, True)
    inputs = {
        "nodes": m,
        "slots_per_node": slots_per_node,
        "replication": replication,
        "tasks": tasks,
        "task_seconds": task_seconds,
        "target": goal if mode == "target" else None,
        "miss_seconds": miss_seconds,
        "racks": racks,
        "cached": cached,
    }
    if placement is not None:
        inputs["placement"] = check_placement(placement)
    return Recommendation(waits, skips, rack_skips, expected_locality(m, replication, tasks, skips), inputs, mode,
                          predicted_s, no_wait_s)


def _placed_choice(shape: StageShape, slots_per_node: int, placement: Sequence[int], skips: int,
                   predicted_s: float, no_wait_s: float) -> tuple[int, float, float]:
    """The even-spread model's skips and times, or the placement's shortest wait within 1 % of its best and its
    times (with that wait, and with none) when the even-spread model's wait costs more on this placement."""
    t, p = shape.task_seconds, shape.miss_seconds
    grid = np.arange(0.0, local_drain_seconds(placement, slots_per_node, t) + WAIT_STEP_S, WAIT_STEP_S)
    times = placed_seconds(placement, slots_per_node, t, p, grid)
    best = float(times.min())
    spread_wait = wait_for_skips(skips, t, shape.slots)
    at_spread = float(placed_seconds(placement, slots_per_node, t, p, np.array([spread_wait]))[0])
    if at_spread <= best * (1.0 + SLACK) + 1e-12:
        return skips, predicted_s, no_wait_s
    index = int(np.argmax(times <= best * (1.0 + SLACK) + 1e-12))
    placed_skips = int(np.ceil(skips_for_wait(float(grid[index]), t, shape.slots) - 1e-9))
    return placed_skips, float(times[index]), float(times[0])


def _rack_skips(mode: str, goal: float, racks: int, nodes: int, replication: int, tasks: int, task_seconds: float,
                slots: int, rack_miss_seconds: float | None) -> int:
    """Skips at the rack level: the same model with racks as nodes (0 with one rack, or no measured rack cost)."""
    if not 1 < racks < nodes:
        return 0
    if mode == "target":
        return skips_for(goal, racks, replication, tasks)
    if rack_miss_seconds is None:
        return 0
    miss = _check_miss("rack_miss_seconds", rack_miss_seconds)
    return cost_aware_skips(StageShape(tasks, task_seconds, slots, racks, replication, miss))
