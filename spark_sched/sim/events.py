"""The event queue: a binary heap of (time, sequence, action, *arguments).

A plain heap, not SimPy: on this machine a million bare timer events took 1.2 s
through heapq and 4.5 s through SimPy 4.1 (docs/sim.md). Nothing is cancelled in
the queue: an action that may have been overtaken checks, when it runs, whether
it still applies (a killed task's own end, a link's superseded finish), and the
arguments sit in the entry itself, so an entry is one tuple: on 1,000 hosts
thousands wait at once, and each object fewer per entry is memory the processor
does not fetch again when the entry comes up.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any


class EventQueue:
    """Actions in time order (ties in the order they were scheduled)."""

    def __init__(self) -> None:
        self._heap: list[tuple[Any, ...]] = []  # (time, sequence, action, *arguments)
        self._seq = 0
        self.now = 0.0
        self.processed = 0

    def at(self, time: float, action: Callable[..., None], *args: Any) -> None:
        """Run `action(*args)` at `time` (never before now)."""
        self._seq += 1
        heapq.heappush(self._heap, (time if time > self.now else self.now, self._seq, action, *args))

    def reserve(self) -> int:
        """A place in the order of ties for an action to be queued later with `at_reserved`."""
        self._seq += 1
        return self._seq

    def at_reserved(self, time: float, seq: int, action: Callable[..., None], *args: Any) -> None:
        """`at`, with the place among ties reserved earlier: it runs as if it had been queued then."""
        heapq.heappush(self._heap, (time if time > self.now else self.now, seq, action, *args))

    def run(self, until: float = float("inf")) -> None:
        """Process events in order until none is left or the next is after `until`."""
        heap, pop = self._heap, heapq.heappop
        processed = self.processed
        try:
            while heap and heap[0][0] <= until:
                entry = pop(heap)
                self.now = entry[0]
                processed += 1
                if len(entry) == 4:
                    entry[2](entry[3])
                else:
                    entry[2](*entry[3:])
        finally:
            self.processed = processed

    def __len__(self) -> int:
        return len(self._heap)
