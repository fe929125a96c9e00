"""Extension points: the typed interface of each, and the set of plugins a composer chooses from.

Kubernetes' scheduling framework, on Spark's knobs. A mechanism plugs in at a
named point as one small class that implements that point's interface:

    class PerSlot(GranularityPlugin):
        params = {"factor": Param(float, "a number > 0", lambda v: v > 0, 1.0)}
        def partitions(self, natural: int, slots: int) -> int: ...
        def sql_conf(self) -> dict[str, str]: ...

This module is the framework only: it never imports a plugin. Whoever
assembles a `PluginSet` registers the plugins (`spark_sched.composer.builtin`
for the in-tree ones); profiles choose among them by name. A plugin declares
its parameters (type, default, what is allowed), so compositions are validated
before anything runs.

Points are `job`-scoped (entered around each job: pool, preemption, sampling,
granularity) or `application`-scoped (Spark reads them once per application:
locality waits); an application-scoped choice only holds for applications
configured with it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from spark_sched.composer.classify import JobFeatures
from spark_sched.registry import Registry, RegistryError

if TYPE_CHECKING:
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    from spark_sched.priority.policy.policies import Policy

JOB, APPLICATION = "job", "application"


class Controller(Protocol):
    """What the preemption point steers: a running controller's current policy (`PriorityController`)."""

    policy: Policy


@dataclass(frozen=True)
class PluginContext:
    """What a job-scoped plugin reads about the job it is entered around."""

    spark: SparkSession
    features: JobFeatures
    job_class: str
    composition: str
    tags: tuple[str, ...]
    slots: int
    controller: Controller | None = None

    @property
    def sc(self) -> SparkContext:
        return self.spark.sparkContext

    @property
    def priority(self) -> str:
        return self.features.priority

    @property
    def kind(self) -> str:
        return self.features.kind

    @property
    def high(self) -> bool:
        return self.features.priority == "high"


@dataclass(frozen=True)
class Param:
    """One plugin parameter: its Python type, what is allowed (as text and as a check), its default."""

    kind: type
    allowed: str
    check: Callable[[Any], bool] = lambda value: True
    default: Any = None

    def coerce(self, value: Any) -> Any:
        """The value in the parameter's type, or raise ValueError when it is not allowed."""
        if isinstance(value, bool) and self.kind is not bool:
            raise ValueError(value)
        if self.kind is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, self.kind) or not self.check(value):
            raise ValueError(value)
        return value


class Plugin:
    """A mechanism at one point, under the name a composition chose it by, with its checked parameters."""

    params: ClassVar[dict[str, Param]] = {}

    def __init__(self, name: str, **values: Any) -> None:
        self.name = name
        self.values = {key: values.get(key, p.default) for key, p in self.params.items()}

    def describe(self) -> str:
        """`name` or `name(key=value, ...)`: how `composer show` prints the choice."""
        args = ", ".join(f"{k}={v}" for k, v in self.values.items())
        return f"{self.name}({args})" if args else self.name

    def to_json(self) -> dict[str, Any]:
        return {"plugin": self.name, **self.values}


class JobPlugin(Plugin):
    """A job-scoped plugin: `enter(ctx)` gives the context manager active while the job runs (nothing by default)."""

    def enter(self, ctx: PluginContext) -> AbstractContextManager[object]:
        return nullcontext()


class PoolPlugin(JobPlugin, ABC):
    """`pool`: the FAIR pool the job's tasks run in, set by `enter`."""

    @abstractmethod
    def enter(self, ctx: PluginContext) -> AbstractContextManager[object]: ...


class PreemptionPlugin(JobPlugin, ABC):
    """`preemption`: the controller's policy while the job runs, set by `enter`."""

    @abstractmethod
    def enter(self, ctx: PluginContext) -> AbstractContextManager[object]: ...


class SamplingPlugin(JobPlugin, ABC):
    """`sampling`: KMN's `extra` for jobs that may use any K of N inputs."""

    @abstractmethod
    def extra(self) -> float: ...


class GranularityPlugin(JobPlugin, ABC):
    """`granularity`: the partition count for a job's natural one, and SQL conf for its own session (AQE)."""

    @abstractmethod
    def partitions(self, natural: int, slots: int) -> int: ...

    @abstractmethod
    def sql_conf(self) -> dict[str, str]: ...


class LocalityPlugin(Plugin, ABC):
    """`locality`: Spark conf for the session builder, and whether a running application has this choice."""

    @abstractmethod
    def spark_conf(self) -> dict[str, str]: ...

    @abstractmethod
    def matches(self, app_conf: dict[str, str]) -> bool: ...


@dataclass(frozen=True)
class Point:
    """A named extension point: where it acts, its interface, and the plugin a composition gets when it names none."""

    name: str
    scope: str
    base: type[Plugin]
    default: str
    doc: str


POINTS: Registry[Point] = Registry("extension point")
for _point in (
    Point("pool", JOB, PoolPlugin, "default", "the FAIR pool (and so the weight and minShare) the job's tasks run in"),
    Point("preemption", JOB, PreemptionPlugin, "none", "the priority controller's policy while this (HIGH) job runs"),
    Point("sampling", JOB, SamplingPlugin, "none", "KMN's `extra` for jobs that can use any K of N inputs"),
    Point("granularity", JOB, GranularityPlugin, "natural", "partition count, or AQE's advisory partition size"),
    Point("locality", APPLICATION, LocalityPlugin, "default", "spark.locality.wait (per application)"),
):
    POINTS.add(_point.name, _point)

P = TypeVar("P", bound=Plugin)


class PluginSet:
    """The plugins a composer may choose from: one `Registry` of plugin classes per extension point."""

    def __init__(self) -> None:
        self._at = {point: Registry[type[Plugin]](f"{point} plugin") for point in POINTS}

    def add(self, point: str, name: str, cls: type[P]) -> type[P]:
        """Register `cls` as plugin `name` at `point`; it must implement that point's interface."""
        base = POINTS.get(point).base
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise RegistryError(f"{point} plugin {name!r} must subclass {base.__name__}")
        self._at[point].add(name, cls)
        return cls

    def register(self, point: str, name: str) -> Callable[[type[P]], type[P]]:
        """Class decorator form of `add` (an unknown point is refused at once, before any class)."""
        POINTS.get(point)
        return lambda cls: self.add(point, name, cls)

    def at(self, point: str) -> Registry[type[Plugin]]:
        """The plugin classes registered at `point`, by name (an unknown point is the registry's one error)."""
        return self._at[POINTS.get(point).name]
