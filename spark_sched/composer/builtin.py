"""The in-tree plugins, assembled into the `PluginSet` compositions choose from unless given another.

The framework (`points`) never imports a plugin; this module is the one place
that does, as Kubernetes' in-tree registry is built by its caller. A plugin of
one's own goes in with `@register(point, name)` (or `builtin().add(...)`), before
the composition file naming it is read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from spark_sched.composer.plugins import granularity, locality, pool, preemption, sampling
from spark_sched.composer.points import P, Plugin, PluginSet
from spark_sched.priority import POLICIES


@functools.cache
def builtin() -> PluginSet:
    """The in-tree plugins, one registry per point, default plugin first."""
    plugins = PluginSet()
    plugins.add("pool", "default", pool.DefaultPool)
    plugins.add("pool", "named", pool.NamedPool)
    for name in POLICIES:  # `none` first: the point's default
        if name not in preemption.NOT_PER_JOB:
            plugins.add("preemption", name, preemption.ControllerPolicy)
    plugins.add("sampling", "none", sampling.NoSampling)
    plugins.add("sampling", "kmn", sampling.Kmn)
    plugins.add("granularity", "natural", granularity.Natural)
    plugins.add("granularity", "per_slot", granularity.PerSlot)
    plugins.add("granularity", "fixed", granularity.Fixed)
    plugins.add("granularity", "aqe", granularity.Adaptive)
    plugins.add("locality", "default", locality.DefaultWait)
    plugins.add("locality", "wait", locality.Wait)
    return plugins


def register(point: str, name: str) -> Callable[[type[P]], type[P]]:
    """Class decorator: add `cls` to the built-in set as plugin `name` at `point` (it implements that point)."""
    return builtin().register(point, name)


def plugins(point: str) -> dict[str, type[Plugin]]:
    """The plugins of the built-in set at `point`, by name."""
    return dict(builtin().at(point).items())
