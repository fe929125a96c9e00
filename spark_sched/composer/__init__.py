"""Emergent composition: per workload class, choose at run time the composition of mechanisms that wins.

Mechanisms plug in at named extension points (`points`: pool, preemption,
sampling, granularity, locality), each a typed interface, as small plugins
(`plugins/`) that `builtin` registers; compositions are named profiles in TOML
that choose plugins by name (`profiles`); jobs are put in classes
from what is observable (`classify`); per class a bandit learns which
composition finishes jobs soonest and settles on it, exploring again only when
the class's times drift (`bandit`), remembered as JSON in the state directory
(`state`); `scope` applies a decision around a
job and feeds its measured time back.

The package itself is callable: `spark_sched.composer(spark, profiles=...)` is
`spark_sched.composer.composer(spark, profiles=...)`, while
`import spark_sched.composer` still gives the package.
"""

import sys
import types
from typing import Any

from spark_sched.composer.builtin import builtin, plugins, register
from spark_sched.composer.classify import Classifier, JobFeatures
from spark_sched.composer.errors import ComposerStateError, CompositionError, SamplingUnavailable
from spark_sched.composer.points import (
    POINTS,
    GranularityPlugin,
    JobPlugin,
    LocalityPlugin,
    Param,
    Plugin,
    PluginContext,
    PluginSet,
    Point,
    PoolPlugin,
    PreemptionPlugin,
    SamplingPlugin,
)
from spark_sched.composer.profiles import Composition, Compositions, Learning, load_compositions, parse_compositions
from spark_sched.composer.scope import Composer, Decision, JobContext, JobScope, composer
from spark_sched.composer.state import ComposerState, load_state, save_state, state_path

__all__ = [
    "POINTS",
    "Classifier",
    "Composer",
    "ComposerState",
    "ComposerStateError",
    "Composition",
    "CompositionError",
    "Compositions",
    "Decision",
    "GranularityPlugin",
    "JobContext",
    "JobFeatures",
    "JobPlugin",
    "JobScope",
    "Learning",
    "LocalityPlugin",
    "Param",
    "Plugin",
    "PluginContext",
    "PluginSet",
    "Point",
    "PoolPlugin",
    "PreemptionPlugin",
    "SamplingPlugin",
    "SamplingUnavailable",
    "builtin",
    "composer",
    "load_compositions",
    "load_state",
    "parse_compositions",
    "plugins",
    "register",
    "save_state",
    "state_path",
]


class _CallablePackage(types.ModuleType):
    """Lets `spark_sched.composer(...)` name the function without hiding the package of the same name."""

    def __call__(self, *args: Any, **kwargs: Any) -> Composer:
        return composer(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
