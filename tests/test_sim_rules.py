"""The scheduling model's rules against Spark's, on small cases whose outcome Spark's scheduler code decides.

Each case is small enough to work out by hand from TaskSchedulerImpl / TaskSetManager /
FairSchedulingAlgorithm; the expected times follow from Spark's revive timer
(`spark.scheduler.revive.interval`, 1 s: a wait that ran out is noticed at the next
offer) and the waits given.
"""

from __future__ import annotations

import pytest

from spark_sched.locality.waits import LocalityWait
from spark_sched.sim import JobSpec, PoolSpec, SimCluster, SimSettings, Simulation, StageSpec, TaskSpec, simulate
from spark_sched.sim.events import EventQueue
from spark_sched.sim.network import Network


def two_hosts(slots: int = 1) -> SimCluster:
    return SimCluster(("a", "b"), slots)


def blocker(job_id: int, host: str, seconds: float) -> JobSpec:
    """A job whose one task holds `host`'s slot for `seconds` from t=0."""
    return JobSpec(job_id, 0.0, [StageSpec(job_id * 10, [TaskSpec(seconds, 0.0, (host,))])])


def waits(process: float = 3.0, node: float = 3.0, rack: float = 3.0, legacy: bool | None = None) -> SimSettings:
    return SimSettings(waits=LocalityWait(process, node, rack, legacy))


def task_of(result, job_id: int, index: int = 0):  # noqa: ANN001, ANN201 - test helper
    return next(t for t in result.tasks if t.job_id == job_id and t.index == index)


@pytest.mark.parametrize(("wait", "launch"), [(2.0, 2.0), (2.5, 3.0), (0.0, 0.0)])
def test_a_node_wait_runs_out_at_the_first_offer_after_it_and_the_task_goes_to_any(wait: float, launch: float) -> None:
    job = JobSpec(1, 0.0, [StageSpec(10, [TaskSpec(1.0, 0.0, ("a",))])])
    result = simulate(two_hosts(), [blocker(0, "a", 100.0), job], waits(node=wait), record_tasks=True)
    task = task_of(result, 1)
    assert (task.host, task.locality, task.launch) == ("b", "ANY", launch)


def test_a_cached_task_steps_process_then_node_then_any_each_after_its_own_wait() -> None:
    job = JobSpec(1, 0.0, [StageSpec(10, [TaskSpec(1.0, 0.0, ("a",), cached=True)])])
    result = simulate(two_hosts(), [blocker(0, "a", 100.0), job], waits(process=1.0, node=2.0), record_tasks=True)
    task = task_of(result, 1)
    assert (task.host, task.locality, task.launch) == ("b", "ANY", 3.0)  # 1 s at PROCESS_LOCAL, then 2 s at NODE


def test_a_task_with_no_preference_runs_at_once_and_spark_records_it_process_local() -> None:
    job = JobSpec(1, 0.0, [StageSpec(10, [TaskSpec(1.0)])])
    result = simulate(two_hosts(), [blocker(0, "a", 100.0), job], waits(), record_tasks=True)
    task = task_of(result, 1)
    assert (task.host, task.locality, task.launch) == ("b", "PROCESS_LOCAL", 0.0)


def test_legacy_reset_keeps_a_busy_task_set_local_where_spark_3_1_lets_its_wait_run_out() -> None:
    """SPARK-18886: four 1 s tasks all on host a, wait 1.5 s. Resetting on every local launch never
    lets the wait run out (all four run on a, one after another); Spark 3.1+ resets only after a
    round with no rejection, so the idle host b takes the last task at t=2 as ANY."""
    job = JobSpec(0, 0.0, [StageSpec(0, [TaskSpec(1.0, 0.0, ("a",)) for _ in range(4)])])
    legacy = simulate(two_hosts(), [job], waits(node=1.5, legacy=True), record_tasks=True)
    assert [t.host for t in legacy.tasks] == ["a"] * 4
    assert legacy.jobs[0].duration == pytest.approx(4.0)
    current = simulate(two_hosts(), [job], waits(node=1.5, legacy=False), record_tasks=True)
    by_index = {t.index: t for t in current.tasks}
    assert [by_index[i].host for i in range(3)] == ["a"] * 3
    assert (by_index[3].host, by_index[3].locality, by_index[3].launch) == ("b", "ANY", 2.0)


def test_fifo_orders_waiting_jobs_by_job_id_not_by_arrival() -> None:
    """Spark's FIFO comparator: task-set priority (the job id), then stage id."""
    running = JobSpec(0, 0.0, [StageSpec(0, [TaskSpec(1.0) for _ in range(4)])])
    later_id = JobSpec(2, 0.25, [StageSpec(2, [TaskSpec(1.0) for _ in range(4)])])
    earlier_id = JobSpec(1, 0.5, [StageSpec(1, [TaskSpec(1.0) for _ in range(4)])])
    result = simulate(two_hosts(2), [running, later_id, earlier_id], SimSettings(), record_tasks=True)
    assert sorted(t.launch for t in result.tasks if t.job_id == 1) == [1.0] * 4
    assert sorted(t.launch for t in result.tasks if t.job_id == 2) == [2.0] * 4


def _fair_share_of_freed_slots(pools: tuple[PoolSpec, ...]) -> dict[str, int]:
    """Slots freed one at a time (t = 1, 2, 3, 4) while pools alpha and beta both wait: who gets each."""
    hold = JobSpec(0, 0.0, [StageSpec(0, [TaskSpec(float(s)) for s in (1, 2, 3, 4)])], pool="hold")
    jobs = [hold] + [JobSpec(i, 0.5, [StageSpec(i, [TaskSpec(10.0) for _ in range(8)])], pool=name)
                     for i, name in ((1, "alpha"), (2, "beta"))]
    result = simulate(two_hosts(2), jobs, SimSettings(mode="FAIR", pools=pools), record_tasks=True)
    started = {"alpha": 0, "beta": 0}
    for task in result.tasks:
        if task.job_id and task.launch <= 4.0:
            started[("alpha", "beta")[task.job_id - 1]] += 1
    return started


def test_fair_serves_a_pool_below_its_min_share_first() -> None:
    assert _fair_share_of_freed_slots((PoolSpec("alpha", weight=1, min_share=2), PoolSpec("beta", weight=10))) == \
        {"alpha": 2, "beta": 2}


def test_fair_without_min_share_goes_by_running_tasks_over_weight_ties_to_the_first_name() -> None:
    # alpha 0/1 ties beta 0/10: alpha (first by name) gets the first; then beta's 0..2 / 10 stay below alpha's 1/1.
    assert _fair_share_of_freed_slots((PoolSpec("alpha", weight=1), PoolSpec("beta", weight=10))) == \
        {"alpha": 1, "beta": 3}


def test_one_round_of_offers_gives_the_first_task_set_all_it_can_take() -> None:
    """Spark sorts once per round: both pools' jobs arriving together, the first to arrive takes every free slot."""
    jobs = [JobSpec(i, 0.0, [StageSpec(i, [TaskSpec(10.0) for _ in range(8)])], pool=name)
            for i, name in enumerate(("beta", "alpha"))]
    pools = (PoolSpec("alpha", weight=10, min_share=4), PoolSpec("beta"))
    result = simulate(two_hosts(2), jobs, SimSettings(mode="FAIR", pools=pools), record_tasks=True)
    assert sum(1 for t in result.tasks if t.job_id == 0 and t.launch == 0.0) == 4


def test_cancelling_by_tag_frees_the_slots_after_the_kill_time_and_the_job_is_cancelled() -> None:
    batch = JobSpec(0, 0.0, [StageSpec(0, [TaskSpec(100.0) for _ in range(2)])], tags=("batch",))
    stream = JobSpec(1, 1.0, [StageSpec(1, [TaskSpec(0.5)])], tags=("stream",))
    sim = Simulation(two_hosts(), SimSettings(kill_s=0.25), record_tasks=True)
    sim.submit(batch)
    sim.submit(stream)
    sim.at(1.0, lambda: sim.cancel_tag("batch"))
    result = sim.run()
    assert [j.status for j in result.jobs] == ["CANCELLED", "SUCCEEDED"]
    assert result.jobs[0].killed == 2
    assert task_of(result, 1).launch == pytest.approx(1.25)
    assert result.jobs[1].duration == pytest.approx(0.75)


def test_a_child_stage_starts_when_its_last_parent_finishes() -> None:
    job = JobSpec(0, 0.0, [StageSpec(0, [TaskSpec(1.0)]), StageSpec(1, [TaskSpec(3.0)]),
                           StageSpec(2, [TaskSpec(0.5)], parents=(0, 1))])
    result = simulate(two_hosts(), [job], SimSettings(), record_tasks=True)
    child = next(t for t in result.tasks if t.stage_id == 2)
    assert child.launch == pytest.approx(3.0)
    assert result.jobs[0].duration == pytest.approx(3.5)


def test_flows_on_one_link_share_its_bandwidth_equally() -> None:
    events = EventQueue()
    net = Network(events, lambda host: host[0], host_bps=100.0, rack_bps=10.0)  # rack = first letter
    ends: dict[str, float] = {}
    net.read(10.0, "x1", "a1", lambda: ends.setdefault("first", events.now))
    events.at(0.5, lambda: net.read(10.0, "x2", "a2", lambda: ends.setdefault("second", events.now)))
    events.run()
    # alone for 0.5 s (5 bytes), then two flows at 5 B/s each: the first needs 1 s more, the second then runs alone
    assert ends["first"] == pytest.approx(1.5)
    assert ends["second"] == pytest.approx(2.0)


def test_a_remote_read_takes_the_time_its_bytes_need_on_the_shared_uplink() -> None:
    racks = SimCluster(("a", "b"), 1, {"a": "r0", "b": "r1"}, host_bps=1e9, rack_bps=1e6)
    job = JobSpec(1, 0.0, [StageSpec(10, [TaskSpec(1.0, 2e6, ("a",))])])
    result = simulate(racks, [blocker(0, "a", 100.0), job], waits(node=0.0), record_tasks=True)
    task = task_of(result, 1)
    assert (task.host, task.locality) == ("b", "ANY")
    assert task.end - task.launch == pytest.approx(1.0 + 2.0)  # 2 MB over a 1 MB/s uplink, then 1 s of compute


def test_pools_come_from_a_toolkit_pool_file_with_the_hierarchy_flattened(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "pools.toml"
    path.write_text('[pools.etl]\nweight = 2\n[pools.etl.alice]\n[pools.etl.bob]\n'
                    '[pools.adhoc]\nweight = 1\nminShare = 2\n')
    settings = SimSettings().with_pool_file(path)
    by_name = {p.name: p for p in settings.pools}
    assert settings.mode == "FAIR"
    assert by_name["alice"].weight == by_name["bob"].weight == by_name["adhoc"].weight
    assert by_name["adhoc"].min_share == 2


def test_a_task_launched_on_one_of_its_hosts_leaves_the_others_and_each_host_gets_the_lowest_index_it_holds() -> None:
    # Spark pops each host's list from its end (lowest index first); a task that ran elsewhere is not offered again
    cluster = SimCluster(("a", "b", "c"), 1)
    job = JobSpec(0, 0.0, [StageSpec(0, [TaskSpec(1.0, 0.0, ("a", "b")), TaskSpec(1.0, 0.0, ("b", "c")),
                                         TaskSpec(1.0, 0.0, ("a", "c"))])])
    sim = Simulation(cluster, waits(node=10.0), record_tasks=True)
    sim.submit(job)
    sim.run(until=0.5)
    ts = sim.jobs[0].tasksets[0]
    assert ts.pending == 0 and ts.for_host == {}  # every host's list emptied as its tasks launched anywhere
    tasks = sim.run().tasks
    assert sorted(t.index for t in tasks) == [0, 1, 2] and all(t.locality == "NODE_LOCAL" for t in tasks)
    hosts = {t.index: t.host for t in tasks}
    assert hosts[0] in ("a", "b") and hosts[1] in ("b", "c") and hosts[2] in ("a", "c")
    assert len(set(hosts.values())) == 3


def test_the_scale_workload_simulated_several_times_reports_its_fastest_and_slowest_run() -> None:
    from spark_sched.sim.synthetic import measure

    once, thrice = measure(20, 2_000, times=1), measure(20, 2_000, times=3)
    assert thrice["simulations"] == 3 and thrice["us_per_task"] <= thrice["us_per_task_slowest"]
    assert thrice["cpu_s"] >= thrice["simulate_cpu_s"] > 0
    for key in ("jobs", "events", "jobs_finished", "locality", "mean_job_s"):  # same seed: the same simulation
        assert thrice[key] == once[key]
