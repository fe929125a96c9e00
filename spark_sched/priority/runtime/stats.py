"""What the controller did, and who hears about it: counters, timed events, listener calls, HIGH run handles.

Kept apart from the controller so the parts that act (submission, stopping,
releasing) report through one object: a failing listener is logged and never
reaches the controller's loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("spark_sched.priority.runtime.controller")

Listener = Callable[[str, str], None]  # (event, LOW job id): preempt, release, done, failed


@dataclass
class ControllerStats:
    """What the controller did: preemptions, reaction times (HIGH tasks seen waiting -> one more running), errors."""

    preemptions: int = 0
    releases: int = 0
    suspensions: int = 0  # tasks suspended in place (suspend policy), and resumed
    resumes: int = 0
    reactions_ms: list[float] = field(default_factory=list)
    tick_errors: int = 0
    events: list[tuple[float, str, str]] = field(default_factory=list)
    # every stop decision: (wall time s, LOW job id, hosts of the tasks told to stop; () = all of the job's tasks)
    stops: list[tuple[float, str, tuple[str, ...]]] = field(default_factory=list)


@dataclass
class HighRun:
    """A HIGH action started by `run_high`: wait on `done`, then read `result` or `error`."""

    job_id: str
    result: Any = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Reporter:
    """The controller's stats and its listeners (e.g. the durable queue), written to from every part."""

    def __init__(self) -> None:
        self.stats = ControllerStats()
        self.listeners: list[Listener] = []

    def event(self, kind: str, detail: str) -> None:
        self.stats.events.append((time.time(), kind, detail))

    def notify(self, kind: str, job_id: str) -> None:
        """Tell the listeners (preempt, release, done, failed); a failing listener never stops the controller."""
        for listener in list(self.listeners):
            try:
                listener(kind, job_id)
            except Exception:  # noqa: BLE001
                log.warning("priority controller listener failed on %s %s", kind, job_id, exc_info=True)
