"""The placement side of the wait (no Spark): a hot host's queue, played by hand, and the recommendation it changes."""

from __future__ import annotations

import pytest

from spark_sched.bench.experiments.locality import SCENARIOS, VARIANTS, placement_counts
from spark_sched.locality import LocalityError, recommend_locality_wait
from spark_sched.locality.placement import local_drain_seconds, placed_stage_seconds

# Two hosts of one slot each, every block on host 0, tasks of 1 s, a miss costs 0.5 s more.
# Wait 0: t=0 host 0 runs a local task, host 1 takes one remotely (ends 1.5); t=1 host 0 runs
# its next; t=1.5 host 1 takes the last (ends 3.0). Wait 2 s: host 0 launches every second,
# so the wait never runs out and host 0 runs all four (ends 4.0). Wait 0.5 s: host 1 waits
# 0.5 s after host 0's launch at 0, then takes one (ends 2.0); host 0 runs the other two.


def test_a_hot_host_by_hand() -> None:
    assert placed_stage_seconds([4, 0], 1, 1.0, 0.5, 0.0) == pytest.approx(3.0)
    assert placed_stage_seconds([4, 0], 1, 1.0, 0.5, 0.5) == pytest.approx(3.0)
    assert placed_stage_seconds([4, 0], 1, 1.0, 0.5, 2.0) == pytest.approx(4.0)
    assert local_drain_seconds([4, 0], 1, 1.0) == pytest.approx(4.0)


def test_an_even_placement_never_needs_a_miss() -> None:
    times = [placed_stage_seconds([4, 4, 4], 2, 0.5, 1.0, w) for w in (0.0, 0.3, 3.0)]
    assert times[0] == times[1] == times[2]
    assert times[0] >= local_drain_seconds([4, 4, 4], 2, 0.5)


def test_a_hot_host_turns_the_spread_models_wait_off() -> None:
    # The even-spread model waits when a miss costs more than T/L; on a hot host that wait
    # only holds the other hosts idle until its queue drains.
    spread = recommend_locality_wait(3, 2, 1, 24, 0.5, miss_seconds=0.7)
    hot = recommend_locality_wait(3, 2, 1, 24, 0.5, miss_seconds=0.7, placement=[20, 2, 2])
    assert spread.wait.process > 0.25
    assert hot.wait.process == 0.0 and hot.skips == 0
    assert hot.inputs["placement"] == [20, 2, 2]
    assert hot.predicted_seconds == pytest.approx(placed_stage_seconds([20, 2, 2], 2, 0.5, 0.7, 0.0))
    assert hot.predicted_seconds < local_drain_seconds([20, 2, 2], 2, 0.5)


def test_an_even_placement_keeps_the_spread_models_wait() -> None:
    spread = recommend_locality_wait(3, 2, 1, 12, 0.45, miss_seconds=1.7)
    even = recommend_locality_wait(3, 2, 1, 12, 0.45, miss_seconds=1.7, placement=[4, 4, 4])
    assert even.wait == spread.wait and even.skips == spread.skips > 0


def test_a_cheap_miss_needs_no_wait_either_way() -> None:
    assert recommend_locality_wait(3, 2, 1, 24, 0.5, miss_seconds=0.05).wait.process == 0.0
    assert recommend_locality_wait(3, 2, 1, 24, 0.5, miss_seconds=0.05, placement=[20, 2, 2]).wait.process == 0.0


@pytest.mark.parametrize("placement", [[], [0, 0], [3, -1], [2.5, 1], [True, 2]])
def test_bad_placement_is_one_clear_error(placement: list) -> None:
    with pytest.raises(LocalityError, match="placement = .* is not valid; allowed: blocks per host"):
        recommend_locality_wait(3, 2, 1, 12, 0.5, miss_seconds=1.0, placement=placement)


def test_bench_scenarios_each_have_their_baselines_and_one_recommendation() -> None:
    for (cluster, workload), _ in SCENARIOS.items():
        waits = [v.wait for v in VARIANTS.values() if (v.cluster, v.workload) == (cluster, workload)]
        assert waits.count("recommended") == 1 and "wait_0" in waits
    assert placement_counts(["a", "b", "c"], ["a", "a", "c", "a"]) == [3, 0, 1]
