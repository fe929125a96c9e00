"""The session-end leak check finds what it must (and only this run's): a check that cannot fail proves nothing."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from leakcheck import network_leftovers, process_leftovers, run_tags

from spark_sched.cluster import process_alive
from spark_sched.testbed import tag_for

SLEEPER = "import time; time.sleep(120)"


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def test_finds_a_child_process_and_spares_the_gateway(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", SLEEPER])
    try:
        assert any(f"process {child.pid}:" in item for item in process_leftovers(tmp_path, os.getpid(), set()))
        spared = process_leftovers(tmp_path, os.getpid(), {child.pid})
        assert not any(f"process {child.pid}:" in item for item in spared)
    finally:
        child.kill()
        child.wait()
    assert not any(f"process {child.pid}:" in item for item in process_leftovers(tmp_path, os.getpid(), set()))


def test_finds_a_reparented_daemon_by_its_cluster_marker(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A daemon whose parent exited is no descendant any more; its marker still names this run's state dir."""
    basetemp = tmp_path_factory.getbasetemp()
    marker = f"-Dspark-sched.cluster={(tmp_path / 'cluster').resolve()}"
    spawn = (
        "import subprocess, sys; "
        f"p = subprocess.Popen([sys.executable, '-c', {SLEEPER!r}, {marker!r}], start_new_session=True, "
        "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(p.pid)"
    )
    pid = int(subprocess.run([sys.executable, "-c", spawn], capture_output=True, text=True, check=True).stdout)
    try:
        assert process_alive(pid)
        no_lineage = -1  # a root with no descendants: the daemon must be found by its marker alone
        assert any(f"process {pid}:" in item for item in process_leftovers(basetemp, no_lineage, set()))
        other_run = tmp_path / "another-run"
        other_run.mkdir()
        assert not any(f"process {pid}:" in item for item in process_leftovers(other_run, no_lineage, set()))
    finally:
        _kill(pid)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2")
def test_finds_a_namespace_tagged_with_this_runs_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "cluster"
    state.mkdir()
    (state / "secret").write_text("x")
    tag = tag_for(state)
    assert run_tags(tmp_path) == {tag}
    namespace = f"{tag}-w1"
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    try:
        assert f"netns {namespace}" in network_leftovers({tag})
        assert f"netns {namespace}" not in network_leftovers({"ss0000" if tag != "ss0000" else "ss0001"})
    finally:
        subprocess.run(["ip", "netns", "del", namespace], check=False)
    assert f"netns {namespace}" not in network_leftovers({tag})
