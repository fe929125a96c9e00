"""Session-end check: nothing the toolkit started during the test run outlives it.

After the last test (and every fixture's teardown), the run fails if any of these remain:

* a process descended from this pytest process (JVMs of clusters, spark-submit,
  Python workers), except pyspark's own gateway JVM, which exits with this process
  when its stdin closes;
* a process carrying a cluster marker (`-Dspark-sched.cluster=<dir>`) whose state
  directory lies in this run's temporary directory, even one reparented away;
* a network namespace, link (veth, bridge) or tc qdisc whose name carries the tag
  of a cluster state directory of this run (`testbed.tag_for`);
* a toolkit container (image `spark-sched*`) that appeared while the suite ran.

Only this run's own leftovers count (its process tree, its temp directory's tags),
so other sessions on a shared machine neither trip it nor get touched: it reports,
it never kills. Leftovers get a few seconds to go (polled) before they count.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from spark_sched.procfs import cmdline, descendants, parents, process_alive
from spark_sched.testbed import tag_for

MARKER = "-Dspark-sched.cluster="
GRACE_S = 10.0
_containers_before: set[str] = set()


def process_leftovers(basetemp: Path, root: int, spared: set[int]) -> list[str]:
    """Live processes of this run: below `root` (minus `spared` subtrees), or marked with a cluster dir in basetemp."""
    parent_of = parents()
    spared_all = set(spared).union(*(descendants(pid, parent_of) for pid in spared))
    pids = descendants(root, parent_of) - spared_all
    prefix = f"{MARKER}{basetemp.resolve()}"
    pids |= {pid for pid in parent_of if prefix in cmdline(pid)}
    return [f"process {pid}: {cmdline(pid)[:160]}" for pid in sorted(pids) if process_alive(pid)]


def _run(*args: str) -> str:
    try:
        done = subprocess.run(list(args), capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def run_tags(basetemp: Path) -> set[str]:
    """Testbed tags of every cluster state directory this run made (each holds its `secret` after `up`)."""
    return {tag_for(secret.parent) for secret in basetemp.rglob("secret") if secret.is_file()}


def network_leftovers(tags: set[str]) -> list[str]:
    """Namespaces, links and qdiscs named with one of `tags` (empty where iproute2 is missing)."""
    if not tags or shutil.which("ip") is None:
        return []
    found = []
    for line in _run("ip", "netns", "list").splitlines():
        name = line.split()[0] if line.strip() else ""
        if any(name.startswith(f"{tag}-") for tag in tags):
            found.append(f"netns {name}")
    for line in _run("ip", "-o", "link", "show").splitlines():
        if ":" in line:
            name = line.split(":")[1].strip().split("@")[0]
            if any(name.startswith(tag) for tag in tags):
                found.append(f"link {name}")
    if shutil.which("tc") is not None:
        for line in _run("tc", "qdisc", "show").splitlines():
            words = line.split()
            dev = words[words.index("dev") + 1] if "dev" in words else ""
            if any(dev.startswith(tag) for tag in tags):
                found.append(f"tc qdisc on {dev}")
    return found


def toolkit_containers() -> set[str]:
    """Running containers of a spark-sched image, when a Docker engine answers (else none)."""
    if shutil.which("docker") is None:
        return set()
    out = _run("docker", "ps", "--format", "{{.ID}} {{.Image}} {{.Names}}")
    return {line for line in out.splitlines() if line.split(" ")[1:2] and line.split(" ")[1].startswith("spark-sched")}


def _gateway_pids() -> set[int]:
    """pyspark's gateway JVM of this process: it lives as long as the interpreter, by design."""
    try:
        from pyspark import SparkContext
    except ImportError:
        return set()
    gateway = SparkContext._gateway
    proc = getattr(gateway, "proc", None) if gateway is not None else None
    return {proc.pid} if proc is not None else set()


def leftovers(basetemp: Path) -> list[str]:
    found = process_leftovers(basetemp, os.getpid(), _gateway_pids())
    found += network_leftovers(run_tags(basetemp))
    found += [f"container {c}" for c in sorted(toolkit_containers() - _containers_before)]
    return found


def pytest_sessionstart(session: pytest.Session) -> None:
    _containers_before.update(toolkit_containers())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when this run left something behind (after a grace period for processes still exiting)."""
    if os.environ.get("SPARK_SCHED_LEAK_CHECK", "1") == "0":
        return
    basetemp = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    deadline = time.monotonic() + GRACE_S
    found = leftovers(basetemp)
    while found and time.monotonic() < deadline:
        time.sleep(0.5)
        found = leftovers(basetemp)
    if not found:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = ["spark-sched leak check: left behind after the run:", *(f"  {item}" for item in found)]
    if reporter is not None:
        reporter.write_line("\n".join(lines), red=True)
    else:
        print("\n".join(lines))
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
