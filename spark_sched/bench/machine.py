"""The machine's state, recorded with every result (pyperf's practice): versions, load, other work.

A figure measured while something else used the cores is not the figure the
bench claims. The 1-minute load average is recorded before and after every run,
but it counts the bench's own Spark JVMs too and lags by a minute; what decides
`noisy` is the load *of other processes*: the CPU time the whole machine spent
minus what this process and its descendants spent (their reaped children
included), in busy cores over the run. Read from /proc at run boundaries only,
so measuring it costs nothing while a run is timed.
"""

from __future__ import annotations

import math
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spark_sched import procfs

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
QUIET_WINDOW_S = 5.0
QUIET_POLL_S = 1.0
MIN_PROBE_S = 1.0  # CPU time is counted in clock ticks (10 ms): a shorter window cannot give a load


def cores() -> int:
    return os.cpu_count() or 1


def noisy_threshold() -> float:
    """Other processes' load above half the cores makes a run noisy."""
    return cores() / 2


def own_pids(root: int | None = None) -> set[int]:
    """This process and every live descendant (clusters, executors, Python workers it started)."""
    root = os.getpid() if root is None else root
    return {root} | procfs.descendants(root)


def own_cpu_seconds() -> float:
    """CPU seconds this process and its descendants used so far, reaped ones included."""
    return procfs.cpu_ticks(own_pids()) / CLOCK_TICKS


def _machine_busy_ticks() -> int:
    """All CPUs' non-idle time (user, nice, system, irq, softirq, steal) from /proc/stat."""
    parts = (procfs.PROC / "stat").read_text().splitlines()[0].split()[1:]
    values = [int(p) for p in parts]
    return sum(values[:3]) + sum(values[5:8])


@dataclass
class LoadProbe:
    """Busy cores of other processes between `start()` and `stop()`."""

    started_at: float = 0.0
    busy0: int = 0
    own0: int = 0
    pids0: set[int] = field(default_factory=set)

    def start(self) -> LoadProbe:
        self.pids0 = own_pids()
        self.started_at, self.busy0, self.own0 = time.monotonic(), _machine_busy_ticks(), procfs.cpu_ticks(self.pids0)
        return self

    def stop(self) -> float:
        """Other processes' busy cores since `start()`; NaN for a window too short to tell."""
        elapsed = time.monotonic() - self.started_at
        if elapsed < MIN_PROBE_S:
            return math.nan
        pids = own_pids() | {p for p in self.pids0 if procfs.stat_fields(p) is not None}
        # descendants that ended and were reaped by us or by a descendant are in a live process's cutime
        own = procfs.cpu_ticks(pids) - self.own0
        others = (_machine_busy_ticks() - self.busy0) - own
        return max(0.0, others / CLOCK_TICKS / elapsed)


def others_load(seconds: float) -> float:
    """Busy cores of other processes over the next `seconds`."""
    probe = LoadProbe().start()
    time.sleep(seconds)
    return probe.stop()


def wait_until_quiet(timeout_s: float, say: Callable[[str], None], window_s: float = QUIET_WINDOW_S) -> tuple[
        bool, float]:
    """Wait until other processes' load over `window_s` is at most half the cores; (quiet, seconds waited).

    Past `timeout_s` it gives up and says so: the run goes on and is marked noisy.
    """
    started = time.monotonic()
    window_s = min(window_s, max(timeout_s, 1.0))  # asked not to wait: one short look, to record the state
    told = False
    while True:
        load = others_load(window_s)
        waited = time.monotonic() - started
        if load <= noisy_threshold():
            return True, waited
        if waited >= timeout_s:
            say(f"spark-sched bench: the machine is still busy after {waited:.0f} s (other processes' load "
                f"{load:.2f} > {noisy_threshold():g}); running anyway, the result is marked noisy")
            return False, waited
        if not told:
            say(f"spark-sched bench: waiting for the machine to be quiet (other processes' load {load:.2f} > "
                f"{noisy_threshold():g} cores), at most {timeout_s:.0f} s")
            told = True
        time.sleep(QUIET_POLL_S)


def spark_jvms(exclude: set[int] | None = None) -> int:
    """Running Spark JVMs not started by this process (read from /proc; nothing is signalled)."""
    exclude = own_pids() if exclude is None else exclude
    count = 0
    for pid in procfs.pids():
        line = "" if pid in exclude else procfs.cmdline(pid)
        if "java" in line and "org.apache.spark" in line:
            count += 1
    return count


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state(root: Path | None = None) -> dict[str, Any]:
    """The commit the toolkit ran from and whether its tree had uncommitted changes (None outside git)."""
    root = root or Path(__file__).resolve().parents[2]
    commit = _git(root, "rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status)}


def java_version() -> str | None:
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "([^"]+)"', done.stderr + done.stdout)
    return match.group(1) if match else None


def static_state() -> dict[str, Any]:
    """What does not change during a bench: versions, cores, the commit."""
    import pyspark

    return {**git_state(), "cores": cores(), "python": platform.python_version(), "java": java_version(),
            "spark": pyspark.__version__, "platform": sys.platform}


@dataclass
class MachineLog:
    """The machine's state over one bench: per run the load before/after and other processes' load."""

    static: dict[str, Any] = field(default_factory=dict)
    spark_jvms_at_start: int = 0
    quiet: bool = True
    quiet_wait_s: float = 0.0
    lock: str = "exclusive"
    load_before: list[float] = field(default_factory=list)
    load_after: list[float] = field(default_factory=list)
    others: list[float] = field(default_factory=list)
    run_order: list[tuple[str, int]] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    _probe: LoadProbe | None = None

    def before_run(self, variant: str, repetition: int) -> None:
        self.run_order.append((variant, repetition))
        self.load_before.append(round(os.getloadavg()[0], 2))
        self._probe = LoadProbe().start()

    def after_run(self) -> None:
        self.load_after.append(round(os.getloadavg()[0], 2))
        self.others.append(round(self._probe.stop(), 3) if self._probe else math.nan)
        self._probe = None

    def noisy_reasons(self) -> list[str]:
        reasons = []
        if not self.quiet:
            reasons.append(f"the machine did not get quiet within {self.quiet_wait_s:.0f} s")
        if self.lock != "exclusive":
            reasons.append(f"no exclusive bench lock ({self.lock})")
        if self.spark_jvms_at_start:
            reasons.append(f"{self.spark_jvms_at_start} other Spark JVM(s) running at start")
        loud = [i for i, load in enumerate(self.others) if load > noisy_threshold()]  # NaN compares False
        if loud:
            worst = max(self.others[i] for i in loud)
            reasons.append(f"{len(loud)} of {len(self.others)} runs with other processes' load above "
                           f"{noisy_threshold():g} (max {worst:.2f})")
        return reasons

    def to_json(self) -> dict[str, Any]:
        reasons = self.noisy_reasons()
        return {**self.static, "load_before": self.load_before, "load_after": self.load_after,
                "others_load": self.others, "run_order": [list(r) for r in self.run_order],
                "spark_jvms_at_start": self.spark_jvms_at_start, "quiet_wait_s": round(self.quiet_wait_s, 1),
                "lock": self.lock, "noisy": bool(reasons), "noisy_reasons": reasons,
                "wall_s": round(time.time() - self.started, 1)}
