"""`sampling` point: KMN's `extra` -- how many inputs beyond K a job that may use any K of N launches.

KMN itself lives in `spark_sched.sampling` (its own issue). This plugin only
hands its `extra` to `spark_sched.any_k_of_n(..., extra=...)` through
`ctx.any_k_of_n`; where that package cannot be imported, `available()` says so
in one line and a job that asks for it gets one clear error, never a silent
fallback.
"""

from __future__ import annotations

import importlib
from typing import Any

from spark_sched.composer.errors import SamplingUnavailable
from spark_sched.composer.points import Param, Plugin, register

KMN_MODULE = "spark_sched.sampling"


class Sampling(Plugin):
    def extra(self) -> float:
        """KMN's extra for this job: 0 launches exactly K upstream tasks."""
        return 0.0


@register("sampling", "none")
class NoSampling(Sampling):
    """No surplus: KMN still picks which K inputs suit the cluster, but launches no extra upstream task."""


@register("sampling", "kmn")
class Kmn(Sampling):
    """Launch M = ceil(K(1 + extra)) upstream tasks and keep the K outputs with the least cross-rack skew."""

    params = {"extra": Param(float, "a number from 0 to 10 (KMN's share of extra upstream tasks)",
                             lambda v: 0.0 <= v <= 10.0, 0.05)}

    def extra(self) -> float:
        return float(self.values["extra"])


def kmn_function() -> Any:
    """`spark_sched.sampling.any_k_of_n`, or one clear error saying why it cannot be had."""
    reason = unavailable_reason()
    if reason:
        raise SamplingUnavailable(f"sampling = 'kmn' needs {KMN_MODULE}.any_k_of_n, which {reason}")
    return importlib.import_module(KMN_MODULE).any_k_of_n


def unavailable_reason() -> str:
    """Empty when KMN can be used here; else why not, as the tail of one sentence."""
    try:
        module = importlib.import_module(KMN_MODULE)
    except ImportError as exc:
        return f"cannot be imported here ({exc})"
    if not hasattr(module, "any_k_of_n"):
        return f"is not defined in {KMN_MODULE}"
    return ""
