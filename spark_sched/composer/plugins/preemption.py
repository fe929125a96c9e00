"""`preemption` point: the priority controller's policy (none, kill, requeue, lb, lma) while a HIGH job runs.

The controller (`spark_sched.priority.PriorityController`) is one per application
and stops LOW work for whatever HIGH work waits; the HIGH job's composition
decides how it does so. One plugin per policy in `spark_sched.priority.policies`,
so a policy added there is a choice here without editing this module. Without a
controller handed to the composer (or for a LOW job) the choice has nothing to
act on and is a no-op.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from spark_sched.composer.points import Plugin, register
from spark_sched.priority.policies import POLICIES, policy

if TYPE_CHECKING:
    from spark_sched.composer.scope import JobContext

_LOCK = threading.Lock()


class ControllerPolicy(Plugin):
    """Set the controller's policy to this plugin's name for the duration of a HIGH job."""

    def enter(self, ctx: JobContext) -> AbstractContextManager[Any]:
        if ctx.controller is None or not ctx.high:
            return nullcontext()
        return _swapped(ctx.controller, self.name)


@contextmanager
def _swapped(controller: Any, name: str) -> Iterator[None]:
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


for _name in POLICIES:
    register("preemption", _name)(
        type(f"Preempt_{_name}", (ControllerPolicy,), {"__doc__": f"The controller's `{_name}` policy."})
    )
