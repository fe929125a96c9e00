"""`sampling` point: KMN's `extra` -- how many inputs beyond K a job that may use any K of N launches.

KMN itself lives in `spark_sched.sampling`. This plugin only hands its `extra`
to `spark_sched.any_k_of_n(..., extra=...)` through `ctx.any_k_of_n`; where that
package cannot be imported, `spark_sched.composer.kmn` says so in one line and a
job that asks for it gets one clear error, never a silent fallback.
"""

from __future__ import annotations

from spark_sched.composer.points import Param, SamplingPlugin


class Sampling(SamplingPlugin):
    """No surplus unless a subclass says otherwise."""

    def extra(self) -> float:
        """KMN's extra for this job: 0 launches exactly K upstream tasks."""
        return 0.0


class NoSampling(Sampling):
    """No surplus: KMN still picks which K inputs suit the cluster, but launches no extra upstream task."""


class Kmn(Sampling):
    """Launch M = ceil(K(1 + extra)) upstream tasks and keep the K outputs with the least cross-rack skew."""

    params = {"extra": Param(float, "a number from 0 to 10 (KMN's share of extra upstream tasks)",
                             lambda v: 0.0 <= v <= 10.0, 0.05)}

    def extra(self) -> float:
        return float(self.values["extra"])
