"""Bench `sim_validation`'s Spark-free parts: figures from a replay, what-if ratios, direction, closed-loop chains.

Traces are built with the model itself: a workload is simulated, and what the
simulation produced becomes the "recorded" run, so a replay under the same
settings must give back exactly what was recorded, and a what-if must give what
simulating the other settings directly gives. The trace's block-location reading
is checked on events written here in the listener's JSON shape.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from spark_sched.bench.experiments import _sim_validation_metrics as m
from spark_sched.locality.history import LocalityScan
from spark_sched.locality.waits import LocalityWait
from spark_sched.sim import JobSpec, PoolSpec, SimCluster, SimSettings, StageSpec, TaskSpec, simulate
from spark_sched.sim.replay import replay
from spark_sched.sim.results import LEVEL_NAMES
from spark_sched.sim.trace import RecordedJob, Trace, TraceScan, _build

HOSTS = ("h1", "h2", "h3")
STREAM, BATCH, ALL = "stream", "batch", "bench"


def recorded_trace(jobs: list[JobSpec], settings: SimSettings, cluster: SimCluster) -> Trace:
    """A trace whose recorded outcomes are the model's own run of `jobs` under `settings` (seed 0)."""
    result = simulate(cluster, jobs, settings, seed=0)
    recorded = []
    for out in result.jobs:
        job = RecordedJob(out.job_id, out.pool, out.tags, out.arrival, out.finish, "SUCCEEDED",
                          Counter({LEVEL_NAMES[i]: n for i, n in enumerate(out.localities) if n}))
        recorded.append(job)
    return Trace(Path("model"), "model-app", cluster, jobs, settings, recorded, {})


def stream_beside_batch() -> list[JobSpec]:
    """A batch job filling every slot for 8 waves of 1 s, and 2-task stream jobs every 0.5 s in their own pool."""
    batch = JobSpec(0, 0.0, [StageSpec(0, [TaskSpec(1.0) for _ in range(48)])], "low", (ALL, BATCH))
    stream = [JobSpec(k, 0.5 * k, [StageSpec(k, [TaskSpec(0.1), TaskSpec(0.1)])], "high", (ALL, STREAM))
              for k in range(1, 11)]
    return [batch, *stream]


FIFO = SimSettings("FIFO", (PoolSpec("high"), PoolSpec("low")))
FAIR = SimSettings("FAIR", (PoolSpec("high", weight=1000, min_share=64), PoolSpec("low")))


def test_a_replay_of_the_models_own_run_has_no_error_and_its_figures_are_the_recorded_ones() -> None:
    cluster = SimCluster(HOSTS, 2)
    trace = recorded_trace(stream_beside_batch(), FIFO, cluster)
    figures = m.as_recorded(replay(trace, seeds=2), ALL, STREAM)
    stream = [j.duration for j in trace.recorded if STREAM in j.tags]
    assert figures["jobs_compared"] == 11
    assert figures["job_time_abs_err"] == 0.0 and figures["stream_p99_err"] == 0.0
    assert figures["stream_p99_measured_s"] == pytest.approx(m._p99(stream))
    assert figures["stream_p99_measured_s"] > 3.0  # FIFO: the stream waits behind the batch's pending tasks
    assert figures["locality_measured"] == figures["locality_predicted"] == 1.0 and figures["locality_gap"] == 0.0


def test_the_fifo_log_under_fair_settings_predicts_the_fair_run_and_the_ratio_points_down() -> None:
    cluster = SimCluster(HOSTS, 2)
    fifo, fair = recorded_trace(stream_beside_batch(), FIFO, cluster), recorded_trace(stream_beside_batch(), FAIR,
                                                                                       cluster)
    prediction = m.predicted_figures(fifo, {"fifo": FIFO, "fair": FAIR}, STREAM, range(3), figures=("p99",))
    measured = m.measured_figure(fair, STREAM, "p99") / m.measured_figure(fifo, STREAM, "p99")
    predicted = prediction.ratio("fair", "fifo", "p99")
    assert measured < 0.5 and predicted == pytest.approx(measured, rel=0.05)
    metrics = m.ratio_metrics("p99", measured, predicted)
    assert metrics == {"ratio.p99.measured": measured, "ratio.p99.predicted": predicted,
                       "ratio.p99.direction_right": 1.0}
    assert m.ratio_metrics("p99", measured, 1 / predicted)["ratio.p99.direction_right"] == 0.0


@pytest.mark.parametrize(("measured", "predicted", "right"), [
    (1.5, 1.3, 1.0), (0.2, 0.6, 1.0), (1.5, 0.7, 0.0), (0.5, 1.2, 0.0),
    (1.02, 0.98, 1.0),  # both inside the band: no change, and the model says so
    (1.02, 1.4, 0.0),  # the run did not move, the model says it would
    (1.3, 1.0, 0.0),  # the run moved, the model missed it
    (1.07, 1.04, 1.0), (0.96, 0.92, 1.0),  # at the band's edge: neighbours agree
    (math.nan, 1.2, math.nan),
])
def test_direction(measured: float, predicted: float, right: float) -> None:
    got = m.direction_right(measured, predicted)
    assert got == right or (math.isnan(right) and math.isnan(got))


def sequential_iterations(cluster: SimCluster, gap: float) -> list[JobSpec]:
    """Three iterations of a driver loop: 12 tasks of 0.5 s all preferring h1's cached blocks; run with wait 0."""
    jobs, at = [], 0.0
    for k in range(3):
        tasks = [TaskSpec(0.5, 1e6, ("h1",), cached=True) for _ in range(12)]
        job = JobSpec(k, at, [StageSpec(k, tasks)], tags=("iter",))
        jobs.append(job)
        at += simulate(cluster, [replace(job, arrival_s=0.0)], SimSettings(waits=LocalityWait(0, 0, 0))).jobs[0].finish
        at += gap
    return jobs


def test_a_chain_submits_each_iteration_after_the_one_before_ends_with_the_recorded_gap() -> None:
    cluster = SimCluster(HOSTS, 2)
    gap = 0.2
    trace = recorded_trace(sequential_iterations(cluster, gap), SimSettings(waits=LocalityWait(0, 0, 0)), cluster)
    jobs, gaps = m.chain_of(trace, "iter")  # type: ignore[misc]
    assert [j.job_id for j in jobs] == [0, 1, 2] and gaps[1:] == pytest.approx([gap, gap])
    slow = SimSettings(waits=LocalityWait(3.0, 3.0, 3.0))
    closed = m.simulate_trace(trace, slow, seed=0, chain="iter").jobs
    assert [j.job_id for j in closed] == [0, 1, 2]
    for before, after in zip(closed, closed[1:], strict=False):
        assert after.arrival == pytest.approx(before.finish + gap)
        assert after.start >= after.arrival
    open_loop = m.simulate_trace(trace, slow, seed=0).jobs
    # open loop, a slower run's iterations pile up at their old arrival times and wait for each other
    assert max(j.duration for j in open_loop) > max(j.duration for j in closed)
    assert m.figure_of("job_time")(closed) == pytest.approx(closed[0].duration, rel=0.3)


def test_jobs_that_overlapped_are_not_a_chain() -> None:
    cluster = SimCluster(HOSTS, 2)
    trace = recorded_trace(stream_beside_batch(), FIFO, cluster)
    assert m.chain_of(trace, ALL) is None
    assert m.chain_of(trace, "no-such-tag") is None


def _events() -> list[dict]:
    """A cached RDD (id 7, 3 partitions) computed by stage 0, read by stage 1; block updates say where it sits."""
    def level(on: bool) -> dict:
        return {"Use Disk": False, "Use Memory": on, "Use Off Heap": False, "Deserialized": True, "Replication": 1}

    def block(part: int, host: str, on: bool = True) -> dict:
        return {"Event": "SparkListenerBlockUpdated", "Block Updated Info": {
            "Block Manager ID": {"Executor ID": host[-1], "Host": host, "Port": 1}, "Block ID": f"rdd_7_{part}",
            "Storage Level": level(on), "Memory Size": 4_000_000 if on else 0, "Disk Size": 0}}

    def stage(sid: int) -> dict:
        rdds = [{"RDD ID": 7, "Number of Partitions": 3, "Storage Level": level(True)}]
        return {"Event": "SparkListenerStageSubmitted", "Stage Info": {"Stage ID": sid, "Number of Tasks": 3,
                                                                       "RDD Info": rdds}}

    def task(sid: int, index: int, host: str, locality: str, seconds: float) -> dict:
        return {"Event": "SparkListenerTaskEnd", "Stage ID": sid, "Task End Reason": {"Reason": "Success"},
                "Task Info": {"Task ID": sid * 10 + index, "Index": index, "Host": host, "Locality": locality,
                              "Launch Time": 1000, "Finish Time": 1000 + int(seconds * 1000)},
                "Task Metrics": {"Input Metrics": {"Bytes Read": 4_000_000}}}

    def end(job: int, at: int) -> dict:
        return {"Event": "SparkListenerJobEnd", "Job ID": job, "Completion Time": at,
                "Job Result": {"Result": "JobSucceeded"}}

    stages = [{"Stage ID": s, "Parent IDs": [], "Number of Tasks": 3} for s in (0, 1)]
    return [
        {"Event": "SparkListenerApplicationStart", "Timestamp": 0},
        *({"Event": "SparkListenerExecutorAdded", "Executor ID": h[-1], "Executor Info": {"Host": h, "Total Cores": 2}}
          for h in HOSTS),
        {"Event": "SparkListenerJobStart", "Job ID": 0, "Submission Time": 500, "Stage Infos": stages[:1]},
        stage(0), *(task(0, i, "h1", "PROCESS_LOCAL", 1.0) for i in range(3)),
        block(0, "h1"), block(1, "h1"), block(2, "h2"), block(2, "h3"), block(2, "h3", on=False),
        end(0, 2000),
        {"Event": "SparkListenerJobStart", "Job ID": 1, "Submission Time": 2500, "Stage Infos": stages[1:]},
        stage(1), task(1, 0, "h1", "PROCESS_LOCAL", 0.5), task(1, 1, "h3", "ANY", 0.5),
        task(1, 2, "h2", "NODE_LOCAL", 0.5),
        end(1, 3200),
    ]


def test_block_updates_give_a_cached_stages_tasks_their_true_place_whatever_level_they_ran_at() -> None:
    facts, scan = LocalityScan(), TraceScan()
    for event in _events():
        facts.event(event)
        scan.event(event)
    trace = _build(Path("events"), "app", facts, scan, None)
    computed, read = trace.jobs[0].stages[0].tasks, trace.jobs[1].stages[0].tasks
    assert all(t.preferred == () and not t.cached for t in computed)  # nothing cached when stage 0 was submitted
    assert [t.preferred for t in read] == [("h1",), ("h1",), ("h2",)]  # h3 dropped its copy of block 2
    assert all(t.cached and t.read_bytes == 4_000_000 for t in read)
    host_bps = trace.cluster.host_bps
    assert [t.compute_s for t in read] == pytest.approx([0.5, 0.5 - 4_000_000 / host_bps, 0.5])
    # the task that ran ANY now waits for h1 under a long wait instead of running anywhere at once
    slow = simulate(trace.cluster, trace.jobs, replace(trace.settings, waits=LocalityWait(3.0, 3.0, 3.0)))
    assert slow.jobs[1].local == 3


def test_cached_blocks_reads_where_the_log_last_placed_each_block(tmp_path: Path) -> None:
    import json

    from spark_sched.sim.anyk import cached_blocks

    log = tmp_path / "eventlog"
    log.write_text("".join(json.dumps(e) + "\n" for e in _events()), encoding="utf-8")
    blocks = cached_blocks(log)
    assert [(b.id, b.hosts, b.size) for b in blocks] == [(0, ("h1",), 4_000_000), (1, ("h1",), 4_000_000),
                                                         (2, ("h2",), 4_000_000)]


def test_a_what_if_hook_runs_inside_each_seeds_replay_and_leaves_the_trace_as_it_was() -> None:
    from spark_sched.sampling.blocks import Block
    from spark_sched.sim.anyk import AnyKOfN

    cluster = SimCluster(HOSTS, 2)
    piled = [JobSpec(j, j * 3.0, [StageSpec(j, [TaskSpec(1.0, 1e6, ("h1",), cached=True) for _ in range(4)])],
                     tags=(ALL,)) for j in range(3)]
    trace = recorded_trace(piled, SimSettings(waits=LocalityWait(3.0, 3.0, 3.0)), cluster)
    blocks = [Block(i, (HOSTS[i % 3],), 1_000_000) for i in range(9)]
    prediction = m.predicted_figures(trace, {"as_is": trace.settings, "kmn": trace.settings}, ALL, [0, 1],
                                     figures=("job_time",),
                                     hooks={"kmn": lambda seed: [AnyKOfN(blocks, ALL, cluster, seed)]})
    assert prediction.values["as_is"]["job_time"] == (2.0, 2.0)  # 4 tasks on h1's 2 slots: two waves
    assert prediction.values["kmn"]["job_time"] == (1.0, 1.0)  # spread over the three hosts: one wave
    assert prediction.ratio("kmn", "as_is", "job_time") == 0.5
    assert all(t.preferred == ("h1",) for j in trace.jobs for t in j.stages[0].tasks)
