"""A flow-level network: every link shares its bandwidth equally among the flows crossing it.

Each flow crosses one link, its bottleneck: a read from another host of the same
rack crosses the reader's host link, a read from another rack crosses the
reader's rack uplink. A link with n flows gives each C/n (processor sharing),
kept in virtual time: V advances at C/n per second, a flow of b bytes started at
V0 ends when V reaches V0 + b, so a start or an end costs O(log n) however many
flows share the link.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from spark_sched.sim.events import EventQueue


class Link:
    """One shared link: its flows' virtual finish points; `finish_gen` numbers the one next-finish event that counts.

    Each start or end moves the next finish: the event scheduled before it is not
    taken out of the queue, it finds a newer generation when it runs and does nothing.
    """

    __slots__ = ("bps", "events", "virtual", "updated", "flows", "finish_gen", "name", "bytes_carried")

    def __init__(self, name: str, bps: float, events: EventQueue) -> None:
        self.name, self.bps, self.events = name, bps, events
        self.virtual = 0.0  # bytes served to each flow since the link was created
        self.updated = 0.0
        self.flows: list[tuple[float, int, Callable[[], None]]] = []
        self.finish_gen = 0
        self.bytes_carried = 0.0

    def _advance(self) -> None:
        now = self.events.now
        if self.flows:
            self.virtual += (now - self.updated) * self.bps / len(self.flows)
        self.updated = now

    def _reschedule(self) -> None:
        self.finish_gen += 1
        if self.flows:
            left = max(0.0, self.flows[0][0] - self.virtual)
            when = self.events.now + left * len(self.flows) / self.bps
            self.events.at(when, self._finish, self.finish_gen)

    def start(self, size: float, seq: int, done: Callable[[], None]) -> None:
        """Start a flow of `size` bytes; `done()` is called when its last byte arrives."""
        self._advance()
        self.bytes_carried += size
        heapq.heappush(self.flows, (self.virtual + size, seq, done))
        self._reschedule()

    def _finish(self, gen: int) -> None:
        if gen != self.finish_gen:  # a later start or end moved the next finish
            return
        self._advance()
        finished = [heapq.heappop(self.flows)[2]]  # the flow this timer was set for: due, whatever the rounding
        while self.flows and self.flows[0][0] <= self.virtual * (1 + 1e-12) + 1e-9:
            finished.append(heapq.heappop(self.flows)[2])
        self._reschedule()
        for done in finished:
            done()


class Network:
    """The links of a cluster, created on first use; one call starts a read between two hosts."""

    def __init__(self, events: EventQueue, rack_of: Callable[[str], str], host_bps: float, rack_bps: float) -> None:
        self.events, self.rack_of = events, rack_of
        self.host_bps, self.rack_bps = host_bps, rack_bps
        self.links: dict[str, Link] = {}
        self._seq = 0

    def link(self, name: str, bps: float) -> Link:
        found = self.links.get(name)
        if found is None:
            found = self.links[name] = Link(name, bps, self.events)
        return found

    def read(self, size: float, source: str, reader: str, done: Callable[[], None],
             cross_rack: bool | None = None) -> None:
        """Move `size` bytes to `reader` (from `source`, or across racks when `cross_rack` says so); then `done()`."""
        if size <= 0 or source == reader:
            done()
            return
        self._seq += 1
        crosses = cross_rack if cross_rack is not None else self.rack_of(source) != self.rack_of(reader)
        if crosses:
            self.link("rack:" + self.rack_of(reader), self.rack_bps).start(size, self._seq, done)
        else:
            self.link("host:" + reader, self.host_bps).start(size, self._seq, done)

    def cross_rack_bytes(self) -> float:
        return sum(link.bytes_carried for name, link in self.links.items() if name.startswith("rack:"))
