"""Watched streaming queries as HIGH demand the controller sees before their tasks wait in a pool."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spark_sched.priority.streaming import StreamWatch


class StreamDemand:
    """The queries the controller watches; with `predict`, a trigger about to fire counts as demand."""

    def __init__(self, predict: bool) -> None:
        self.predict = predict
        self.watched: list[StreamWatch] = []

    def watch(self, stream: StreamWatch) -> None:
        if self.predict:
            stream.predict = True
        self.watched.append(stream)

    def slots(self) -> int:
        """The most slots any watched query will want shortly (0 without `predict`)."""
        return max((w.demand_slots() for w in self.watched), default=0)
