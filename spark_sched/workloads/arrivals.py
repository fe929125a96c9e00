"""HIGH jobs arriving at a fixed rate through the priority controller: the load of the `controller_load` bench."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from spark_sched.workloads.loop import BackgroundLoop

if TYPE_CHECKING:
    from spark_sched.priority.runtime.controller import PriorityController
    from spark_sched.priority.runtime.stats import HighRun


class HighArrivals(BackgroundLoop):
    """A tiny HIGH job (a 2-task count) every `1 / per_s` seconds via `run_high`; `runs` keeps every handle."""

    def __init__(self, controller: PriorityController, per_s: float) -> None:
        super().__init__("bench-high-arrivals")
        self.controller = controller
        self.every_s = 1.0 / per_s
        self.runs: list[HighRun] = []

    def _loop(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.runs.append(self.controller.run_high(f"high-{len(self.runs)}", _count_two))
            next_at += self.every_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))


def _count_two(spark: Any) -> int:
    return int(spark.sparkContext.parallelize([1, 2], 2).count())
