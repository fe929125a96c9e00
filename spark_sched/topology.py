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

from spark_sched.errors import SettingsError
from spark_sched.tomlread import TomlError, loads, read_text

DEFAULT_TOPOLOGY_FILE = Path("conf/topology.toml")
_RATE = re.compile(r"(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)")
MAX_RACKS = 1000


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
    """Validate a parsed topology document; the first bad entry is named with its value and what is allowed."""
    allowed = ("racks", "hosts", "links")
    for key in data:
        if key not in allowed:
            raise SettingsError(key, data[key], allowed, source)
    racks = data.get("racks", 2)
    if not isinstance(racks, int) or isinstance(racks, bool) or not 1 <= racks <= MAX_RACKS:
        raise SettingsError("racks", racks, f"a whole number from 1 to {MAX_RACKS}", source)
    hosts = _table(data, "hosts", "a table of host = rack name", source)
    for host, rack in hosts.items():
        if not isinstance(rack, str) or not rack.strip() or not rack.isprintable():
            raise SettingsError(f"hosts.{host!r}", rack, "a rack name (a non-empty string)", source)
    links = _table(data, "links", "a table with host_rate and rack_uplink_rate", source)
    rates: dict[str, str] = {}
    for key, value in links.items():
        if key not in ("host_rate", "rack_uplink_rate"):
            raise SettingsError(f"links.{key}", value, ("links.host_rate", "links.rack_uplink_rate"), source)
        if not isinstance(value, str) or not _RATE.fullmatch(value) or not float(_RATE.fullmatch(value)[1]) > 0:
            raise SettingsError(f"links.{key}", value, "a tc rate above 0 such as 200mbit or 1gbit", source)
        rates[key] = value
    return Topology(racks=racks, hosts=dict(hosts), source=source, **rates)


def _table(data: dict[str, Any], key: str, allowed: str, source: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise SettingsError(key, value, allowed, source)
    return value


def load_topology(path: str | Path | None = None) -> Topology:
    """Read a topology file (default `conf/topology.toml` when present, else two racks)."""
    if path is None:
        if not DEFAULT_TOPOLOGY_FILE.is_file():
            return Topology()
        path = DEFAULT_TOPOLOGY_FILE
    file = Path(path)
    try:
        data = loads(read_text(file))
    except OSError as exc:
        raise SettingsError("topology file", str(file), "a readable TOML file", str(file)) from exc
    except TomlError as exc:
        raise SettingsError("TOML syntax", str(exc), "valid TOML", str(file)) from exc
    return parse_topology(data, str(file))
