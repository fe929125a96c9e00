"""The composer's link to KMN (`spark_sched.sampling.any_k_of_n`), looked up when a job asks for it.

Looked up by name, not imported at the top: the composer works where the
sampling package cannot be imported, and only a job that asks for KMN gets one
clear error (SamplingUnavailable) saying why, never a silent fallback.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from spark_sched.composer.errors import SamplingUnavailable

KMN_MODULE = "spark_sched.sampling"


def kmn_function() -> Callable[..., Any]:
    """`spark_sched.sampling.any_k_of_n`, or one clear error saying why it cannot be had."""
    reason = unavailable_reason()
    if reason:
        raise SamplingUnavailable(f"sampling = 'kmn' needs {KMN_MODULE}.any_k_of_n, which {reason}")
    function: Callable[..., Any] = importlib.import_module(KMN_MODULE).any_k_of_n
    return function


def unavailable_reason() -> str:
    """Empty when KMN can be used here; else why not, as the tail of one sentence."""
    try:
        module = importlib.import_module(KMN_MODULE)
    except ImportError as exc:
        return f"cannot be imported here ({exc})"
    if not hasattr(module, "any_k_of_n"):
        return f"is not defined in {KMN_MODULE}"
    return ""
