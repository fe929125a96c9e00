"""The decision before launching KMN's extra upstream tasks (no Spark): fit, possible gain, measured overhead."""

from __future__ import annotations

import pytest

from spark_sched.sampling import SamplingError
from spark_sched.sampling.decide import PRIOR_OVERHEAD_S, ExtraTasks, OverheadLog, transfer_gain_s
from spark_sched.sampling.intermediate import Output

SHARE = {"r1": 0.5, "r2": 0.5}
MBIT = 100e6


def test_auto_runs_extra_tasks_only_when_they_fit_and_can_pay() -> None:
    auto = ExtraTasks()
    assert auto.decide(8, 9, local=9, gain_s=0.3, overhead_s=0.1).extra
    no_room = auto.decide(8, 9, local=8, gain_s=0.3, overhead_s=0.1)
    assert not no_room.extra and "does not fit" in no_room.reason
    no_gain = auto.decide(8, 9, local=9, gain_s=0.05, overhead_s=0.1)
    assert not no_gain.extra and "gain 50 ms + hedge 0 ms <= overhead 100 ms" in no_gain.reason
    hedged = auto.decide(8, 9, local=9, gain_s=0.05, overhead_s=0.1, hedge_s=0.2)
    assert hedged.extra and "gain 50 ms + hedge 200 ms > overhead 100 ms" in hedged.reason
    assert not auto.decide(8, 8, local=8, gain_s=9.0, overhead_s=0.0).extra  # M = K: nothing to choose among


def test_always_and_never_override_the_figures() -> None:
    assert ExtraTasks("always").decide(8, 9, local=0, gain_s=0.0, overhead_s=1.0).extra
    assert not ExtraTasks("never").decide(8, 9, local=9, gain_s=9.0, overhead_s=0.0).extra
    with pytest.raises(SamplingError, match="extra_tasks = 'sometimes'.*auto / always / never"):
        ExtraTasks("sometimes")


def test_gain_is_the_transfer_above_a_balanced_choice() -> None:
    one_rack = [Output(i, "r1", 1_000_000, f"h{i}") for i in range(4)]
    balanced = [Output(i, "r1" if i % 2 else "r2", 1_000_000, f"h{i}") for i in range(4)]
    # all 4 MB in r1: 2 MB leave it (the half r2's reducers read) = 0.16 s at 100 Mbit/s; balanced: 1 MB = 0.08 s
    assert transfer_gain_s(one_rack, SHARE, MBIT) == pytest.approx(0.16 - 0.08)
    assert transfer_gain_s(balanced, SHARE, MBIT) == pytest.approx(0.0)
    assert transfer_gain_s([], SHARE, MBIT) == 0.0


def test_overhead_is_the_prior_until_measured_then_the_recent_median_per_application() -> None:
    log = OverheadLog()
    assert log.estimate("app-1") == PRIOR_OVERHEAD_S
    for seconds in (0.05, 0.4, 0.07):
        log.record("app-1", seconds)
    assert log.estimate("app-1") == pytest.approx(0.07)
    assert log.estimate("app-2") == PRIOR_OVERHEAD_S
    for _ in range(10):  # only the most recent runs count
        log.record("app-1", 1.0)
    assert log.estimate("app-1") == pytest.approx(1.0)
