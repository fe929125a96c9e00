"""The shaped testbed: the local cluster with each worker in its own network namespace, behind shaped links.

On loopback every host reads every other host's data at memory speed, so
locality costs nothing there. Here a non-local read crosses real (virtual)
links with `tc tbf` rate limits, and the kernel's interface counters say how
many bytes crossed each one:

    driver + master (root namespace) -- core bridge
        core bridge --[rack uplink, shaped both ways]-- rack bridge (one per rack)
            rack bridge --[host link, shaped both ways]-- eth0 in namespace <worker>

Addresses come from 198.18.0.0/15 (RFC 2544's range for benchmarking networks),
one /24 per state directory; the gateway `.1` on the core bridge is the master's
and the driver's address, worker i is `.(10+i)`. Worker namespaces have only
that /24 (no default route), so nothing they send can leave the machine. Every
name carries a tag derived from the state directory, so two testbeds cannot
collide, and `down` removes everything with that tag, also after a failed `up`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spark_sched.cluster import ClusterState, LocalCluster
from spark_sched.errors import ClusterError
from spark_sched.topology import Topology

PLAN_FILE = "testbed.json"
RANGE = ipaddress.ip_network("198.18.0.0/15")
WORKER_PORT, WORKER_WEBUI_PORT = 7078, 8081
_RATE_UNITS = {"bit": 1, "kbit": 10**3, "mbit": 10**6, "gbit": 10**9}


@dataclass
class Rack:
    name: str
    bridge: str
    uplink_rack_end: str  # on the rack bridge: sends what leaves the rack
    uplink_core_end: str  # on the core bridge: sends what enters the rack


@dataclass
class Host:
    index: int
    namespace: str
    address: str
    rack: str
    link: str  # root-side end of the host's veth (sends what the host receives)


@dataclass
class Plan:
    """Every name and address a testbed uses, written to `<state_dir>/testbed.json` before anything is made."""

    tag: str
    subnet: str
    gateway: str
    core_bridge: str
    host_rate: str
    rack_uplink_rate: str
    racks: list[Rack] = field(default_factory=list)
    hosts: list[Host] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        racks = [Rack(**r) for r in data.pop("racks", [])]
        hosts = [Host(**h) for h in data.pop("hosts", [])]
        return cls(racks=racks, hosts=hosts, **data)


def tag_for(state_dir: Path) -> str:
    """Short, stable, per-state-directory prefix for interface and namespace names (15-char limit)."""
    return "ss" + hashlib.sha1(str(state_dir.resolve()).encode()).hexdigest()[:4]


def require_tools() -> None:
    """Root and iproute2's `ip` and `tc`, or one line saying what is missing."""
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    if missing:
        needed = " and ".join(missing)
        raise ClusterError(f"the shaped testbed needs {needed}; install iproute2 (apt-get install iproute2)")
    if os.geteuid() != 0:
        raise ClusterError("the shaped testbed needs root (network namespaces, veth pairs, tc)")


def rate_bits(rate: str) -> int:
    """A tc rate ("200mbit") in bits per second."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)", rate)
    if not match:
        raise ClusterError(f"rate {rate!r} is not valid; allowed: a tc rate such as 200mbit or 1gbit")
    return int(float(match.group(1)) * _RATE_UNITS[match.group(2)])


def _run(*args: str) -> str:
    proc = subprocess.run(list(args), capture_output=True, text=True)
    if proc.returncode != 0:
        raise ClusterError(f"`{' '.join(args)}` failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def _quiet(*args: str) -> None:
    subprocess.run(list(args), capture_output=True, text=True)


def _subnets_in_use() -> list[ipaddress.IPv4Network]:
    out = _run("ip", "-o", "-4", "addr", "show")
    return [ipaddress.ip_interface(m).network for m in re.findall(r"inet (\S+)", out)]


def _pick_subnet(tag: str) -> ipaddress.IPv4Network:
    """The tag's /24 of 198.18.0.0/15, or the next one no interface on this machine uses."""
    subnets = list(RANGE.subnets(new_prefix=24))
    used = _subnets_in_use()
    start = int(tag[2:], 16) % len(subnets)
    for step in range(len(subnets)):
        candidate = subnets[(start + step) % len(subnets)]
        if not any(candidate.overlaps(u) for u in used):
            return candidate
    raise ClusterError("no free /24 left in 198.18.0.0/15 for the shaped testbed")


def make_plan(state_dir: Path, workers: int, topology: Topology) -> Plan:
    """Names, addresses and racks for `workers` hosts; racks as topology.toml deals 127.0.0.2, .3, ..."""
    if workers < 1 or workers > 100:
        raise ClusterError(f"--workers {workers} is not valid with --shaped; allowed: 1 to 100")
    rate_bits(topology.host_rate)
    rate_bits(topology.rack_uplink_rate)
    tag = tag_for(state_dir)
    net = _pick_subnet(tag)
    rack_names = [topology.rack_of(f"127.0.0.{i + 2}", i, workers) for i in range(workers)]
    ordered = list(dict.fromkeys(rack_names))
    racks = [Rack(name, f"{tag}r{j}", f"{tag}u{j}a", f"{tag}u{j}b") for j, name in enumerate(ordered)]
    hosts = [
        Host(i + 1, f"{tag}-w{i + 1}", str(net[10 + i + 1]), rack_names[i], f"{tag}h{i + 1}") for i in range(workers)
    ]
    return Plan(tag, str(net), str(net[1]), f"{tag}c", topology.host_rate, topology.rack_uplink_rate, racks, hosts)


def _burst(rate: str) -> str:
    """A tbf bucket big enough for the rate at a 4 ms timer tick, and at least a few full frames."""
    return str(max(32 * 1024, rate_bits(rate) // 8 // 250))


def _shape(dev: str, rate: str, namespace: str | None = None) -> None:
    where = ["-n", namespace] if namespace else []
    _run("tc", *where, "qdisc", "replace", "dev", dev, "root", "tbf", "rate", rate, "burst", _burst(rate),
         "latency", "100ms")


def _no_ipv6(dev: str) -> None:
    """Keep IPv6 autoconfiguration chatter off the counted links."""
    path = Path(f"/proc/sys/net/ipv6/conf/{dev}/disable_ipv6")
    if path.exists():
        path.write_text("1")


def _bridge(name: str, arp: bool = True) -> None:
    """A bridge; a rack bridge gets `arp off`, else the root namespace would answer ARP for the gateway
    on it and hand the rack's traffic to the driver directly, around the (shaped, counted) uplink."""
    _run("ip", "link", "add", name, "type", "bridge", "stp_state", "0", "forward_delay", "0")
    _no_ipv6(name)
    _run("ip", "link", "set", name, *([] if arp else ["arp", "off"]), "up")


class Testbed:
    """Build, count and remove the namespaces, bridges, veth pairs and qdiscs of one state directory."""

    __test__ = False  # not a pytest class, despite the name

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.tag = tag_for(self.state_dir)

    @property
    def plan_file(self) -> Path:
        return self.state_dir / PLAN_FILE

    def plan(self) -> Plan | None:
        try:
            return Plan.from_json(json.loads(self.plan_file.read_text()))
        except (OSError, ValueError, TypeError, AttributeError):  # not ours, or torn
            return None

    def up(self, workers: int, topology: Topology) -> Plan:
        """Make the network; on any failure remove what was made and raise."""
        require_tools()
        self.down()
        plan = make_plan(self.state_dir, workers, topology)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.plan_file.write_text(json.dumps(plan.to_json(), indent=2))
        try:
            self._build(plan)
        except BaseException:
            self.down()
            raise
        return plan

    def _build(self, plan: Plan) -> None:
        prefix = ipaddress.ip_network(plan.subnet).prefixlen
        _bridge(plan.core_bridge)
        _run("ip", "addr", "add", f"{plan.gateway}/{prefix}", "dev", plan.core_bridge)
        for rack in plan.racks:
            _bridge(rack.bridge, arp=False)
            _run("ip", "link", "add", rack.uplink_rack_end, "type", "veth", "peer", "name", rack.uplink_core_end)
            for end, bridge in ((rack.uplink_rack_end, rack.bridge), (rack.uplink_core_end, plan.core_bridge)):
                _no_ipv6(end)
                _run("ip", "link", "set", end, "master", bridge, "up")
                _shape(end, plan.rack_uplink_rate)
        bridges = {rack.name: rack.bridge for rack in plan.racks}
        for host in plan.hosts:
            _run("ip", "netns", "add", host.namespace)
            _run("ip", "link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", host.namespace)
            _no_ipv6(host.link)
            _run("ip", "link", "set", host.link, "master", bridges[host.rack], "up")
            _shape(host.link, plan.host_rate)
            ns = ["ip", "-n", host.namespace]
            _run("ip", "netns", "exec", host.namespace, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1")
            _run(*ns, "addr", "add", f"{host.address}/{prefix}", "dev", "eth0")
            _run(*ns, "link", "set", "lo", "up")
            _run(*ns, "link", "set", "eth0", "up")
            _shape("eth0", plan.host_rate, host.namespace)

    def down(self) -> list[str]:
        """Remove every namespace and link carrying this testbed's tag (idempotent). Returns what it removed."""
        removed = []
        # Veth pairs first (deleting one end deletes its peer, in the namespace too, and their qdiscs),
        # bridges next, namespaces last: deleting a namespace with a veth in it frees the veth only later.
        links = sorted(_links(self.tag), key=lambda name: name == f"{self.tag}c" or name[len(self.tag)] == "r")
        for link in links:
            if link in _links(self.tag):
                _quiet("ip", "link", "del", link)
                removed.append(f"link {link}")
        for ns in _namespaces():
            if ns.startswith(f"{self.tag}-"):
                _quiet("ip", "netns", "del", ns)
                removed.append(f"netns {ns}")
        self.plan_file.unlink(missing_ok=True)
        return removed

    def leftovers(self) -> list[str]:
        """Namespaces and links of this tag that still exist (empty after `down`)."""
        return [f"netns {ns}" for ns in _namespaces() if ns.startswith(f"{self.tag}-")] + [
            f"link {link}" for link in _links(self.tag)
        ]

    def links(self) -> list[dict[str, Any]]:
        """Bytes each host link and rack uplink carried, from the kernel's counters, seen from the host or rack.

        `sent` is what the host (rack) sent out, `received` what it took in; for a
        rack uplink that is exactly the rack's cross-rack traffic (including to and
        from the driver and master, which sit on the core bridge).
        """
        plan = self.plan()
        if plan is None:
            return []
        rows = []
        for rack in plan.racks:
            rows.append({"kind": "rack_uplink", "name": rack.name, "interface": rack.uplink_rack_end,
                         "rate": plan.rack_uplink_rate, "sent": _counter(rack.uplink_rack_end, "tx_bytes"),
                         "received": _counter(rack.uplink_rack_end, "rx_bytes")})
        for host in plan.hosts:
            rows.append({"kind": "host_link", "name": host.address, "rack": host.rack, "interface": host.link,
                         "rate": plan.host_rate, "sent": _counter(host.link, "rx_bytes"),
                         "received": _counter(host.link, "tx_bytes")})
        return rows


def cross_rack_bytes(links: list[dict[str, Any]]) -> int:
    """Bytes that crossed any rack uplink, both directions."""
    return sum(row["sent"] + row["received"] for row in links if row["kind"] == "rack_uplink")


def link_delta(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Counters of `after` minus `before`, row by row (the traffic of what ran in between)."""
    start = {(row["kind"], row["name"]): row for row in before}
    out = []
    for row in after:
        base = start.get((row["kind"], row["name"]), {"sent": 0, "received": 0})
        out.append({**row, "sent": row["sent"] - base["sent"], "received": row["received"] - base["received"]})
    return out


def _counter(dev: str, name: str) -> int:
    try:
        return int(Path(f"/sys/class/net/{dev}/statistics/{name}").read_text())
    except (OSError, ValueError):
        return 0


def _namespaces() -> list[str]:
    proc = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def _links(tag: str) -> list[str]:
    """Interfaces in the root namespace whose name starts with the tag."""
    proc = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True)
    names = [line.split(":")[1].strip().split("@")[0] for line in proc.stdout.splitlines() if ":" in line]
    return [name for name in names if name.startswith(tag)]


class ShapedCluster(LocalCluster):
    """The local standalone cluster on the shaped testbed: master and driver on the gateway, workers in namespaces.

    It reuses LocalCluster's start, registration, pid files and stop; only where
    hosts live changes (the hooks). `down` stops the processes, then removes the network.
    """

    def __init__(self, state_dir: str | Path | None = None) -> None:
        super().__init__(state_dir)
        self.testbed = Testbed(self.state_dir)
        plan = self.testbed.plan()
        self.master_host = plan.gateway if plan else "127.0.0.1"

    def up(
        self, workers: int = 3, cores: int = 1, memory: str = "1g", topology: Topology | None = None
    ) -> ClusterState:
        """As LocalCluster.up; a loopback cluster running from the same state dir is stopped first."""
        if self.read_state() is not None and self.testbed.plan() is None:
            self.down()
        return super().up(workers=workers, cores=cores, memory=memory, topology=topology)

    def _prepare(self, workers: int, topology: Topology) -> None:
        plan = self.testbed.up(workers, topology)
        self.master_host = plan.gateway

    def _plan(self) -> Plan:
        plan = self.testbed.plan()
        if plan is None:
            raise ClusterError(f"no shaped testbed in {self.state_dir}; run `spark-sched cluster up --shaped`")
        return plan

    def _worker_hosts(self, workers: int) -> list[str]:
        return [host.address for host in self._plan().hosts]

    def _worker_ports(self, host: str) -> tuple[int, int]:
        return WORKER_PORT, WORKER_WEBUI_PORT  # each namespace has its own, empty, port space

    def _rack(self, topology: Topology, host: str, index: int, total: int) -> str:
        return self._plan().hosts[index].rack

    def _launch_prefix(self, name: str) -> list[str]:
        if not name.startswith("worker-"):
            return []
        index = int(name.split("-", 1)[1])
        return ["ip", "netns", "exec", self._plan().hosts[index - 1].namespace]

    def _release(self) -> None:
        self.testbed.down()

    def links(self) -> list[dict[str, Any]]:
        return self.testbed.links()


def is_shaped(state_dir: str | Path) -> bool:
    """True when the cluster in `state_dir` was started with `--shaped` (its plan file exists)."""
    return (Path(state_dir) / PLAN_FILE).is_file()
