"""`preemption` point: the priority controller's policy (none, kill, requeue, lb) while a HIGH job runs.

The controller (`spark_sched.priority.PriorityController`) is one per application
and stops LOW work for whatever HIGH work waits; the HIGH job's composition
decides how it does so. `spark_sched.composer.builtin` registers this plugin
once per policy in `spark_sched.priority.POLICIES`, under the policy's name, so
a policy added there is a choice here without editing this module -- except
`suspend`, which needs a cluster with spare slots and is chosen when the
controller starts, not per job. Without a
controller handed to the composer (or for a LOW job) the choice has nothing to
act on and is a no-op.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from spark_sched.composer.points import Controller, PluginContext, PreemptionPlugin
from spark_sched.priority import policy

_LOCK = threading.Lock()
NOT_PER_JOB = frozenset({"suspend"})  # set up when the controller starts (spare slots, a core cap)


class ControllerPolicy(PreemptionPlugin):
    """Set the controller's policy to the one this plugin is named after, for the duration of a HIGH job."""

    def enter(self, ctx: PluginContext) -> AbstractContextManager[object]:
        if ctx.controller is None or not ctx.high:
            return nullcontext()
        return _swapped(ctx.controller, self.name)


@contextmanager
def _swapped(controller: Controller, name: str) -> Iterator[None]:
    with _LOCK:
        previous = controller.policy
        chosen = policy(name)
        controller.policy = chosen
    try:
        yield
    finally:
        with _LOCK:
            if controller.policy is chosen:  # a later HIGH job may have set its own meanwhile: leave that one
                controller.policy = previous
