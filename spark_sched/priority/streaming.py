"""Streaming queries as HIGH demand, and their per-micro-batch latency.

`StreamWatch` tells the controller when a query's trigger is about to fire: a
processing-time trigger fires at multiples of its interval since the epoch
(Spark's ProcessingTimeExecutor rounds up to them), so the next one is
predictable, and the query's status says whether the last one found data.
`LatencyListener` is a StreamingQueryListener that keeps every progress event's
`durationMs`, input rows and the time it arrived.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyspark.sql.streaming import StreamingQueryListener

if TYPE_CHECKING:
    from pyspark.sql.streaming import StreamingQuery


@dataclass
class StreamWatch:
    """One query the controller watches: its trigger interval and how many slots a micro-batch needs."""

    query: StreamingQuery
    trigger_s: float
    slots: int
    lead_s: float = 0.05
    predict: bool = False  # True: free slots `lead_s` before a trigger is due (lower latency, idle LOW slots)

    def next_trigger_in(self, now_wall: float | None = None) -> float:
        """Seconds until the next processing-time trigger (they fire at multiples of the interval)."""
        now_ms = int((time.time() if now_wall is None else now_wall) * 1000)
        interval_ms = int(self.trigger_s * 1000)
        return ((now_ms // interval_ms + 1) * interval_ms - now_ms) / 1000.0

    def demand_slots(self) -> int:
        """Slots the query will want shortly: its trigger is due within `lead_s` and the last one found data.

        Only with `predict`: freeing slots ahead of a trigger lowers latency by the
        controller's reaction time, but leaves them idle while the driver plans the
        micro-batch; without it, the micro-batch's tasks count once they wait in the pool.
        """
        if not self.predict or not self.query.isActive:
            return 0
        status = self.query.status
        if status.get("isDataAvailable") and self.next_trigger_in() <= self.lead_s:
            return self.slots
        return 0


@dataclass
class BatchProgress:
    """One micro-batch as its progress event describes it."""

    batch_id: int
    input_rows: int
    duration_ms: dict[str, int]
    received_wall: float


@dataclass
class LatencyListener(StreamingQueryListener):
    """Keeps every progress event (asynchronous: it arrives shortly after the batch committed)."""

    batches: list[BatchProgress] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        super().__init__()

    def onQueryStarted(self, event: Any) -> None:  # noqa: N802 - Spark's callback names
        pass

    def onQueryProgress(self, event: Any) -> None:  # noqa: N802
        p = event.progress
        with self.lock:
            self.batches.append(BatchProgress(p.batchId, p.numInputRows, dict(p.durationMs), time.time()))

    def onQueryIdle(self, event: Any) -> None:  # noqa: N802
        pass

    def onQueryTerminated(self, event: Any) -> None:  # noqa: N802
        pass


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
