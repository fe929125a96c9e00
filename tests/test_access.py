"""Access: the cluster's secret stays secret, the UI stays on loopback and read-only, ACLs come from settings.

That an application without the secret cannot register is tested where the
cluster is (`test_cluster.py::test_application_without_secret_is_refused`);
here: where the secret must never show up once an authenticated application has
run (logs, event log, reports, JSON, CSV, command lines any local user can read),
what `[access]` turns into, and that no user-supplied string reaches a shell.
"""

from __future__ import annotations

import ast
import contextlib
import ipaddress
import json
import os
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import holds_within
from pyspark.sql import SparkSession

from spark_sched import configure, load_settings
from spark_sched.cli.main import cli
from spark_sched.cluster import DAEMON_PROPERTIES, ClusterState, LocalCluster
from spark_sched.session import spark_conf

REPO = Path(__file__).resolve().parent.parent
SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output"}
SHELL_CALLS = {("os", "system"), ("os", "popen"), ("subprocess", "getoutput"), ("subprocess", "getstatusoutput")}


def _python_files() -> list[Path]:
    return sorted([*(REPO / "spark_sched").rglob("*.py"), *(REPO / "jobs").rglob("*.py")])


def test_no_user_string_reaches_a_shell() -> None:
    """No `shell=True`, no os.system/popen, and every subprocess call gets an argument list, not a command string."""
    found = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            owner = node.func.value.id if isinstance(node.func.value, ast.Name) else ""
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            if (owner, node.func.attr) in SHELL_CALLS:
                found.append(f"{where}: {owner}.{node.func.attr}")
            if owner == "subprocess" and node.func.attr in SUBPROCESS_CALLS:
                if any(k.arg == "shell" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                       for k in node.keywords):
                    found.append(f"{where}: shell=")
                if node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr, ast.BinOp)):
                    found.append(f"{where}: a command string")
    assert not found, found
    assert "shell=True" not in "".join(p.read_text(encoding="utf-8") for p in _python_files())


def test_access_settings_become_spark_conf(tmp_path: Path) -> None:
    base = load_settings().replace(state_dir=tmp_path, master="local[2]")
    conf = spark_conf(base)
    assert conf["spark.ui.killEnabled"] == "false" and conf["spark.acls.enable"] == "false"
    assert "spark.admin.acls" not in conf
    opened = base.replace(
        ui_kill_enabled=True, acls_enable=True, admin_acls=["ops"], modify_acls=["alice", "bob"], view_acls=["*"]
    )
    conf = spark_conf(opened)
    assert conf["spark.ui.killEnabled"] == "true"
    assert conf["spark.acls.enable"] == "true" and conf["spark.admin.acls"] == "ops"
    assert conf["spark.modify.acls"] == "alice,bob" and conf["spark.ui.view.acls"] == "*"


def _listening(port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Local addresses listening on `port`, from the kernel's socket tables (IPv4 and IPv6)."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                    continue
                raw = bytes.fromhex(address)  # 32-bit words in host (little-endian) order
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.append(ipaddress.ip_address(words))
    return found


def _loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)




def test_ui_on_loopback_read_only_with_acls(make_spark: Callable[..., SparkSession]) -> None:
    """A session with ACLs from settings: UI bound to 127.0.0.1 only, ACLs in its conf, the kill endpoint refused."""
    spark = make_spark(acls_enable=True, admin_acls=["ops"], modify_acls=["alice"], app_name="access-ui")
    sc = spark.sparkContext
    assert sc.getConf().get("spark.acls.enable") == "true" and sc.getConf().get("spark.admin.acls") == "ops"
    assert sc.getConf().get("spark.ui.killEnabled") == "false"
    ui = sc.uiWebUrl
    assert ui is not None and ui.startswith("http://127.0.0.1:")
    listening = _listening(int(ui.rsplit(":", 1)[1]))
    assert listening and all(_loopback(address) for address in listening), listening

    done: dict[str, object] = {}

    def slow_job() -> None:
        sc.setJobGroup("access-slow", "sleeps")
        try:
            done["result"] = sc.parallelize(range(2), 2).map(lambda x: (time.sleep(3), x)[1]).sum()
        except Exception as exc:  # noqa: BLE001 - the thread reports what happened
            done["error"] = exc

    worker = threading.Thread(target=slow_job)
    worker.start()
    try:
        assert holds_within(lambda: bool(sc.statusTracker().getJobIdsForGroup("access-slow")), 60)
        job = sc.statusTracker().getJobIdsForGroup("access-slow")[0]
        request = urllib.request.Request(f"{ui}/jobs/job/kill/?id={job}", method="POST", data=b"")
        with contextlib.suppress(urllib.error.HTTPError):  # Spark may answer 404/405 or a page; the job is what counts
            urllib.request.urlopen(request, timeout=10).close()
    finally:
        worker.join(timeout=120)
    assert done.get("result") == 1, done  # the job ran to the end: the UI's kill did nothing


def _files_holding(root: Path, secret: bytes, skip: set[Path]) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and p not in skip and secret in p.read_bytes()]


def _cmdlines_holding(secret: bytes) -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if secret in f.read():
                        found.append(entry)
            except OSError:
                continue
    return found


@pytest.mark.cluster
def test_secret_never_leaks(
    local_cluster_3: tuple[LocalCluster, ClusterState],
    cluster_dir: Path,
    tmp_path: Path,
) -> None:
    """After an authenticated app ran on the cluster and was reported on, the secret is only in its 0600 files."""
    cluster, state = local_cluster_3
    secret = (cluster.secret() or "").encode()
    assert len(secret) >= 32
    for private in (cluster.secret_file, cluster.state_dir / DAEMON_PROPERTIES):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
    builder = configure(SparkSession.builder, load_settings(), master=state.master, state_dir=cluster_dir,
                        app_name="access-secret")
    spark = builder.getOrCreate()
    try:
        assert spark.sparkContext.parallelize(range(100), 6).map(lambda x: x * x).sum() == 328350
        assert not _cmdlines_holding(secret), "the secret is on a command line any local user can read"
        app_id = spark.sparkContext.applicationId
    finally:
        spark.stop()

    events = cluster_dir / "events"
    log = next(p for p in events.iterdir() if app_id in p.name)
    runner = CliRunner()
    outputs = [
        runner.invoke(cli, ["report", str(log)]),
        runner.invoke(cli, ["report", str(log), "--json", "--csv", str(tmp_path / "csv")]),
        runner.invoke(cli, ["cluster", "status", "--json", "--state-dir", str(cluster.state_dir)]),
    ]
    assert all(r.exit_code == 0 for r in outputs), [r.output for r in outputs]
    assert json.loads(outputs[1].stdout)  # the JSON report is there, and below: free of the secret
    assert not [r.output for r in outputs if secret.decode() in r.output]
    private = {cluster.secret_file, cluster.state_dir / DAEMON_PROPERTIES}
    assert not _files_holding(cluster_dir, secret, private), "logs, work dirs, event log"
    assert not _files_holding(tmp_path, secret, set()), "CSV"


FIRST_SESSION = """
import sys
from pyspark.sql import SparkSession
from spark_sched import configure, load_settings
spark = configure(SparkSession.builder, load_settings(), master=sys.argv[1], state_dir=sys.argv[2],
                  app_name="access-first").getOrCreate()
assert spark.sparkContext.parallelize(range(10), 2).sum() == 45
with open(f"/proc/{spark.sparkContext._gateway.proc.pid}/cmdline", "rb") as f:
    print("secret on command line" if open(sys.argv[3], "rb").read().strip() in f.read() else "command line clean")
spark.stop()
"""


@pytest.mark.cluster
def test_first_session_keeps_secret_off_the_jvm_command_line(
    local_cluster_3: tuple[LocalCluster, ClusterState], cluster_dir: Path
) -> None:
    """pyspark puts builder options on its JVM's command line; a process's first cluster session must not."""
    cluster, state = local_cluster_3
    done = subprocess.run(
        [sys.executable, "-c", FIRST_SESSION, state.master, str(cluster_dir), str(cluster.secret_file)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("command line clean")
