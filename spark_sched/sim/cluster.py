"""The simulated cluster: hosts with task slots, grouped in racks, and the bandwidth of their links."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from spark_sched.errors import SettingsError

GBIT = 1e9 / 8  # bytes per second in one Gbit/s


@dataclass(frozen=True)
class SimCluster:
    """Hosts (one executor each) with `slots` task slots; `rack_of` maps a host to its rack.

    `host_bps` is a host's network link, `rack_bps` a rack's uplink, in bytes per second:
    a remote read within a rack shares the reader's link, one across racks shares the
    reader's rack uplink with every other cross-rack read into that rack.
    """

    hosts: tuple[str, ...]
    slots: int
    rack_of: Mapping[str, str] = field(default_factory=dict)
    host_bps: float = 10 * GBIT
    rack_bps: float = 10 * GBIT

    def __post_init__(self) -> None:
        if not self.hosts:
            raise SettingsError("cluster.hosts", 0, "at least one host")
        if isinstance(self.slots, bool) or not isinstance(self.slots, int) or self.slots < 1:
            raise SettingsError("cluster.slots", self.slots, "a whole number >= 1")
        for name in ("host_bps", "rack_bps"):
            if not getattr(self, name) > 0:
                raise SettingsError(f"cluster.{name}", getattr(self, name), "bytes per second > 0")

    @classmethod
    def uniform(cls, hosts: int, slots: int, racks: int = 1, host_gbit: float = 10.0,
                rack_gbit: float = 10.0) -> SimCluster:
        """`hosts` hosts named h0000.. in order over `racks` equal racks."""
        if isinstance(hosts, bool) or not isinstance(hosts, int) or hosts < 1:
            raise SettingsError("hosts", hosts, "a whole number >= 1")
        if isinstance(racks, bool) or not isinstance(racks, int) or not 1 <= racks <= hosts:
            raise SettingsError("racks", racks, f"a whole number from 1 to the host count ({hosts})")
        names = tuple(f"h{i:04d}" for i in range(hosts))
        per_rack = -(-hosts // racks)
        return cls(names, slots, {h: f"r{i // per_rack}" for i, h in enumerate(names)},
                   host_gbit * GBIT, rack_gbit * GBIT)

    def rack(self, host: str) -> str:
        """The host's rack ("" when the cluster has no rack map)."""
        return self.rack_of.get(host, "")

    @property
    def total_slots(self) -> int:
        return len(self.hosts) * self.slots
