"""Judging targets: verdicts on paired samples whose answer is known, adaptive repetitions, the noisy mark, the lock."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import wait_until

from spark_sched.bench.base import BenchContext, TargetSpec
from spark_sched.bench.harness import run_experiment
from spark_sched.bench.lock import LOCK_ENV, TEST_SESSION_ENV
from spark_sched.bench.machine import cores, others_load, own_cpu_seconds, own_pids
from spark_sched.bench.stats import judge, median_interval, verdict

FASTER = TargetSpec("new / old", "<=", 1.0, "new", "ms", baseline="old")


def _runs(old: list[float], new: list[float]) -> dict[str, list[dict[str, float]]]:
    return {"old": [{"ms": v} for v in old], "new": [{"ms": v} for v in new]}


def test_clearly_better_is_met() -> None:
    runs = _runs([100, 104, 98, 101, 99, 103, 100], [70, 73, 69, 71, 72, 70, 74])
    target = judge(FASTER, FASTER.values(runs))
    assert target.verdict == "met" and target.ci95[1] < 1.0 and target.n == 7
    assert target.worst == max(FASTER.values(runs))  # the worst repetition of a "<=" target is its largest ratio


def test_clearly_worse_is_missed() -> None:
    runs = _runs([100, 104, 98, 101, 99], [130, 128, 135, 131, 129])
    target = judge(FASTER, FASTER.values(runs))
    assert target.verdict == "missed" and target.ci95[0] > 1.0 and not target.met


def test_a_tie_is_inconclusive() -> None:
    runs = _runs([100, 100, 100, 100, 100, 100], [95, 106, 99, 103, 97, 102])
    target = judge(FASTER, FASTER.values(runs))
    assert target.verdict == "inconclusive" and target.ci95[0] < 1.0 < target.ci95[1]


def test_ratios_are_paired_by_repetition_and_skip_missing() -> None:
    runs = {"old": [{"ms": 10}, {"ms": 20}, {"ms": float("nan")}], "new": [{"ms": 5}, {"ms": 30}, {"ms": 7}]}
    assert FASTER.values(runs) == [0.5, 1.5]
    scaled = TargetSpec("read", "<=", 1.05, "new", "ms", baseline="old", scale=0.5)
    assert scaled.values(runs) == [1.0, 3.0]
    at_least = TargetSpec("local", ">=", 0.95, "new", "ms")
    assert at_least.worst(at_least.values(runs)) == 5


def test_interval_and_verdict_edges() -> None:
    assert median_interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    median, low, high = median_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    assert median == 3.0 and 1.0 <= low < 3.0 < high <= 5.0
    assert median_interval([1.0, 5.0, 9.0]) == median_interval([1.0, 5.0, 9.0])  # seeded: repeatable
    assert verdict(0.9, 1.0, "<=", 1.0) == "met" and verdict(1.01, 2, "<=", 1.0) == "missed"
    assert verdict(0.95, 1.2, ">=", 0.95) == "met" and verdict(0.5, 0.94, ">=", 0.95) == "missed"
    assert verdict(0.9, 1.1, ">=", 1.0) == "inconclusive"


class Scripted:
    """A Spark-free experiment whose per-repetition values are scripted, to watch the adaptive stop."""

    name = "scripted"
    description = "scripted ratios"
    variants = ("old", "new")

    def __init__(self, new: list[float], seconds: float = 0.0) -> None:
        self.new, self.seconds = new, seconds

    def setup(self, ctx: BenchContext) -> None:
        pass

    def run(self, variant: str, repetition: int, ctx: BenchContext) -> dict[str, float]:
        time.sleep(self.seconds)  # the workload: long enough for the machine's load to be read
        return {"ms": 100.0 if variant == "old" else self.new[repetition]}

    def targets(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> list[TargetSpec]:
        return [FASTER]

    def summarize(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> dict[str, float]:
        return {}

    def teardown(self, ctx: BenchContext) -> None:
        pass


def test_repetitions_stop_once_every_target_is_decided(tmp_path: Path) -> None:
    decided = run_experiment(Scripted([70, 72, 71] + [200] * 4), BenchContext(out_dir=tmp_path, max_repetitions=7))
    assert decided.repetitions == 3 and decided.stopped == "every target decided"
    # straddles 1.0 for the first five repetitions, then the whole interval falls below it
    later = run_experiment(Scripted([80, 120, 90, 95, 70, 75, 72, 71, 74]),
                           BenchContext(out_dir=tmp_path, max_repetitions=9))
    assert 3 < later.repetitions < 9 and later.targets["new / old"].verdict == "met"
    undecided = run_experiment(Scripted([80, 120, 90, 115, 95]), BenchContext(out_dir=tmp_path, max_repetitions=5))
    assert undecided.repetitions == 5 and undecided.stopped == "maximum repetitions"
    assert undecided.targets["new / old"].verdict == "inconclusive"
    assert len(undecided.runs["new"]) == 5 and len(undecided.machine["others_load"]) == 10


_BURN = "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end:\n    pass\n"


@pytest.fixture
def burners() -> Iterator[list[int]]:
    """CPU-bound processes that are NOT descendants of this one (double fork), stopped by pid afterwards."""
    pids: list[int] = []
    for _ in range(cores()):
        shell = subprocess.run(["sh", "-c", f'"{sys.executable}" -c "$0" >/dev/null 2>&1 & echo $!', _BURN],
                               capture_output=True, text=True, check=True)
        pids.append(int(shell.stdout.strip()))
    try:
        yield pids
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_other_processes_make_a_run_noisy(tmp_path: Path, burners: list[int]) -> None:
    if set(burners) & own_pids():  # pid 1 in a container, or a subreaper: orphans come back to this process
        pytest.skip("this process adopts orphaned processes, so none can run outside its tree")
    assert others_load(2.0) > cores() / 2  # the burners are other processes' load, not ours
    result = run_experiment(Scripted([70.0] * 3, seconds=1.2), BenchContext(out_dir=tmp_path, max_repetitions=3))
    assert result.machine["noisy"] and any("load above" in r for r in result.machine["noisy_reasons"])


def test_own_children_are_not_other_load() -> None:
    before = own_cpu_seconds()
    busy = "import time\nend = time.monotonic() + 2\nwhile time.monotonic() < end:\n    pass\n"
    child = subprocess.run([sys.executable, "-c", busy])
    assert child.returncode == 0
    assert own_cpu_seconds() - before >= 1.5  # the child's 2 busy seconds count as ours, so not as others' load


def test_bench_waits_while_a_test_session_holds_the_lock(tmp_path: Path) -> None:
    """A real bench (overhead --quick, real Spark) in its own process waits for the shared lock, then runs."""
    lock = tmp_path / "bench.lock"
    holder = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    fcntl.flock(holder, fcntl.LOCK_SH)  # what a test session's fixture holds
    env = {k: v for k, v in os.environ.items() if k != TEST_SESSION_ENV}
    env[LOCK_ENV] = str(lock)
    log = tmp_path / "bench.err"
    out = tmp_path / "out"
    cmd = [str(Path(sys.executable).parent / "spark-sched"), "bench", "overhead", "--quick", "--out", str(out),
           "--quiet-timeout", "0", "--max-repetitions", "5"]
    with log.open("w") as err:
        bench = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True)
    try:
        wait_until(lambda: "waiting for a test session" in log.read_text(), "the bench to say it waits", 120)
        assert bench.poll() is None and not list(out.glob("*.json"))  # nothing ran while the lock is held
        os.close(holder)
        holder = -1
        assert bench.wait(timeout=600) == 0, log.read_text()[-2000:]
    finally:
        if holder >= 0:
            os.close(holder)
        if bench.poll() is None:
            os.killpg(bench.pid, signal.SIGTERM)
            bench.wait(timeout=60)
    data = json.loads((out / "overhead.json").read_text())
    machine = data["machine"]
    assert machine["lock"] == "exclusive" and machine["cores"] == cores() and machine["java"]
    assert len(machine["load_before"]) == len(machine["load_after"]) == len(machine["others_load"]) >= 15
    assert machine["commit"] is None or len(machine["commit"]) == 40
    assert all(t["verdict"] in ("met", "missed", "inconclusive") for t in data["targets"].values())
    assert (t := data["targets"]["measured.job_ms / bare.job_ms"])["ci95"][0] <= t["value"] <= t["ci95"][1]
