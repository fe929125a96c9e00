"""The hedge gain (no Spark): E[max of K] - E[K-th of M] from task times, exact, with cancelled tasks censored."""

from __future__ import annotations

import numpy as np
import pytest

from spark_sched.sampling.hedge import MIN_OBSERVED, expected_kth, hedge_gain_s
from spark_sched.sampling.history import TaskTime, TaskTimes, fn_key

ONE_IN_EIGHT_SLOW = [TaskTime(1.0)] * 7 + [TaskTime(3.0)]


def test_expected_order_statistics_of_a_two_point_distribution_are_exact() -> None:
    # one task in eight takes 3 s, the rest 1 s: the slowest of 6 is 3 s unless all 6 are quick
    assert expected_kth(ONE_IN_EIGHT_SLOW, 6, 6) == pytest.approx(1 + 2 * (1 - (7 / 8) ** 6))
    # the 6th of 7 is 3 s only when two or more of the 7 are slow
    two_or_more = 1 - (7 / 8) ** 7 - 7 * (1 / 8) * (7 / 8) ** 6
    assert expected_kth(ONE_IN_EIGHT_SLOW, 6, 7) == pytest.approx(1 + 2 * two_or_more)
    assert hedge_gain_s(ONE_IN_EIGHT_SLOW, 6, 7) == pytest.approx(2 * ((1 - (7 / 8) ** 6) - two_or_more))


def test_expected_kth_matches_resampling_of_the_same_times() -> None:
    rng = np.random.default_rng(7)
    seen = rng.lognormal(0.0, 0.8, 40)
    draws = np.sort(rng.choice(seen, size=(200_000, 7)), axis=1)[:, 5]  # 6th of 7, drawn from the seen times
    assert expected_kth([TaskTime(float(s)) for s in seen], 6, 7) == pytest.approx(draws.mean(), rel=0.01)


def test_no_gain_is_claimed_from_few_times_or_without_spread() -> None:
    assert hedge_gain_s(ONE_IN_EIGHT_SLOW[: MIN_OBSERVED - 1], 6, 7) == 0.0
    assert hedge_gain_s([TaskTime(1.0)] * 20, 6, 7) == pytest.approx(0.0)
    assert hedge_gain_s(ONE_IN_EIGHT_SLOW, 6, 6) == 0.0  # M = K: nothing to hedge


def test_cancelled_tasks_count_as_at_least_that_long() -> None:
    # two tasks cut at 2 s: dropping them would say "never slower than 1 s"; censored they keep the tail open
    cut = [TaskTime(1.0)] * 8 + [TaskTime(2.0, finished=False)] * 2
    dropped = [TaskTime(1.0)] * 8
    assert hedge_gain_s(dropped, 6, 7) == pytest.approx(0.0)
    assert hedge_gain_s(cut, 6, 7) > 0.1
    assert expected_kth(cut, 6, 6) > expected_kth(dropped, 6, 6)


def test_task_times_are_kept_per_application_and_function() -> None:
    def quick(rows: object) -> list[int]:
        return [0]

    def other(rows: object) -> list[int]:
        return [1]

    times = TaskTimes()
    times.record("app-1", fn_key(quick), [TaskTime(1.0)] * 3)
    times.record("app-2", fn_key(quick), [TaskTime(2.0)])
    assert times.get("app-1", fn_key(quick)) == [TaskTime(1.0)] * 3
    assert times.get("app-1", fn_key(other)) == []
    first = lambda rows: rows  # noqa: E731 - two lambdas of one scope differ by their line
    second = lambda rows: [rows]  # noqa: E731
    assert fn_key(quick) != fn_key(other) and fn_key(first) != fn_key(second)
