"""The what-if `sim.anyk.AnyKOfN`: a recorded sample replayed as if KMN's chooser had picked its blocks.

Small cases worked out by hand: 3 hosts of 2 slots, cached blocks piled on host a.
A pre-selected sample of 4 blocks all on a queues on a's 2 slots (two waves, no
wait runs out: each wave is shorter than the 3 s wait); KMN's choice at the job's
arrival reads 2 blocks on a and 2 elsewhere, one wave.
"""

from __future__ import annotations

from spark_sched.locality.waits import LocalityWait
from spark_sched.sampling.blocks import Block
from spark_sched.sim import JobSpec, SimCluster, SimSettings, Simulation, StageSpec, TaskSpec
from spark_sched.sim.anyk import AnyKOfN

BLOCKS = [Block(i, ("a",), 1000) for i in range(6)] + [Block(6, ("b",), 1000), Block(7, ("b",), 1000),
                                                          Block(8, ("c",), 1000), Block(9, ("c",), 1000)]
TAG = "sample"


def sample_job(job_id: int = 1, arrival: float = 0.0) -> JobSpec:
    """A pre-selected sample of 4 blocks, all on host a (cached: Spark's PROCESS_LOCAL level applies)."""
    tasks = [TaskSpec(1.0, 1000.0, ("a",), cached=True) for _ in range(4)]
    return JobSpec(job_id, arrival, [StageSpec(job_id * 10, tasks)], tags=(TAG,))


def run(jobs: list[JobSpec], hooks: list) -> Simulation:  # noqa: ANN001 - hooks are the simulator's protocol
    sim = Simulation(SimCluster(("a", "b", "c"), 2), SimSettings(waits=LocalityWait(3.0, 3.0, 3.0)), 0,
                     record_tasks=True, hooks=hooks)
    for job in jobs:
        sim.submit(job)
    return sim


def test_the_preselected_sample_queues_on_the_host_that_holds_it() -> None:
    result = run([sample_job()], []).run()
    assert result.jobs[0].duration == 2.0
    assert {t.host for t in result.tasks} == {"a"}


def test_the_chooser_reads_blocks_local_to_free_slots_in_one_wave() -> None:
    result = run([sample_job()], [AnyKOfN(BLOCKS, TAG, SimCluster(("a", "b", "c"), 2))]).run()
    assert result.jobs[0].duration == 1.0
    hosts = [t.host for t in result.tasks]
    assert len(hosts) == 4 and max(hosts.count(h) for h in "abc") <= 2  # no host past its 2 free slots
    assert all(t.locality in ("PROCESS_LOCAL", "NODE_LOCAL") for t in result.tasks)


def test_the_choice_sees_the_slots_busy_at_arrival_and_leaves_the_trace_job_unchanged() -> None:
    busy = JobSpec(0, 0.0, [StageSpec(0, [TaskSpec(5.0, 0.0, ("a",)), TaskSpec(5.0, 0.0, ("a",))])])
    job = sample_job(arrival=0.5)
    result = run([busy, job], [AnyKOfN(BLOCKS, TAG, SimCluster(("a", "b", "c"), 2))]).run()
    sampled = [t for t in result.tasks if t.job_id == 1]
    assert {t.host for t in sampled} == {"b", "c"}  # a's slots were taken when the job arrived
    assert next(j for j in result.jobs if j.job_id == 1).duration == 1.0
    assert all(t.preferred == ("a",) for t in job.stages[0].tasks)  # replayed again unchanged under other settings


def test_untagged_jobs_keep_their_input() -> None:
    job = JobSpec(1, 0.0, [StageSpec(10, [TaskSpec(1.0, 1000.0, ("a",), cached=True) for _ in range(4)])])
    result = run([job], [AnyKOfN(BLOCKS, TAG, SimCluster(("a", "b", "c"), 2))]).run()
    assert {t.host for t in result.tasks} == {"a"}
