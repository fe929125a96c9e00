"""Hedge gain: how much sooner the K-th of M upstream tasks finishes than the last of K.

Running M > K tasks and keeping the first K to finish cuts the slowest tasks
(KMN's other gain, beside the transfer). With task times drawn from this
application's recent upstream tasks (`history`), the expected gain is
E[max of K] - E[K-th smallest of M]. Both are exact for the empirical
distribution: P(K-th of M > t) = P(fewer than K of M done by t), a binomial in
F(t). F is the Kaplan-Meier estimate (scipy.stats.ecdf) so cancelled tasks
count as "at least this long"; past the longest time seen the tail is cut,
which can only understate the gain. Fewer than `MIN_OBSERVED` times: no gain
is claimed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from spark_sched.sampling.history import TaskTime

MIN_OBSERVED = 8


def _cdf_steps(times: Sequence[TaskTime]) -> tuple[np.ndarray, np.ndarray]:
    """Step points t_0 = 0 < t_1 < ... and F on [t_i, t_i+1); the last point ends the support."""
    done = [t.seconds for t in times if t.finished]
    cut = [t.seconds for t in times if not t.finished]
    sf = stats.ecdf(stats.CensoredData(uncensored=done, right=cut)).sf
    points = np.concatenate(([0.0], sf.quantiles, [max(t.seconds for t in times)]))
    cdf = np.concatenate(([0.0], 1.0 - sf.probabilities, [1.0]))
    return points, cdf


def expected_kth(times: Sequence[TaskTime], k: int, m: int) -> float:
    """E[K-th smallest of M task times] under the empirical (Kaplan-Meier) distribution of `times`."""
    points, cdf = _cdf_steps(times)
    widths = np.diff(points)
    longer = stats.binom.cdf(k - 1, m, cdf[:-1])  # P(K-th of M > t) on each step
    return float(np.sum(widths * longer))


def hedge_gain_s(times: Sequence[TaskTime], k: int, m: int) -> float:
    """Expected seconds saved by keeping the first K of M tasks instead of waiting for all K (>= 0)."""
    if m <= k or sum(t.finished for t in times) < MIN_OBSERVED:
        return 0.0
    return max(0.0, expected_kth(times, k, k) - expected_kth(times, k, m))
