"""Suspending LOW Python tasks in place on real Spark: resume where they stood, HIGH never waits, the guard's bound.

The application runs `local[4]` on the machine's cores with the controller's cap
of 2 unsuspended tasks: two more slots than cores, so HIGH finds free slots while
suspended LOW tasks keep theirs. Each LOW record appends `record wall-time` to a
per-partition trace, which shows where a task paused and where it went on.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import fair_session, wait_until
from pyspark import cloudpickle
from pyspark.sql import SparkSession

from spark_sched.errors import SettingsError
from spark_sched.priority import PreemptibleJob, PriorityController
from spark_sched.priority.policy.guards import NoGuard, ShareGuard

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # tests/ is not importable on the workers

RECORD_S = 0.01
CORES = 2


def _source(records: int) -> Callable[[int], range]:
    return lambda p: range(p * records, (p + 1) * records)


def _traced(trace: Path, records: int) -> Callable[[int], list[int]]:
    """A per-record step that sleeps RECORD_S and appends `record wall-time` to its partition's trace."""

    def process(x: int) -> list[int]:
        time.sleep(RECORD_S)
        with open(trace / f"{x // records}.log", "a") as f:
            f.write(f"{x} {time.time():.4f}\n")
        return [x]

    return process


def _trace(trace: Path, partition: int) -> list[tuple[int, float]]:
    lines = (trace / f"{partition}.log").read_text().split()
    return [(int(lines[i]), float(lines[i + 1])) for i in range(0, len(lines), 2)]


def _high(seconds: float) -> Callable[[SparkSession], list[tuple[float, float]]]:
    """A HIGH action of 2 tasks, each busy `seconds`; returns each task's (start, end) wall time."""

    def spin(_: int) -> tuple[float, float]:
        start = time.time()
        while time.time() - start < seconds:
            sum(i * i for i in range(2000))
        return start, time.time()

    return lambda s: s.sparkContext.parallelize(range(2), 2).map(spin).collect()


@pytest.fixture(scope="module")
def spark4(state_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A FAIR local[4] session: 4 task slots on this machine's 2 cores."""
    session = fair_session(state_dir, tmp_path_factory.mktemp("pools"), "spark-sched-tests-suspend",
                           master=f"local[{2 * CORES}]")
    yield session
    session.stop()


def _job(name: str, partitions: int, records: int, work: Path) -> tuple[PreemptibleJob, Path]:
    trace = work / f"trace-{name}"
    trace.mkdir(parents=True)
    return PreemptibleJob(name, partitions, _source(records), _traced(trace, records), work / "out"), trace


def test_suspended_task_resumes_at_the_record_where_it_stopped(spark4: SparkSession, tmp_path: Path) -> None:
    records = 200  # 2 s per partition
    with PriorityController(spark4, "suspend", guard=NoGuard(), cores=CORES) as controller:
        job, trace = _job("traced", 2, records, tmp_path)
        controller.submit(job)
        wait_until(lambda: len(controller.signal.running("traced")) == 2, "both partitions to poll")
        high = controller.run_high("busy", _high(1.0))
        wait_until(controller.signal.suspended, "a LOW task suspended while HIGH runs")
        assert high.done.wait(60) and high.error is None, high.error
        assert controller.wait([job], timeout=120)
    assert job.state.error is None
    assert sorted(job.state.result) == list(range(2 * records))
    gaps = []
    for p in range(2):
        seen = _trace(trace, p)
        assert [x for x, _ in seen] == list(_source(records)(p)), f"partition {p} skipped or repeated records"
        gaps.append(max(b - a for (_, a), (_, b) in zip(seen, seen[1:], strict=False)))
    assert max(gaps) >= 0.5, f"no partition paused while HIGH ran: largest gaps {gaps}"
    assert controller.signal.suspended_s("traced") >= 0.5
    assert controller.stats.suspensions >= 1 and controller.stats.resumes >= 1
    assert (job.state.waves, job.state.refills) == (1, 0), "a suspended task was relaunched"


def test_high_starts_without_waiting_while_low_tasks_are_suspended(spark4: SparkSession, tmp_path: Path) -> None:
    records = 400  # 4 s per partition: HIGH waiting for a LOW task would wait seconds
    with PriorityController(spark4, "suspend", guard=NoGuard(), cores=CORES) as controller:
        job, _ = _job("held", 2, records, tmp_path)
        controller.submit(job)
        wait_until(lambda: len(controller.signal.running("held")) == 2, "both partitions to poll")
        delays = []
        for i in range(6):
            submitted = time.time()
            run = controller.run_high(f"hi{i}", _high(0.3))
            assert run.done.wait(60) and run.error is None, run.error
            delays.append(max(start for start, _ in run.result) - submitted)  # both HIGH tasks running
        assert controller.wait([job], timeout=120)
    print(f"suspend: HIGH submitted -> both tasks running: {[round(d, 3) for d in delays]} s")
    assert max(delays) < 1.0, f"HIGH waited for LOW tasks (a LOW task lasts 4 s): {delays}"
    assert all(r < 1000.0 for r in controller.stats.reactions_ms)
    assert controller.stats.stops == [], "a LOW task was stopped instead of suspended"
    assert controller.stats.suspensions >= 6 and job.state.refills == 0
    assert sorted(job.state.result) == list(range(2 * records))


def test_guard_resumes_a_task_suspended_past_its_bound(spark4: SparkSession, tmp_path: Path) -> None:
    records = 300  # 3 s of LOW work against 4 s of HIGH work on every core
    bound = 0.5
    with PriorityController(spark4, "suspend", guard=ShareGuard(min_slots=0, max_wait_s=bound),
                            cores=CORES) as controller:
        job, trace = _job("bounded", 1, records, tmp_path)
        controller.submit(job)
        wait_until(lambda: controller.signal.running("bounded"), "the LOW task to poll")
        high = controller.run_high("hog", _high(4.0))
        assert high.done.wait(60) and high.error is None, high.error
        assert controller.wait([job], timeout=120)
    high_start = max(start for start, _ in high.result)
    high_end = min(end for _, end in high.result)
    seen = [t for _, t in _trace(trace, 0)]
    first_pause = next(a for a, b in zip(seen, seen[1:], strict=False) if b - a >= 0.3 and a >= high_start)
    during = [t for t in seen if first_pause + bound <= t <= high_end - 0.1]
    assert during, "the suspended task never ran again while HIGH kept every core busy"
    assert controller.stats.suspensions >= 2, "after its bound the task was not suspended again"
    assert sorted(job.state.result) == list(range(records))


def test_suspend_refuses_a_cluster_without_spare_slots(spark4: SparkSession) -> None:
    with pytest.raises(SettingsError, match="priority cores = 4 is not valid.*more task slots"):
        PriorityController(spark4, "suspend", cores=4).start()
