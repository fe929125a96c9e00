"""Which host sits in which rack: Spark outside YARN knows no racks, so the toolkit keeps the map.

`conf/topology.toml`:

    racks = 2                      # hosts are dealt into this many racks in contiguous blocks
    [hosts]                        # explicit placements win over the blocks
    "127.0.0.4" = "r2"
    [links]                        # used by the shaped testbed (`cluster up --shaped`)
    host_rate = "1gbit"
    rack_uplink_rate = "200mbit"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spark_sched.compat import tomllib
from spark_sched.errors import SettingsError

DEFAULT_TOPOLOGY_FILE = Path("conf/topology.toml")
_RATE = re.compile(r"^\d+(\.\d+)?(bit|kbit|mbit|gbit)$")


@dataclass(frozen=True)
class Topology:
    """Rack count, explicit host placements and link rates."""

    racks: int = 2
    hosts: dict[str, str] = field(default_factory=dict)
    host_rate: str = "1gbit"
    rack_uplink_rate: str = "200mbit"
    source: str = "defaults"

    def rack_names(self) -> list[str]:
        return [f"r{i + 1}" for i in range(self.racks)]

    def rack_of(self, host: str, index: int, total: int) -> str:
        """The rack of the `index`-th of `total` hosts: explicit entry, else contiguous blocks."""
        if host in self.hosts:
            return self.hosts[host]
        return self.rack_names()[min(self.racks - 1, index * self.racks // max(total, 1))]


def parse_topology(data: dict[str, Any], source: str) -> Topology:
    """Validate a parsed topology document."""
    allowed = ("racks", "hosts", "links")
    for key in data:
        if key not in allowed:
            raise SettingsError(key, data[key], allowed, source)
    racks = data.get("racks", 2)
    if not isinstance(racks, int) or isinstance(racks, bool) or racks < 1:
        raise SettingsError("racks", racks, "a whole number >= 1", source)
    hosts = data.get("hosts", {})
    if not isinstance(hosts, dict) or not all(isinstance(v, str) and v for v in hosts.values()):
        raise SettingsError("hosts", hosts, "a table of host = rack name", source)
    links = data.get("links", {})
    rates: dict[str, str] = {}
    for key, value in links.items():
        if key not in ("host_rate", "rack_uplink_rate"):
            raise SettingsError(f"links.{key}", value, ("links.host_rate", "links.rack_uplink_rate"), source)
        if not isinstance(value, str) or not _RATE.match(value):
            raise SettingsError(f"links.{key}", value, "a tc rate such as 200mbit or 1gbit", source)
        rates[key] = value
    return Topology(racks=racks, hosts=dict(hosts), source=source, **rates)


def load_topology(path: str | Path | None = None) -> Topology:
    """Read a topology file (default `conf/topology.toml` when present, else two racks)."""
    if path is None:
        if not DEFAULT_TOPOLOGY_FILE.is_file():
            return Topology()
        path = DEFAULT_TOPOLOGY_FILE
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text())
    except OSError as exc:
        raise SettingsError("topology file", str(file), "a readable TOML file", str(file)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError("TOML syntax", str(exc), "valid TOML", str(file)) from exc
    return parse_topology(data, str(file))
