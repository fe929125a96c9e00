"""Scenarios: the papers' experiments as workloads for the model, run at the scale asked for.

Every module here that defines `SCENARIO` is one scenario; adding a scenario is
adding one module. A scenario runs each of its variants side by side on the same
generated workload (same seed) and reports one row per variant, the paper's
headline beside the model's figure, and its plots.
"""

from __future__ import annotations

import importlib
import pkgutil

from spark_sched.registry import Registry
from spark_sched.sim.scenarios.base import Scenario, ScenarioReport

__all__ = ["Scenario", "ScenarioReport", "get", "scenarios"]

KIND = "spark-sched sim run: SCENARIO"


def scenarios() -> Registry[Scenario]:
    """Every scenario module's SCENARIO, by name."""
    registry: Registry[Scenario] = Registry(KIND)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        scenario = getattr(module, "SCENARIO", None)
        if scenario is not None:
            registry.add(scenario.name, scenario)
    return registry


def get(name: str) -> Scenario:
    """The scenario called `name`, or one line naming the ones that exist."""
    return scenarios().get(name)
