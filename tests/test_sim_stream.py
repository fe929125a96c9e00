"""The priority controller inside the model, and the `stream` and `composer` scenarios (no Spark)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from spark_sched.errors import SettingsError
from spark_sched.mixes import BENCH_BATCH_GAP_S, BENCH_STREAM_PERIOD_S, WORKLOAD_KINDS, WorkloadParams, generate
from spark_sched.sim import JobSpec, SimCluster, SimSettings, StageSpec, TaskSpec, simulate
from spark_sched.sim.controller import PriorityHook, class_pools
from spark_sched.sim.scenarios import composer as mix
from spark_sched.sim.scenarios import stream

KILL_S = 0.1


def _tiny(policy: str, guard: str, low_tasks: list[float]) -> tuple[PriorityHook, object]:
    """2 hosts x 1 slot: one LOW job filling both slots from t=0, one HIGH task arriving at t=1."""
    low = JobSpec(0, 0.0, [StageSpec(0, [TaskSpec(c) for c in low_tasks])], pool="low", kind="batch")
    high = JobSpec(1, 1.0, [StageSpec(0, [TaskSpec(0.5)])], pool="high", kind="stream")
    hook = PriorityHook(policy, guard)
    result = simulate(SimCluster(("a", "b"), 1), [low, high],
                      SimSettings(mode="FAIR", pools=class_pools(), kill_s=KILL_S), record_tasks=True, hooks=[hook])
    return hook, result


def test_requeue_starts_high_after_the_stop_and_keeps_finished_partitions() -> None:
    hook, result = _tiny("requeue", "none", [0.5, 10.0, 10.0])
    high = next(j for j in result.jobs if j.kind == "stream")
    assert high.start == pytest.approx(1.0 + KILL_S)
    done = [(hook.origin.get((t.job_id, t.stage_id, t.index), (t.job_id, t.stage_id, t.index)))
            for t in result.tasks if not t.killed and t.job_id != high.job_id]
    assert sorted(done) == [(0, 0, 0), (0, 0, 1), (0, 0, 2)]  # each partition succeeds once: 0 is not rerun
    resubmitted = [j for j in result.jobs if j.job_id in hook.root]
    assert len(resubmitted) == 1 and resubmitted[0].status == "SUCCEEDED" and resubmitted[0].tasks == 2
    # requeue keeps progress: stopped attempts and their resumptions together do each partition's work once
    busy = sum(t.end - t.launch for t in result.tasks if t.job_id != high.job_id)
    assert busy == pytest.approx(20.5, abs=1e-6)
    assert hook.stats.lost_s == pytest.approx(0.0)


def test_share_guard_keeps_one_low_task_running() -> None:
    hook, result = _tiny("requeue", "share", [10.0, 10.0])
    high = next(j for j in result.jobs if j.kind == "stream")
    assert high.start == pytest.approx(1.0 + KILL_S)
    killed = [t for t in result.tasks if t.killed]
    assert len(killed) == 1 and hook.stats.tasks_stopped == 1  # min_slots=1: the other task is never stopped
    low = next(j for j in result.jobs if j.job_id == 0)
    assert low.status == "SUCCEEDED" and not hook.root  # stopped task by task: no cancel, no resubmission


def test_kill_reruns_killed_partitions_from_scratch() -> None:
    hook, result = _tiny("kill", "share", [0.5, 10.0, 10.0])
    assert hook.stats.lost_s > 0 and hook.stats.saved_s == 0
    work = sum(t.end - t.launch for t in result.tasks if not t.killed and t.job_id in (0, *hook.root))
    assert work == pytest.approx(20.5, abs=1e-6)  # finished partition kept, the two killed ones ran in full again


def test_policy_none_cancels_nothing() -> None:
    params = stream.StreamParams(10, 30.0)
    jobs = stream.workload(params, 3)
    hook = PriorityHook("none")
    result = simulate(SimCluster.uniform(10, stream.SLOTS), jobs, stream.settings("fair"), 3, hooks=[hook])
    plain = simulate(SimCluster.uniform(10, stream.SLOTS), stream.workload(params, 3), stream.settings("fair"), 3)
    assert hook.stats.preemptions == 0 and all(j.killed == 0 for j in result.jobs)
    assert [j.finish for j in result.jobs] == [j.finish for j in plain.jobs]


def test_suspend_is_refused_with_one_error() -> None:
    with pytest.raises(SettingsError, match="suspend"):
        PriorityHook("suspend")


@pytest.fixture(scope="module")
def rows() -> dict[str, dict[str, float]]:
    params = stream.StreamParams(16, 40.0)
    return {v: stream.run_variant(v, params, 5)[0] for v in stream.VARIANTS}


def test_fifo_stream_waits_far_longer_than_isolated(rows: dict[str, dict[str, float]]) -> None:
    assert rows["fifo"]["stream_p50_s"] > 5 * rows["isolated"]["stream_p99_s"]
    assert rows["fair"]["stream_p99_s"] < rows["fifo"]["stream_p99_s"]


def test_kill_wastes_work_and_beats_fifo(rows: dict[str, dict[str, float]]) -> None:
    assert rows["kill"]["wasted_s"] > 0 and rows["kill"]["killed_task_s"] > 0
    assert rows["kill"]["stream_p99_s"] < rows["fifo"]["stream_p99_s"]
    assert rows["kill"]["batch_work_per_s"] < rows["requeue"]["batch_work_per_s"]


def test_controller_beats_fair_and_lb_stops_least(rows: dict[str, dict[str, float]]) -> None:
    for variant in ("requeue", "lb"):
        assert rows[variant]["stream_p99_s"] < rows["fair"]["stream_p99_s"]
        assert rows[variant]["wasted_s"] < 0.01 * rows["kill"]["wasted_s"]
    assert rows["lb"]["killed_task_s"] < rows["requeue"]["killed_task_s"]
    assert rows["lb"]["batch_work_per_s"] >= rows["requeue"]["batch_work_per_s"]
    assert rows["fair"]["preemptions"] == 0 and rows["fair"]["killed_task_s"] == 0


def test_the_model_tells_the_composer_what_the_bench_tells_it() -> None:
    for job in generate(7, WorkloadParams(seconds=12.0, batch_gap_s=1.3, min_per_kind=4)):
        assert dataclasses.asdict(mix.job_features(job)) == job.features


def test_slices_cut_as_parallelize_does() -> None:
    costs = tuple(float(i) for i in range(11))
    for parts in (1, 2, 3, 11, 40):
        cut = mix.slices(costs, parts)
        assert len(cut) == parts and sum(cut) == pytest.approx(sum(costs))
    assert mix.slices(costs, 2) == [sum(range(5)), sum(range(5, 11))]


def test_composer_scenario_rows_and_regret() -> None:
    report = mix.SCENARIO.run(10, 2, True, None)
    gap, period = report.params["batch_gap_s"], report.params["stream_period_s"]
    scale = 10 / mix.BENCH_SLOTS  # 10 hosts of 1 slot carry the load the bench's slots carry
    assert (gap, period) == pytest.approx((BENCH_BATCH_GAP_S / scale, BENCH_STREAM_PERIOD_S / scale))
    assert report.params["jobs"] == len(generate(2, WorkloadParams(4.0, gap, period)))
    rows = report.rows
    fixed = [v for v in rows if v.startswith("fixed_")]
    assert len(fixed) >= 2 and {"spark_default", "composer"} <= set(rows)
    assert rows["spark_default"]["total_job_s"] == pytest.approx(rows["fixed_natural"]["total_job_s"])
    best = report.params["best_fixed"]
    assert rows[best]["total_job_s"] == min(rows[v]["total_job_s"] for v in fixed)
    mine = rows["composer"]
    assert mine["regret_vs_best_fixed_s"] == pytest.approx(mine["total_job_s"] - rows[best]["total_job_s"])
    assert all(math.isfinite(mine[f"job_s_{k}"]) for k in WORKLOAD_KINDS)
    choices = report.params["composer_choices"]
    assert set(choices["stream"]) <= {n.removeprefix("fixed_") for n in fixed}
    assert mine["classes"] >= len(WORKLOAD_KINDS)
