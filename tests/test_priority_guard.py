"""The starvation guard: its rules without Spark, its guarantee on real Spark, and the `[priority]` settings."""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import fair_session
from pyspark import cloudpickle
from pyspark.sql import SparkSession

from spark_sched import load_settings
from spark_sched.errors import SettingsError
from spark_sched.measure import measure
from spark_sched.priority import PreemptibleJob, PriorityController
from spark_sched.priority.policy.guards import Candidate, CountGuard, Held, ShareGuard, guard
from spark_sched.workloads.timeline import cancel_to_free_ms, idle_slot_s_while_pending, priority_of

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # tests/ is not importable on the workers

RECORDS = 250  # x ~10 ms: a LOW task of ~2.5 s (longer on a loaded machine)
MAX_WAIT_S = 1.5
MIN_HIGH_JOBS = 6


def _coop(job_id: str, tasks: tuple[tuple[int, str], ...], preempted_s: float = 0.0) -> Candidate:
    return Candidate(job_id, True, preemptions=1 if preempted_s else 0, preempted_s=preempted_s, tasks=tasks)


def test_share_guard_keeps_min_slots_for_the_job_with_most_credit() -> None:
    fresh = _coop("fresh", ((0, "w1"), (1, "w2")))
    aged = _coop("aged", ((0, "w3"), (1, "w1")), preempted_s=4.0)
    jvm = Candidate("q1", False, preempted_s=9.0)  # JVM-only: cannot be protected task by task
    allowed = {c.job_id: c for c in ShareGuard(min_slots=1).preemptible([fresh, aged, jvm])}
    assert allowed["fresh"] == fresh and allowed["q1"] == jvm
    assert allowed["aged"].tasks == ((1, "w1"),)  # one task of the most-aged job is kept running
    two = {c.job_id: c for c in ShareGuard(min_slots=3).preemptible([fresh, aged])}
    assert "aged" not in two and two["fresh"].tasks == ((1, "w2"),)
    assert ShareGuard(min_slots=1).preemptible([fresh], protected=1) == [fresh]  # the share is already held
    assert ShareGuard(min_slots=0).preemptible([fresh, aged]) == [fresh, aged]


def test_share_guard_releases_after_max_wait_and_count_guard_protects_after_p() -> None:
    held = [Held("a", since=10.0), Held("b", since=12.0, preempted_s=50.0)]
    assert ShareGuard(max_wait_s=3.0).overdue(held, now=13.5) == ["a"]  # per wait, not lifetime
    count = CountGuard(max_preemptions=2, max_preempted_s=30.0)
    assert count.overdue(held, now=13.5) == ["b"]  # lifetime budget
    often = Candidate("x", True, preemptions=2)
    assert count.preemptible([often, _coop("y", ())]) == [_coop("y", ())]


def test_guard_names_and_options_are_checked() -> None:
    with pytest.raises(SettingsError, match="'fair'.*count, none, share"):
        guard("fair")
    with pytest.raises(SettingsError, match="min_slots"):
        guard("share", min_slots=-1)
    with pytest.raises(SettingsError, match="options"):
        guard("share", max_preemptions=3)


def test_priority_settings_section_is_checked_strictly(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[priority]\npolicy = "requeue"\nguard = "count"\n[priority.count]\nmax_preemptions = 2\n'
                    '[priority.classes.urgent]\nlevel = 1\nmin_share = 4\npreemptible = false\n'
                    '[priority.classes.bulk]\nlevel = 3\n')
    s = load_settings(good).priority
    assert (s.policy, s.guard, s.guard_options["max_preemptions"]) == ("requeue", "count", 2)
    assert [(c.name, c.pool, c.level) for c in s.classes] == [("urgent", "urgent", 1), ("bulk", "bulk", 3)]
    assert isinstance(s.build_guard(), CountGuard)
    suspend = tmp_path / "suspend.toml"
    suspend.write_text('[priority]\npolicy = "suspend"\ncores = 3\n')
    assert (load_settings(suspend).priority.policy, load_settings(suspend).priority.cores) == ("suspend", 3)
    cases = {
        '[priority]\npolicy = "fastest"\n': "priority.policy = 'fastest'.*lb",
        '[priority]\nguard = "share"\n[priority.share]\nmax_wait_s = 0\n': "priority.share.max_wait_s = 0",
        '[priority]\n[priority.share]\nmin_slot = 1\n': "priority.share.min_slot.*priority.share.min_slots",
        '[priority]\ntrigger = "early"\n': "priority.trigger.*predict, tasks",
        '[priority.classes.a]\nlevel = 1\n[priority.classes.b]\nlevel = 2\nweight = "heavy"\n': "weight = 'heavy'",
        '[priority.classes.a]\nlevel = 1\n': "at least two levels",
        '[priority]\npolicy = "suspend"\ncores = 0\n': "priority.cores = 0.*below the task slots",
        '[priority]\ncores = "many"\n': "priority.cores = 'many'.*an integer",
    }
    for i, (text, message) in enumerate(cases.items()):
        bad = tmp_path / f"bad{i}.toml"
        bad.write_text(text)
        with pytest.raises(SettingsError, match=message) as err:
            load_settings(bad)
        assert str(bad) in str(err.value)


def test_timeline_figures_from_task_records() -> None:
    import pandas as pd

    tasks = pd.DataFrame({
        "launchTime": [1_000, 1_000, 3_000], "finishTime": [2_000, 4_000, 4_000],
        "jobTags": [("spark-sched-priority-low", "spark-sched-job-a"), ("spark-sched-priority-high",), ()],
        "host": ["w1", "w2", "w1"],
    })
    # 2 slots, LOW pending 1.0-4.0 s: one slot idle from 2.0 to 3.0 s
    assert idle_slot_s_while_pending(tasks, 2, [(1.0, 4.0)], (0.0, 10.0)) == pytest.approx(1.0)
    assert idle_slot_s_while_pending(tasks, 2, [], (0.0, 10.0)) == 0.0
    # a task suspended 1.2-1.8 s holds its slot but not its core: on 2 cores, 0.6 core-seconds more idle
    assert idle_slot_s_while_pending(tasks, 2, [(1.0, 4.0)], (0.0, 10.0), [(1.2, 1.8)]) == pytest.approx(1.6)
    assert cancel_to_free_ms(tasks, [(1.5, "a", ("w1",))]) == [500.0]
    assert [priority_of(t) for t in tasks["jobTags"]] == ["low", "high", "other"]


def test_relaunch_overhead_counts_the_tasks_past_each_jobs_partitions() -> None:
    import pandas as pd

    from spark_sched.workloads.unified.metrics import relaunch_ms

    tags = ("spark-sched-priority-low", "spark-sched-job-a")
    low = pd.DataFrame({"launchTime": [1, 2, 3, 4], "jobTags": [tags, tags, tags, ("spark-sched-job-b",)],
                        "schedulerDelayTime": [5, 5, 7, 50], "executorDeserializeTime": [1, 1, 11, 50]})
    assert relaunch_ms(low, {"a": 2}) == 18.0  # a's third task restarted a partition
    assert relaunch_ms(low, {"a": 3, "b": 1}) == 0.0


# -- the guarantee on real Spark -----------------------------------------------------------------------------


def _source(p: int) -> range:
    return range(p * RECORDS, (p + 1) * RECORDS)


def _slow(x: int) -> list[tuple[int, str]]:
    time.sleep(0.01)
    return [(x, hashlib.sha1(str(x).encode()).hexdigest()[:6])]


@pytest.fixture(scope="module")
def fair_spark(state_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    session = fair_session(state_dir, tmp_path_factory.mktemp("pools"), "spark-sched-tests-priority-guard")
    yield session
    session.stop()


def _high_pressure(controller: PriorityController, job_done: Callable[[], bool], deadline_s: float) -> int:
    """HIGH jobs of 2 short tasks (both slots) back to back, until the LOW job is done (and a few).

    The gap between them is shorter than the controller's `hold_s`, so HIGH never looks idle: a preempted
    LOW job is let go only by the guard's bound.
    """
    end = time.monotonic() + deadline_s
    n = 0
    while (n < MIN_HIGH_JOBS or not job_done()) and time.monotonic() < end:
        run = controller.run_high(f"hi{n}", lambda s: s.sparkContext.parallelize(range(2), 2).map(
            lambda x: time.sleep(0.15) or x).collect())
        assert run.done.wait(60) and run.error is None, run.error
        n += 1
        time.sleep(0.03)
    return n


def test_share_guard_bounds_high_wait_and_low_wait_on_real_spark(fair_spark: SparkSession, tmp_path: Path) -> None:
    """HIGH wants both slots over and over: HIGH never waits a LOW task's length, LOW keeps a slot and finishes."""
    share = ShareGuard(min_slots=1, max_wait_s=MAX_WAIT_S)
    with measure(fair_spark) as m:
        controller = PriorityController(fair_spark, "requeue", guard=share).start()
        try:
            job = controller.submit(PreemptibleJob("low", 2, _source, _slow, tmp_path))
            deadline = time.monotonic() + 60  # until its tasks poll: a Python worker still starting cannot yield
            while not controller.signal.running("low") and time.monotonic() < deadline:
                time.sleep(0.02)
            highs = _high_pressure(controller, job.state.finished.is_set, deadline_s=90)
            assert controller.wait([job], timeout=60)
        finally:
            controller.stop()
    assert job.state.error is None
    assert sorted(x for x, _ in job.state.result) == list(range(2 * RECORDS))  # exact output, each record once
    stats = controller.stats
    print(f"guard test: {stats.preemptions} preemptions, {highs} HIGH jobs, reactions {stats.reactions_ms}, "
          f"tick errors {stats.tick_errors}, events {[(round(t % 100, 2), k, d) for t, k, d in stats.events]}")
    assert job.state.preemptions >= 1 and highs >= MIN_HIGH_JOBS, (job.state.preemptions, highs)
    tasks = m.tasks()
    low = tasks[tasks["jobTags"].map(lambda t: priority_of(t) == "low")]
    high = tasks[tasks["jobTags"].map(lambda t: priority_of(t) == "high")]
    low_task_ms = float((low["finishTime"] - low["launchTime"]).max())  # a LOW task that ran to its end
    # HIGH's wait is bounded by the controller, not by the LOW task in its way (Spark's time, load and all)
    assert stats.reactions_ms and max(stats.reactions_ms) < 0.5 * low_task_ms, (stats.reactions_ms, low_task_ms)
    # LOW never waited preempted past its bound: every preempt -> release gap of the job
    events = [(t, kind) for t, kind, detail in stats.events if "low" in detail.replace(",", " ").split()]
    waits = [b[0] - a[0] for a, b in zip(events, events[1:], strict=False) if a[1] == "preempt" and b[1] == "release"]
    assert waits and max(waits) <= MAX_WAIT_S + 1.0, waits  # + the controller's tick on a loaded machine
    # ... and kept its minimum share: LOW tasks ran beside HIGH tasks (Spark's own records)
    overlap_ms = sum(
        max(0, min(lf, hf) - max(ll, hl))
        for ll, lf in zip(low["launchTime"], low["finishTime"], strict=True)
        for hl, hf in zip(high["launchTime"], high["finishTime"], strict=True)
    )
    assert overlap_ms >= 1_000, overlap_ms
    # every stop reached a task that then ended long before its work was done (cooperative yield)
    freed = cancel_to_free_ms(tasks, stats.stops)
    assert freed and max(freed) < 0.5 * low_task_ms, (freed, low_task_ms)
