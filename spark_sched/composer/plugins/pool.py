"""`pool` point: which FAIR pool a job's tasks run in (the pool file gives each its weight and minShare)."""

from __future__ import annotations

from contextlib import AbstractContextManager

from spark_sched.composer.points import Param, PluginContext, PoolPlugin
from spark_sched.jobscope import job_scope
from spark_sched.pools import pool as pool_scope


class DefaultPool(PoolPlugin):
    """Spark's own `default` pool (FIFO inside it): what a job gets when nothing sets a pool."""

    def enter(self, ctx: PluginContext) -> AbstractContextManager[object]:
        return job_scope(ctx.sc, pool=None)


class NamedPool(PoolPlugin):
    """A pool the application loaded (checked by `spark_sched.pools.pool`; Spark would create a typo silently)."""

    params = {"pool": Param(str, "a pool name from the application's pool file", lambda v: bool(v), "default")}

    def enter(self, ctx: PluginContext) -> AbstractContextManager[object]:
        return pool_scope(self.values["pool"], ctx.sc)

