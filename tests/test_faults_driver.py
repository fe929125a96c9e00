"""Driver restart: stop the unified application's driver mid-run (SIGTERM, SIGKILL), start it again on its state dir.

The driver (jobs/durable_stream_batch.py) runs as a subprocess in its own
session: a YSB-like stream reading event files this test writes, and LOW
feature jobs from the durable queue under the priority controller. After the
restart the stream must have committed every window exactly once, each job must
be done exactly once with the output an unfaulted computation gives, and no
partition committed before the stop may be computed again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from spark_sched.cluster import group_members
from spark_sched.priority.durable import QUEUE_FILE, DurableQueue
from spark_sched.workloads.job_kinds import expected_features
from spark_sched.workloads.unified import EventGenerator, check_stream_output

# Generous per-test time: on a machine shared by several Spark jobs, each driver start has taken minutes.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(1500)]

JOB = Path(__file__).resolve().parent.parent / "jobs" / "durable_stream_batch.py"
JOBS, PARTITIONS, RECORDS, MS = 8, 3, 40, 25.0
SPEC = {"partitions": PARTITIONS, "records": RECORDS}


class Driver:
    """The application's driver as a subprocess in its own process group, stopped by pid and pgid only."""

    def __init__(self, state: Path, trace: Path, log: Path) -> None:
        self.cmd = [sys.executable, str(JOB), "--state-dir", str(state), "--jobs", str(JOBS), "--partitions",
                    str(PARTITIONS), "--records", str(RECORDS), "--ms", str(MS), "--trace", str(trace),
                    "--trigger", "1.0"]
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Driver:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        return self

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        code = self.proc.wait(timeout=timeout)
        self._wait_group_gone(30.0)
        return code

    def _wait_group_gone(self, timeout: float) -> None:
        """The driver's JVM exits once its Python parent is gone; wait for it, then kill what is left."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while group_members(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if group_members(self.proc.pid):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def kill(self) -> None:
        """Cleanup, also after a failure: SIGKILL the group, reap the driver."""
        if self.proc is None:
            return
        if self.proc.poll() is None or group_members(self.proc.pid):
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture
def drivers() -> Iterator[list[Driver]]:
    started: list[Driver] = []
    yield started
    for d in started:
        d.kill()


def _poll(what: str, condition: Callable[[], bool], timeout: float, driver: Driver) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert driver.proc is not None
        if driver.proc.poll() is not None:
            pytest.fail(f"driver exited ({driver.proc.returncode}) while waiting for {what}; see {driver.log}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; see {driver.log}")
        time.sleep(0.2)


def _counts(state: Path) -> dict[str, int]:
    if not (state / QUEUE_FILE).exists():
        return {}
    queue = DurableQueue(state)
    try:
        return queue.counts()
    finally:
        queue.close()


def _committed(state: Path) -> dict[tuple[str, int], int]:
    """(job, partition) -> inode of its committed output file."""
    out = {}
    for part in (state / "batch").glob("*/part-*.pkl"):
        out[(part.parent.name, int(part.stem.split("-")[1]))] = part.stat().st_ino
    return out


def _trace(trace: Path) -> dict[str, list[int]]:
    return {p.stem: [int(x) for x in p.read_text().split()] for p in trace.glob("*.log")}


def _mid_run(state: Path, min_done: int) -> bool:
    """`min_done`+ jobs done, two or more not, an unfinished job with a committed partition, stream output."""
    done_jobs = _counts(state).get("done", 0)
    if not min_done <= done_jobs <= JOBS - 2:
        return False
    queue = DurableQueue(state)
    try:
        unfinished = {j.job_id for j in queue.unfinished()}
    finally:
        queue.close()
    partial = any(job in unfinished for job, _ in _committed(state))
    return partial and len(list((state / "out").glob("batch-*.json"))) >= 1


def _stop_mid_run(driver: Driver, state: Path, min_done: int, sig: signal.Signals) -> Snapshot:
    """Wait until the run is half-way, stop the driver with `sig`, and record what was committed by then."""
    _poll(f"{min_done}+ jobs done, others under way", lambda: _mid_run(state, min_done), 240, driver)
    assert driver.proc is not None
    os.kill(driver.proc.pid, sig)
    code = driver.wait(timeout=90)
    assert code == (0 if sig == signal.SIGTERM else -signal.SIGKILL), f"driver exit {code} after {sig.name}"
    return Snapshot(sig.name, _committed(state), {}, _counts(state).get("done", 0))


@dataclass
class Snapshot:
    """What was committed when a driver stopped, and the records computed until then."""

    signal: str
    committed: dict[tuple[str, int], int]
    traced: dict[str, list[int]]
    done: int


def test_driver_restarts_after_sigterm_then_sigkill(tmp_path: Path, drivers: list[Driver]) -> None:
    """One run, three drivers: stopped by SIGTERM, restarted, killed by SIGKILL, restarted, finished."""
    state, trace = tmp_path / "app", tmp_path / "trace"
    trace.mkdir()
    generator = EventGenerator(state / "events", every_s=0.25, events_per_file=100)
    snapshots: list[Snapshot] = []
    try:
        for n, sig in enumerate((signal.SIGTERM, signal.SIGKILL, None), start=1):
            driver = Driver(state, trace, tmp_path / f"driver-{n}.log").start()
            drivers.append(driver)
            if n == 1:
                _poll("the driver to start", lambda: (state / "driver.json").exists(), 240, driver)
                generator.start()
            if sig is not None:
                snap = _stop_mid_run(driver, state, snapshots[-1].done + 1 if snapshots else 1, sig)
                snap.traced = _trace(trace)
                snapshots.append(snap)
                continue
            _poll("every queued job done", lambda: _counts(state).get("done", 0) == JOBS, 240, driver)
            generator.stop()
            (state / "stop").touch()
            assert driver.wait(timeout=120) == 0
    finally:
        generator.stop()

    queue = DurableQueue(state)
    try:
        assert queue.journal_mode() == "wal"
        jobs = queue.all()
    finally:
        queue.close()
    want = expected_features(SPEC)
    assert [(j.state, j.completions, j.checksum) for j in jobs] == [("done", 1, want)] * JOBS

    # partitions committed before each stop were neither rewritten nor computed again by a later driver
    after, traced = _committed(state), _trace(trace)
    for snap in snapshots:
        assert all(after[key] == inode for key, inode in snap.committed.items()), snap.signal
        for job, records in traced.items():
            new = records[len(snap.traced.get(job, [])):]
            again = {x // RECORDS for x in new} & {p for (j, p) in snap.committed if j == job}
            assert not again, f"{job}: partitions {sorted(again)} committed before {snap.signal} computed again"

    phases = [json.loads(line)["phase"] for line in (state / "driver-history.jsonl").read_text().splitlines()]
    assert phases.count("running") == 3 and "sigterm" in phases and phases[-1] == "finished", phases
    assert check_stream_output(state / "out", generator.expected) == []
    computed = sum(len(r) for r in traced.values())
    print(f"driver restarts: stops at {[(s.signal, s.done) for s in snapshots]} jobs done; "
          f"starts per job {[j.starts for j in jobs]}; preemptions {sum(j.preemptions for j in jobs)}; "
          f"records computed {computed} for {JOBS * PARTITIONS * RECORDS}; "
          f"micro-batches {len(list((state / 'out').glob('batch-*.json')))}")
