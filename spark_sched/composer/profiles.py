"""Compositions are data: named profiles in TOML, one plugin choice per extension point, strictly validated.

```toml
[profiles.fine]                       # a composition: a choice per point (points left out get their default)
granularity = { plugin = "per_slot", factor = 4 }
pool = "default"                      # a bare string names a plugin with its default parameters

[priors]                              # cold start: what an unseen class runs first (most specific key wins)
default = "fine"
high = "stream_first"                 # keys: default, a priority, a kind, or "priority/kind"

[learning]
switch_margin = 1.1                   # switch only to a composition at least 10% faster ...
switch_confidence = 0.9               # ... with this posterior probability
explore_trials = 8                    # jobs each other composition may get before the class settles
low_explore = 0.5                     # at most this fraction of a LOW class's jobs explore
high_explore = 0.05                   # and of a HIGH class's
high_latency_target_ms = 1000         # never explore, on HIGH work, a composition estimated to miss it
discount = 0.25                       # evidence kept when a class's times drift (then it explores again)
```

Anything unknown -- a section, a point, a plugin, a parameter, a value -- is one
`CompositionError` naming the file, the key and the valid choices. Plugins are
chosen by name from a `PluginSet` (the in-tree one, `builtin()`, unless given).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spark_sched.composer.bandit import Rules
from spark_sched.composer.builtin import builtin
from spark_sched.composer.classify import PRIORITIES, PROCESSING_KINDS
from spark_sched.composer.errors import CompositionError
from spark_sched.composer.points import (
    POINTS,
    GranularityPlugin,
    JobPlugin,
    LocalityPlugin,
    Plugin,
    PluginSet,
    PoolPlugin,
    PreemptionPlugin,
    SamplingPlugin,
)
from spark_sched.tomlread import TomlError, loads, read_text

DEFAULT_FILE = Path("conf/compositions.toml")
SOURCE_TREE_FILE = Path(__file__).resolve().parents[2] / DEFAULT_FILE
SECTIONS = ("profiles", "priors", "learning")


@dataclass(frozen=True)
class Learning:
    """How the bandit learns: when it switches, how much it explores (HIGH work less), what a drift forgets."""

    switch_margin: float = 1.1
    switch_confidence: float = 0.9
    explore_trials: int = 8
    low_explore: float = 0.5
    high_explore: float = 0.05
    high_latency_target_ms: float = 1000.0
    discount: float = 0.1

    def rules(self, priority: str) -> Rules:
        """The bandit's rules for a class of this priority."""
        high = priority == "high"
        return Rules(self.high_explore if high else self.low_explore, self.explore_trials, self.switch_margin,
                     self.switch_confidence, self.high_latency_target_ms if high else None)


_LEARNING_RULES: dict[str, tuple[str, Any]] = {
    "switch_margin": ("a number >= 1 (1.1: at least 10% faster)", lambda v: 1.0 <= v <= 100.0),
    "switch_confidence": ("a probability in [0.5, 1)", lambda v: 0.5 <= v < 1.0),
    "explore_trials": ("an integer >= 0", lambda v: v >= 0 and float(v).is_integer()),
    "low_explore": ("a fraction in [0, 1]", lambda v: 0.0 <= v <= 1.0),
    "high_explore": ("a fraction in [0, 1]", lambda v: 0.0 <= v <= 1.0),
    "high_latency_target_ms": ("a number of ms > 0", lambda v: v > 0),
    "discount": ("a number in (0, 1]", lambda v: 0.0 < v <= 1.0),
}


@dataclass(frozen=True)
class Composition:
    """A named profile: the plugin chosen at every extension point, and the priorities it may serve."""

    name: str
    pool: PoolPlugin
    preemption: PreemptionPlugin
    sampling: SamplingPlugin
    granularity: GranularityPlugin
    locality: LocalityPlugin
    applies_to: tuple[str, ...] = PRIORITIES

    @property
    def plugins(self) -> dict[str, Plugin]:
        """Every point's plugin, in the points' order."""
        return {"pool": self.pool, "preemption": self.preemption, "sampling": self.sampling,
                "granularity": self.granularity, "locality": self.locality}

    def plugin(self, point: str) -> Plugin:
        return self.plugins[POINTS.get(point).name]

    def job_plugins(self) -> tuple[JobPlugin, ...]:
        """The plugins entered around each job (the job-scoped points)."""
        return self.pool, self.preemption, self.sampling, self.granularity

    def application_conf(self) -> dict[str, str]:
        """Spark conf for the application-scoped points (locality): give it to the session builder."""
        return self.locality.spark_conf()

    def describe(self) -> dict[str, str]:
        return {point: plugin.describe() for point, plugin in self.plugins.items()}


@dataclass(frozen=True)
class Compositions:
    """Everything a composition file holds."""

    profiles: dict[str, Composition]
    priors: dict[str, str]
    learning: Learning = field(default_factory=Learning)
    source: str = "defaults"

    def arms(self, priority: str) -> list[str]:
        """The compositions a job of this priority may run."""
        return [name for name, c in self.profiles.items() if priority in c.applies_to]

    def prior(self, priority: str, kind: str) -> str:
        """The cold-start composition: the most specific prior key that matches, else the first arm."""
        for key in (f"{priority}/{kind}", priority, kind, "default"):
            if key in self.priors and priority in self.profiles[self.priors[key]].applies_to:
                return self.priors[key]
        arms = self.arms(priority)
        if not arms:
            raise CompositionError("profiles.*.applies_to", priority, "at least one profile for each priority",
                                   self.source)
        return arms[0]


def toolkit_compositions_file() -> Path:
    """The toolkit's own composition file: the checkout's `conf/` when run from source, else `conf/` under the
    working directory (an installed wheel carries no `conf/`; the test image and `jobs/` run beside one)."""
    for candidate in (SOURCE_TREE_FILE, DEFAULT_FILE.resolve()):
        if candidate.is_file():
            return candidate
    raise CompositionError("composition file", str(DEFAULT_FILE), "conf/compositions.toml in the checkout or the "
                           "working directory", str(DEFAULT_FILE.resolve()))


def load_compositions(path: str | os.PathLike[str] | None = None, plugins: PluginSet | None = None) -> Compositions:
    """Read and validate a composition file (default `conf/compositions.toml`) against `plugins` (default built-in)."""
    file = Path(path) if path is not None else DEFAULT_FILE
    source = str(file)
    try:
        data = loads(read_text(file))
    except OSError as exc:
        raise CompositionError("composition file", source, "a readable TOML file", source) from exc
    except TomlError as exc:  # syntax, nesting too deep for Python, or not UTF-8
        raise CompositionError("TOML syntax", str(exc), "valid TOML", source) from exc
    return parse_compositions(data, source, plugins)


def parse_compositions(data: dict[str, Any], source: str, plugins: PluginSet | None = None) -> Compositions:
    """Turn a parsed TOML document into Compositions, refusing anything unknown; plugins come from `plugins`."""
    available = plugins or builtin()
    for key, value in data.items():
        if key not in SECTIONS:
            raise CompositionError(key, value, [f"[{s}]" for s in SECTIONS], source)
    raw_profiles = _table(data.get("profiles"), "profiles", source)
    if not raw_profiles:
        raise CompositionError("profiles", raw_profiles, "at least one [profiles.NAME] table", source)
    profiles = {name: _profile(name, body, source, available) for name, body in raw_profiles.items()}
    priors = _priors(_table(data.get("priors", {}), "priors", source), profiles, source)
    learning = _learning(_table(data.get("learning", {}), "learning", source), source)
    return Compositions(profiles, priors, learning, source)


def _table(value: Any, key: str, source: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CompositionError(key, value, "a table", source)
    return value


def _profile(name: str, body: Any, source: str, available: PluginSet) -> Composition:
    key = f"profiles.{name}"
    body = _table(body, key, source)
    applies_to = body.get("applies_to", list(PRIORITIES))
    if not isinstance(applies_to, list) or not applies_to or any(p not in PRIORITIES for p in applies_to):
        raise CompositionError(f"{key}.applies_to", applies_to, f"a non-empty list of {', '.join(PRIORITIES)}",
                               source)
    chosen: dict[str, Plugin] = {}
    for point, choice in body.items():
        if point == "applies_to":
            continue
        if point not in POINTS:
            raise CompositionError(f"{key}.{point}", choice, [*POINTS, "applies_to"], source)
        chosen[point] = _plugin(f"{key}.{point}", available, point, choice, source)
    for point, spec in POINTS.items():
        chosen.setdefault(point, available.at(point).get(spec.default)(spec.default))
    return _composition(name, [chosen[point] for point in POINTS], tuple(applies_to))


def _composition(name: str, chosen: list[Plugin], applies_to: tuple[str, ...]) -> Composition:
    """The chosen plugins as each point's interface (a PluginSet only holds plugins that implement their point)."""
    pool, preemption, sampling, granularity, locality = chosen
    if not (isinstance(pool, PoolPlugin) and isinstance(preemption, PreemptionPlugin)
            and isinstance(sampling, SamplingPlugin) and isinstance(granularity, GranularityPlugin)
            and isinstance(locality, LocalityPlugin)):
        raise CompositionError(f"profiles.{name}", [type(p).__name__ for p in chosen],
                               "a plugin implementing each point's interface", "PluginSet")
    return Composition(name, pool, preemption, sampling, granularity, locality, applies_to)


def _plugin(key: str, available: PluginSet, point: str, choice: Any, source: str) -> Plugin:
    """A plugin from `"name"` or `{plugin = "name", param = value, ...}`."""
    registry = available.at(point)
    if isinstance(choice, str):
        name, values = choice, {}
    elif isinstance(choice, dict):
        values = dict(choice)
        name = values.pop("plugin", None)
        if not isinstance(name, str):
            raise CompositionError(f"{key}.plugin", name, sorted(registry.names()), source)
    else:
        raise CompositionError(key, choice, 'a plugin name or a table {plugin = "NAME", ...}', source)
    if name not in registry:
        raise CompositionError(key if isinstance(choice, str) else f"{key}.plugin", name, sorted(registry.names()),
                               source)
    cls = registry.get(name)
    checked: dict[str, Any] = {}
    for param, value in values.items():
        spec = cls.params.get(param)
        if spec is None:
            allowed = sorted(cls.params) or f"no parameters for plugin {name!r}"
            raise CompositionError(f"{key}.{param}", value, ["plugin", *allowed] if cls.params else allowed, source)
        try:
            checked[param] = spec.coerce(value)
        except ValueError:
            raise CompositionError(f"{key}.{param}", value, spec.allowed, source) from None
    return cls(name, **checked)


def _priors(body: dict[str, Any], profiles: dict[str, Composition], source: str) -> dict[str, str]:
    keys = ["default", *PRIORITIES, *PROCESSING_KINDS, *(f"{p}/{k}" for p in PRIORITIES for k in PROCESSING_KINDS)]
    for key, value in body.items():
        if key not in keys:
            raise CompositionError(f"priors.{key}", value, keys, source)
        if value not in profiles:
            raise CompositionError(f"priors.{key}", value, sorted(profiles), source)
    return dict(body)


def _learning(body: dict[str, Any], source: str) -> Learning:
    values: dict[str, float] = {}
    for key, value in body.items():
        if key not in _LEARNING_RULES:
            raise CompositionError(f"learning.{key}", value, sorted(_LEARNING_RULES), source)
        allowed, check = _LEARNING_RULES[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not check(float(value)):
            raise CompositionError(f"learning.{key}", value, allowed, source)
        values[key] = int(value) if key == "explore_trials" else float(value)
    return Learning(**values)
