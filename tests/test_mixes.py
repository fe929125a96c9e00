"""The composer's mix as data (`spark_sched.mixes`): the shape its docstring promises, one seed one sequence (no Spark).

The bench (`spark_sched.workloads.mixed`) and the model's `composer` scenario
both run these draws, so a change here changes both, and these checks are what
stands between such a change and two results that no longer describe one mix.
"""

from __future__ import annotations

import pytest

from spark_sched.mixes import BATCH_KINDS, STREAM_OFFSET_S, WORKLOAD_KINDS, Job, WorkloadParams, generate

PARAMS = WorkloadParams(seconds=12.0, batch_gap_s=1.3, min_per_kind=4)


def _batches(jobs: list[Job]) -> list[Job]:
    return [j for j in jobs if j.kind != "stream"]


def test_one_seed_draws_one_sequence_and_another_seed_another() -> None:
    assert generate(7, PARAMS) == generate(7, PARAMS)
    assert generate(7, PARAMS) != generate(8, PARAMS)


@pytest.mark.parametrize("seed", [0, 7, 12001])
def test_jobs_arrive_in_order_and_cover_the_run(seed: int) -> None:
    jobs = generate(seed, PARAMS)
    arrivals = [j.at for j in jobs]
    assert arrivals == sorted(arrivals)
    assert max(j.at for j in _batches(jobs)) >= PARAMS.seconds
    stream = [j.at for j in jobs if j.kind == "stream"]
    assert stream == [k * PARAMS.stream_period_s + STREAM_OFFSET_S for k in range(len(stream))]


@pytest.mark.parametrize("seed", [0, 7, 12001])
def test_batch_kinds_come_in_shuffled_rounds_of_every_kind(seed: int) -> None:
    kinds = [j.kind for j in sorted(_batches(generate(seed, PARAMS)), key=lambda j: j.at)]
    full = len(kinds) - len(kinds) % len(BATCH_KINDS)
    rounds = [kinds[i:i + len(BATCH_KINDS)] for i in range(0, full, len(BATCH_KINDS))]
    assert all(sorted(r) == sorted(BATCH_KINDS) for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1  # shuffled, not one fixed order


def test_a_warm_up_of_no_length_still_holds_every_kind_the_asked_number_of_times() -> None:
    jobs = generate(12000, WorkloadParams(seconds=0.0, batch_gap_s=1.6, min_per_kind=8))
    counts = {kind: sum(1 for j in jobs if j.kind == kind) for kind in WORKLOAD_KINDS}
    assert all(n >= 8 for n in counts.values()), counts


@pytest.mark.parametrize("seed", [0, 7])
def test_each_kind_has_its_documented_shape(seed: int) -> None:
    for job in generate(seed, PARAMS):
        if job.kind == "tiny":
            assert 64 <= len(job.costs) <= 128 and job.natural == len(job.costs)
            assert all(0.004 <= c <= 0.006 for c in job.costs)
        elif job.kind == "medium":
            assert 6 <= len(job.costs) <= 10 and job.natural == len(job.costs)
        elif job.kind == "skewed":
            light, heavy = job.costs[:-3], job.costs[-3:]
            assert 6 <= len(light) <= 9 and job.natural == 2
            assert min(heavy) > 5 * max(light)
        else:
            assert job.kind == "stream" and len(job.costs) == 3 and job.natural == 3


def test_features_name_the_priority_kind_and_input_the_composer_classifies_by() -> None:
    tiny = Job(0.0, "tiny", (0.005,) * 64, 64)
    stream = Job(0.5, "stream", (0.05,) * 3, 3)
    assert tiny.features == {"priority": "low", "kind": "batch", "input_bytes": 64 * (256 << 10),
                             "partitions": 64, "name": "tiny"}
    assert stream.features == {"priority": "high", "kind": "stream", "input_bytes": 3 << 20,
                               "partitions": 3, "name": "stream"}
    assert tiny.work_ms == pytest.approx(320.0)


def test_the_bench_workload_runs_these_draws() -> None:
    pytest.importorskip("pyspark")
    from spark_sched import mixes
    from spark_sched.workloads import mixed

    assert (mixed.Job, mixed.WorkloadParams, mixed.generate) == (mixes.Job, mixes.WorkloadParams, mixes.generate)
