"""The `[priority]` section of the settings file: policy, starvation guard, trigger and classes, checked strictly.

```toml
[priority]
policy = "lb"          # none, kill, requeue, lb, suspend
guard = "share"        # share, count, none
trigger = "tasks"      # tasks: HIGH tasks waiting; predict: also a stream trigger about to fire
cores = 3              # suspend only: tasks the cluster's cores run at once (default: half the task slots)
[priority.share]       # options of the share guard
min_slots = 1
max_wait_s = 1.0
[priority.count]       # options of the count guard
max_preemptions = 3
max_preempted_s = 30.0
[priority.classes.high]
level = 1
pool = "high"
weight = 1000
min_share = 64
preemptible = false
```

Every key is optional (defaults above; without `classes`, `HIGH` and `LOW`;
without `cores`, half the application's task slots).
An unknown key, a wrong type or a value out of range is one `SettingsError`
naming the file, the key, the value and what is allowed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spark_sched.errors import SettingsError
from spark_sched.priority.classes import DEFAULT_CLASSES, PriorityClass
from spark_sched.priority.policy.guards import GUARDS, Guard, guard
from spark_sched.priority.policy.policies import POLICIES
from spark_sched.settings_file import read_settings_file

TRIGGERS = ("tasks", "predict")
_GUARD_OPTIONS: dict[str, dict[str, type]] = {
    "share": {"min_slots": int, "max_wait_s": float},
    "count": {"max_preemptions": int, "max_preempted_s": float},
    "none": {},
}
_CLASS_KEYS: dict[str, type] = {"level": int, "pool": str, "weight": int, "min_share": int, "preemptible": bool}
_TOP_KEYS = ("policy", "guard", "trigger", "cores", "classes", *sorted(k for k in _GUARD_OPTIONS if _GUARD_OPTIONS[k]))


@dataclass(frozen=True)
class PrioritySettings:
    """What `[priority]` configures: the controller's policy, guard (with its options), trigger and classes."""

    policy: str = "lb"
    guard: str = "share"
    guard_options: Mapping[str, float] = field(default_factory=dict)
    trigger: str = "tasks"
    classes: tuple[PriorityClass, ...] = DEFAULT_CLASSES
    cores: int | None = None  # suspend: tasks the cores run at once (None: half the task slots)

    def build_guard(self) -> Guard:
        """The configured guard object, with its options."""
        return guard(self.guard, **self.guard_options)


def _typed(key: str, value: Any, kind: type, source: str) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise SettingsError(key, value, "true or false", source)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else kind):
        wanted = {int: "an integer", float: "a number", str: "a string"}[kind]
        raise SettingsError(key, value, wanted, source)
    return float(value) if kind is float else value


def _table(key: str, value: Any, source: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SettingsError(key, value, "a table", source)
    return value


def _choice(key: str, value: Any, choices: Any, source: str) -> str:
    if value not in choices:
        raise SettingsError(key, value, sorted(choices), source)
    return str(value)


def _guard_options(name: str, body: dict[str, Any], source: str) -> dict[str, float]:
    allowed = _GUARD_OPTIONS[name]
    options: dict[str, float] = {}
    for key, value in _table(f"priority.{name}", body, source).items():
        if key not in allowed:
            raise SettingsError(f"priority.{name}.{key}", value, [f"priority.{name}.{k}" for k in allowed], source)
        options[key] = _typed(f"priority.{name}.{key}", value, allowed[key], source)
    try:
        built = guard(name, **options)  # range checks live in the guard itself
    except SettingsError as exc:
        raise SettingsError(f"priority.{name}.{exc.field.split()[-1]}", exc.value, exc.allowed, source) from None
    return {key: getattr(built, key) for key in allowed}  # every option, defaults filled in


def _classes(body: Any, source: str) -> tuple[PriorityClass, ...]:
    classes = []
    for name, spec in _table("priority.classes", body, source).items():
        spec = _table(f"priority.classes.{name}", spec, source)
        values: dict[str, Any] = {}
        for key, value in spec.items():
            where = f"priority.classes.{name}.{key}"
            if key not in _CLASS_KEYS:
                raise SettingsError(where, value, [f"priority.classes.{name}.{k}" for k in _CLASS_KEYS], source)
            values[key] = _typed(where, value, _CLASS_KEYS[key], source)
        if "level" not in values:
            raise SettingsError(f"priority.classes.{name}.level", None, "an integer >= 1 (required)", source)
        values.setdefault("pool", name)
        try:
            classes.append(PriorityClass(name, **values))
        except SettingsError as exc:
            raise SettingsError(f"priority.classes.{name}", values, exc.allowed, source) from None
    levels = {c.level for c in classes}
    if len(levels) < 2:
        raise SettingsError("priority.classes", sorted(c.name for c in classes), "at least two levels", source)
    return tuple(classes)


def parse_priority(body: Any, source: str) -> PrioritySettings:
    """Turn the `[priority]` table into PrioritySettings, refusing anything unknown or out of range."""
    body = _table("priority", body, source)
    for key, value in body.items():
        if key not in _TOP_KEYS:
            raise SettingsError(f"priority.{key}", value, [f"priority.{k}" for k in _TOP_KEYS], source)
    name = _choice("priority.guard", body.get("guard", "share"), GUARDS, source)
    for other in _GUARD_OPTIONS:
        if other in body:
            _guard_options(other, body[other], source)  # checked even when another guard is chosen
    return PrioritySettings(
        policy=_choice("priority.policy", body.get("policy", "lb"), POLICIES, source),
        guard=name,
        guard_options=_guard_options(name, body.get(name, {}), source),
        trigger=_choice("priority.trigger", body.get("trigger", "tasks"), TRIGGERS, source),
        classes=_classes(body["classes"], source) if "classes" in body else DEFAULT_CLASSES,
        cores=_cores(body["cores"], source) if "cores" in body else None,
    )


def _cores(value: Any, source: str) -> int:
    cores = _typed("priority.cores", value, int, source)
    if cores < 1:
        raise SettingsError("priority.cores", value, "an integer >= 1, below the task slots", source)
    return int(cores)


def load_priority_settings(path: str | os.PathLike[str] | None = None) -> PrioritySettings:
    """The `[priority]` section of the settings file (`path`, else `conf/spark-sched.toml`), else the defaults.

    What `spark_sched.config.load_settings(path).priority` gives, read without the rest of the settings model.
    """
    found = read_settings_file(path)
    data, source = found if found is not None else ({}, "defaults")
    return parse_priority(data.get("priority", {}), source)
