"""Find experiments: every module in `spark_sched.bench.experiments` that defines `EXPERIMENT`.

Adding an experiment is adding one module; nothing else is edited. The ones
that load go into a `Registry[Experiment]`, the toolkit's one idiom for a choice
by name, so an unknown name reads like every other. A module that fails to
import does not hide the others: `--list` shows its error, and asking for it by
name raises that error as one line.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

from spark_sched.bench import experiments
from spark_sched.bench.base import Experiment
from spark_sched.registry import Registry, RegistryError

KIND = "spark-sched bench: experiment"


class ExperimentError(RegistryError):
    """An experiment that does not exist or could not be loaded."""


@dataclass(frozen=True)
class Entry:
    """One experiment module: the loaded EXPERIMENT, or why it could not be loaded."""

    name: str
    experiment: Experiment | None
    error: str = ""


def _module_names() -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules(experiments.__path__) if not info.name.startswith("_"))


def _load(module_name: str) -> Entry:
    try:
        module = importlib.import_module(f"{experiments.__name__}.{module_name}")
    except Exception as exc:  # noqa: BLE001 - a broken module must not hide the others
        return Entry(module_name, None, f"{type(exc).__name__}: {exc}")
    experiment = getattr(module, "EXPERIMENT", None)
    if experiment is None:
        return Entry(module_name, None, "module defines no EXPERIMENT")
    return Entry(getattr(experiment, "name", module_name), experiment)


def discover() -> dict[str, Entry]:
    """All experiment modules by experiment name (modules without EXPERIMENT are skipped)."""
    entries = [_load(name) for name in _module_names()]
    return {e.name: e for e in entries if e.error != "module defines no EXPERIMENT"}


def experiments_registry(entries: dict[str, Entry] | None = None) -> Registry[Experiment]:
    """The experiments that load, by name (sorted): what `get` chooses from."""
    found = discover() if entries is None else entries
    registry: Registry[Experiment] = Registry(KIND)
    for name in sorted(found):
        experiment = found[name].experiment
        if experiment is not None:
            registry.add(name, experiment)
    return registry


def get(name: str) -> Experiment:
    """The experiment called `name`, or one clear error naming the ones that exist."""
    entries = discover()
    entry = entries.get(name)
    if entry is not None and entry.experiment is None:
        raise ExperimentError(f"{KIND} {name!r} could not be loaded: {entry.error}")
    try:
        return experiments_registry(entries).get(name)
    except RegistryError as exc:
        raise ExperimentError(str(exc)) from None
