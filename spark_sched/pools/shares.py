"""Measured shares: each pool's time-averaged fraction of the running tasks over a window.

A task counts for its pool from launch to finish; the share of pool p over
[start, end] is (task-time of p's tasks inside the window) / (task-time of all
tasks inside it). The window used by the `pools` bench is "while every pool
was busy": from the moment the last pool launched its first task (every job
submitted and running; for a starved pool, submitted) to the moment the first
pool launched its last task (after that, its slots go to the others because it
has nothing left to run, not because of the weights).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskSpan:
    """One task attempt of one pool, launch and finish in epoch ms."""

    pool: str
    launch: float
    finish: float


def overlap(span: TaskSpan, start: float, end: float) -> float:
    return max(0.0, min(span.finish, end) - max(span.launch, start))


def measured_shares(spans: Iterable[TaskSpan], start: float, end: float, pools: Iterable[str]) -> dict[str, float]:
    """Each pool's fraction of running task-time within [start, end] (0.0 for a pool that ran nothing)."""
    busy = dict.fromkeys(pools, 0.0)
    for span in spans:
        busy[span.pool] = busy.get(span.pool, 0.0) + overlap(span, start, end)
    total = sum(busy.values())
    return {pool: (time / total if total > 0 else 0.0) for pool, time in busy.items()}


def contention_window(submitted: Mapping[str, float], spans: Iterable[TaskSpan]) -> tuple[float, float]:
    """From "every pool runs a task" to "the first pool launched its last task".

    Starting when every pool runs a task leaves out the moment when the first job to
    arrive holds every slot (Spark never preempts, so the others wait for its first
    tasks to end). If some pool runs nothing before the window would end, that pool
    is starved (FIFO): the window then starts when the last job was submitted, so
    the starvation is what it measures.
    """
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for span in spans:
        if span.pool in submitted:
            first[span.pool] = min(first.get(span.pool, span.launch), span.launch)
            last[span.pool] = max(last.get(span.pool, span.launch), span.launch)
    all_submitted = max(submitted.values())
    end = max(all_submitted, min(last.values(), default=all_submitted))
    all_running = max(first.values()) if len(first) == len(submitted) else float("inf")
    return (all_running if all_running < end else all_submitted), end


def max_error(measured: Mapping[str, float], configured: Mapping[str, float]) -> float:
    """Largest absolute difference between measured and configured shares over the configured pools."""
    return max(abs(measured.get(pool, 0.0) - share) for pool, share in configured.items())
