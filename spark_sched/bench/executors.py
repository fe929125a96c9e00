"""Wait until a cluster application's executors have registered, so no bench run starts short of slots."""

from __future__ import annotations

import time
from typing import Any


def wait_for_executors(spark: Any, wanted: int, timeout_s: float, who: str) -> int:
    """Block until `wanted` executors registered (the driver's own entry not counted); return the app's slots.

    Polls Spark's executor list (a condition with a deadline, not a fixed sleep); `who` names the
    experiment in the one-line error when the deadline passes.
    """
    deadline = time.monotonic() + timeout_s
    while spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1 < wanted:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{who}: {wanted} executors did not register in {timeout_s:.0f}s")
        time.sleep(0.2)
    return int(spark.sparkContext.defaultParallelism)
