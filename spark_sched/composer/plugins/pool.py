"""`pool` point: which FAIR pool a job's tasks run in (the pool file gives each its weight and minShare)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from spark_sched.composer.points import Param, Plugin, register
from spark_sched.pools import pool as pool_scope
from spark_sched.pools.conf import POOL_PROPERTY

if TYPE_CHECKING:
    from spark_sched.composer.scope import JobContext


@register("pool", "default")
class DefaultPool(Plugin):
    """Spark's own `default` pool (FIFO inside it): what a job gets when nothing sets a pool."""

    def enter(self, ctx: JobContext) -> AbstractContextManager[Any]:
        return _unset_pool(ctx)


@register("pool", "named")
class NamedPool(Plugin):
    """A pool the application loaded (checked by `spark_sched.pools.pool`; Spark would create a typo silently)."""

    params = {"pool": Param(str, "a pool name from the application's pool file", lambda v: bool(v), "default")}

    def enter(self, ctx: JobContext) -> AbstractContextManager[Any]:
        return pool_scope(self.values["pool"], ctx.sc)


@contextmanager
def _unset_pool(ctx: JobContext) -> Iterator[None]:
    previous = ctx.sc.getLocalProperty(POOL_PROPERTY)
    ctx.sc.setLocalProperty(POOL_PROPERTY, None)  # type: ignore[arg-type]  # None removes the property
    try:
        yield
    finally:
        ctx.sc.setLocalProperty(POOL_PROPERTY, previous)  # type: ignore[arg-type]
