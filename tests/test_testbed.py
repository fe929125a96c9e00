"""The shaped testbed: real namespaces, veth pairs and tc on this machine (root and iproute2 needed).

Bytes are moved with plain sockets between processes started inside the
worker namespaces, so the test checks the network itself: a cross-rack
transfer is held to the rack uplink's rate and shows up on its counters, a
transfer within one host does neither, and `down` leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from spark_sched.errors import ClusterError
from spark_sched.testbed import Plan, Testbed, link_delta, rate_bits
from spark_sched.topology import Topology

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("tc") is None,
    reason="the shaped testbed needs root and iproute2 (ip, tc)",
)

PAYLOAD = 2 << 20  # 2 MiB
UPLINK = "16mbit"  # about 1 s for the payload across racks
PORT = 45011

RECEIVER = """
import socket, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2]))); srv.listen(1)
print("ready", flush=True)
conn, _ = srv.accept(); left = int(sys.argv[3])
while left > 0:
    chunk = conn.recv(1 << 16)
    if not chunk:
        break
    left -= len(chunk)
conn.sendall(b"k"); conn.close()
"""

SENDER = """
import socket, sys, time
conn = socket.create_connection((sys.argv[1], int(sys.argv[2])))
start = time.perf_counter(); conn.sendall(b"x" * int(sys.argv[3])); conn.recv(1)
print(time.perf_counter() - start)
"""


def _netns_python(namespace: str, script: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", namespace, sys.executable, "-c", script, *args]


def transfer(plan: Plan, src: int, dst: int) -> float:
    """Seconds to move PAYLOAD from host `src` to host `dst` (1-based), sender's clock, ack included."""
    to = plan.hosts[dst - 1]
    receiver = subprocess.Popen(
        _netns_python(to.namespace, RECEIVER, to.address, str(PORT), str(PAYLOAD)), stdout=subprocess.PIPE, text=True
    )
    try:
        assert receiver.stdout is not None and receiver.stdout.readline().strip() == "ready"
        out = subprocess.run(
            _netns_python(plan.hosts[src - 1].namespace, SENDER, to.address, str(PORT), str(PAYLOAD)),
            capture_output=True, text=True, timeout=120, check=True,
        )
        assert receiver.wait(timeout=60) == 0
        return float(out.stdout.strip())
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()


@pytest.fixture(scope="module")
def testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Testbed, Plan]]:
    bed = Testbed(tmp_path_factory.mktemp("testbed") / "cluster")
    topology = Topology(racks=2, host_rate="1gbit", rack_uplink_rate=UPLINK, source="test")
    try:
        yield bed, bed.up(3, topology)
    finally:
        bed.down()


def _row(links: list[dict], kind: str, name: str) -> dict:
    return next(row for row in links if row["kind"] == kind and row["name"] == name)


def test_plan_places_hosts_in_racks_with_private_addresses(testbed: tuple[Testbed, Plan]) -> None:
    _, plan = testbed
    assert [h.rack for h in plan.hosts] == ["r1", "r1", "r2"]
    assert all(h.address.startswith(("198.18.", "198.19.")) for h in plan.hosts)
    routes = subprocess.run(["ip", "-n", plan.hosts[0].namespace, "route"], capture_output=True, text=True).stdout
    assert "default" not in routes and plan.subnet in routes


def test_cross_rack_bytes_are_slow_and_counted_within_host_are_neither(testbed: tuple[Testbed, Plan]) -> None:
    bed, plan = testbed
    before = bed.links()
    local_s = transfer(plan, 1, 1)
    after_local = bed.links()
    cross_s = transfer(plan, 3, 1)
    after_cross = bed.links()

    local = link_delta(before, after_local)
    cross = link_delta(after_local, after_cross)
    # Within one host the bytes never touch a link.
    assert all(row["sent"] + row["received"] < PAYLOAD // 4 for row in local)
    # Across racks they leave r2's uplink, enter r1's, and arrive on host 1's link.
    assert _row(cross, "rack_uplink", "r2")["sent"] >= PAYLOAD
    assert _row(cross, "rack_uplink", "r1")["received"] >= PAYLOAD
    assert _row(cross, "host_link", plan.hosts[0].address)["received"] >= PAYLOAD
    assert _row(cross, "host_link", plan.hosts[1].address)["received"] < PAYLOAD // 4
    # The uplink's rate bounds the transfer from below (generous: half the ideal time), and it is far slower.
    assert cross_s >= 0.5 * PAYLOAD * 8 / rate_bits(UPLINK)
    assert cross_s > 3 * local_s


def test_links_cli_reports_the_counters(testbed: tuple[Testbed, Plan]) -> None:
    from click.testing import CliRunner

    from spark_sched.cli.main import cli

    bed, plan = testbed
    result = CliRunner().invoke(cli, ["cluster", "links", "--json", "--state-dir", str(bed.state_dir)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {(r["kind"], r["name"]) for r in data["links"]} == {
        *(("rack_uplink", r.name) for r in plan.racks),
        *(("host_link", h.address) for h in plan.hosts),
    }
    uplinks = [r for r in data["links"] if r["kind"] == "rack_uplink"]
    assert data["cross_rack_bytes"] == sum(r["sent"] + r["received"] for r in uplinks)


def test_failed_up_removes_what_it_made(tmp_path: Path) -> None:
    bed = Testbed(tmp_path / "cluster")
    # tc refuses a zero rate, so building fails at the first shaped link, after bridges and a veth exist.
    with pytest.raises(ClusterError, match="tc"):
        bed.up(2, Topology(racks=1, host_rate="1gbit", rack_uplink_rate="0bit", source="test"))
    assert bed.leftovers() == []
    assert not bed.plan_file.exists()


def test_down_leaves_no_namespace_or_link(tmp_path: Path) -> None:
    bed = Testbed(tmp_path / "cluster")
    plan = bed.up(2, Topology(racks=2, source="test"))
    assert len(bed.leftovers()) > 0
    bed.down()
    assert bed.leftovers() == []
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert all(h.namespace not in namespaces for h in plan.hosts)
    assert not Path(f"/sys/class/net/{plan.core_bridge}").exists()
