"""Extension points and the plugin registry (Kubernetes' scheduling framework, on Spark's knobs).

A mechanism plugs in at a named point as one small class registered by name:

    @register("granularity", "per_slot")
    class PerSlot(Plugin):
        params = {"factor": Param(float, "a number > 0", lambda v: v > 0, 1.0)}
        def partitions(self, natural, slots): ...

The composer only ever sees points, plugin names and `Plugin` objects: adding a
mechanism is adding a plugin module, never editing the composer. A plugin
declares its parameters (type, default, what is allowed), so compositions are
validated before anything runs.

Points are `job`-scoped (applied around each job: pool, preemption, sampling,
granularity) or `application`-scoped (Spark reads them once per application:
locality waits); an application-scoped choice only holds for applications
configured with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from spark_sched.composer.scope import JobContext

JOB, APPLICATION = "job", "application"


@dataclass(frozen=True)
class Point:
    """A named extension point: where it acts, and the plugin a composition gets when it names none."""

    name: str
    scope: str
    default: str
    doc: str


POINTS: dict[str, Point] = {
    p.name: p
    for p in (
        Point("pool", JOB, "default", "the FAIR pool (and so the weight and minShare) the job's tasks run in"),
        Point("preemption", JOB, "none", "the priority controller's policy while this (HIGH) job runs"),
        Point("sampling", JOB, "none", "KMN's `extra` for jobs that can use any K of N inputs"),
        Point("granularity", JOB, "natural", "partition count, or AQE's advisory partition size"),
        Point("locality", APPLICATION, "default", "spark.locality.wait (per application)"),
    )
}


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
    """A mechanism at one point. Subclasses set `params` and override the hooks their point uses.

    `enter(ctx)` is the job-scoped hook: it returns a context manager active while
    the job runs (set a pool, swap the controller's policy). Points add their own
    read-only hooks (granularity's `partitions`, sampling's `extra`, locality's
    `spark_conf`); the composer calls whichever exists.
    """

    point: ClassVar[str] = ""
    name: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}

    def __init__(self, **values: Any) -> None:
        self.values = {key: values.get(key, p.default) for key, p in self.params.items()}

    def enter(self, ctx: JobContext) -> AbstractContextManager[Any]:
        return nullcontext()

    def describe(self) -> str:
        """`name` or `name(key=value, ...)`: how `composer show` prints the choice."""
        args = ", ".join(f"{k}={v}" for k, v in self.values.items())
        return f"{self.name}({args})" if args else self.name

    def to_json(self) -> dict[str, Any]:
        return {"plugin": self.name, **self.values}


_REGISTRY: dict[str, dict[str, type[Plugin]]] = {name: {} for name in POINTS}


def register(point: str, name: str) -> Callable[[type[Plugin]], type[Plugin]]:
    """Class decorator: make `cls` the plugin called `name` at `point`."""
    if point not in POINTS:
        raise ValueError(f"register(): point {point!r} is not one of {', '.join(POINTS)}")

    def add(cls: type[Plugin]) -> type[Plugin]:
        cls.point, cls.name = point, name
        _REGISTRY[point][name] = cls
        return cls

    return add


def plugins(point: str) -> dict[str, type[Plugin]]:
    """The plugins registered at `point`, by name (the built-in ones are loaded first)."""
    _load_builtin()
    return dict(_REGISTRY[point])


def all_plugins() -> Iterator[tuple[str, str, type[Plugin]]]:
    _load_builtin()
    for point, by_name in _REGISTRY.items():
        for name, cls in sorted(by_name.items()):
            yield point, name, cls


def _load_builtin() -> None:
    import spark_sched.composer.plugins  # noqa: F401 - registers the built-in plugins on import
