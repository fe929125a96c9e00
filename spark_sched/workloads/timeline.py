"""Where slot time goes, from Spark's task records: idle slots while LOW work waits, cancel-to-free per task.

Every figure here is computed from the task attempts `measure()` read back from
Spark (launch and finish times, host, job tags), so it counts what Spark did,
not what the controller meant to do. Times in the task frame are epoch ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from spark_sched.priority.classes import TAG_PREFIX

if TYPE_CHECKING:
    import pandas as pd

Interval = tuple[float, float]


def _spans_ms(tasks: pd.DataFrame) -> list[tuple[float, float, tuple[str, ...], str]]:
    """(launch ms, finish ms, job tags, host) of every task attempt that ran and ended."""
    if tasks.empty:
        return []
    out = []
    for launch, finish, tags, host in zip(tasks["launchTime"], tasks["finishTime"], tasks["jobTags"], tasks["host"],
                                          strict=True):
        if launch and finish and finish >= launch:
            out.append((float(launch), float(finish), tuple(tags or ()), str(host)))
    return out


def priority_of(tags: Sequence[str]) -> str:
    """The priority class named by a task's job tags (`other` for untagged work such as stream planning)."""
    prefix = f"{TAG_PREFIX}-priority-"
    return next((t[len(prefix) :] for t in tags if t.startswith(prefix)), "other")


def _union(intervals: Sequence[Interval]) -> list[Interval]:
    merged: list[list[float]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        elif hi > lo:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def idle_slot_s_while_pending(
    tasks: pd.DataFrame, slots: int, pending: Sequence[Interval], window: Interval,
    suspended: Sequence[Interval] = (),
) -> float:
    """Slot-seconds left idle while some LOW job was outstanding (submitted, not finished), inside `window`.

    Busy slots are all task attempts running (any class), from Spark's records;
    `pending` are (submitted, finished) wall-clock seconds of the LOW jobs. With
    no wasted work, this is the batch throughput a policy loses: waves waiting on
    a preempted member, requeue gaps, slots held free for HIGH that HIGH did not use.
    `suspended` (wall-clock seconds) are intervals in which one running task was
    suspended in place: it holds a slot but no core, so with `slots` = the cores
    it counts as idle (idle core-seconds).
    """
    lo_w, hi_w = window
    wanted = [(max(a, lo_w), min(b, hi_w)) for a, b in _union(pending) if b > lo_w and a < hi_w]
    if not wanted or slots <= 0:
        return 0.0
    edges: list[tuple[float, int]] = []
    for launch, finish, _, _ in _spans_ms(tasks):
        edges += [(launch / 1000.0, 1), (finish / 1000.0, -1)]
    for lo, hi in suspended:
        edges += [(lo, -1), (hi, 1)]
    edges.sort()
    idle = 0.0
    for a, b in wanted:
        running = sum(d for t, d in edges if t <= a)
        cursor = a
        for t, d in edges:
            if t <= a:
                continue
            if t >= b:
                break
            idle += max(0, slots - running) * (t - cursor)
            running += d
            cursor = t
        idle += max(0, slots - running) * (b - cursor)
    return idle


def cancel_to_free_ms(tasks: pd.DataFrame, stops: Sequence[tuple[float, str, tuple[str, ...]]]) -> list[float]:
    """For every task a stop decision reached: ms from the decision to the task's end in Spark's records.

    A stop names its job and the hosts of the tasks told to stop (none: cancel the
    whole job); the matching attempts are that job's tasks running at the decision
    on those hosts (by name, else the earliest to end, one per host entry).
    """
    spans = _spans_ms(tasks)
    out: list[float] = []
    for wall_s, job_id, hosts in stops:
        t = wall_s * 1000.0
        tag = f"{TAG_PREFIX}-job-{job_id}"
        live = sorted((s for s in spans if tag in s[2] and s[0] <= t < s[1]), key=lambda s: s[1])
        if hosts:
            named = [s for s in live if s[3] in hosts]
            live = (named or live)[: len(hosts)]
        out += [finish - t for _, finish, _, _ in live]
    return out


def task_spans(tasks: pd.DataFrame, t0: float) -> list[tuple[float, float, str]]:
    """(start s, end s, priority class) of every task attempt, relative to `t0` (wall-clock seconds)."""
    return [(a / 1000.0 - t0, b / 1000.0 - t0, priority_of(tags)) for a, b, tags, _ in _spans_ms(tasks)]


def slots_held(spans: Sequence[tuple[float, float, str]], step_s: float = 0.1) -> dict[str, list[tuple[float, int]]]:
    """Per class, the number of task attempts running at each `step_s` tick (for the slots-over-time plot)."""
    if not spans:
        return {}
    start = max(0.0, min(a for a, _, _ in spans))
    end = max(b for _, b, _ in spans)
    out: dict[str, list[tuple[float, int]]] = {c: [] for c in sorted({c for _, _, c in spans})}
    ticks = int((end - start) / step_s) + 1
    for i in range(ticks):
        t = start + i * step_s
        for cls, series in out.items():
            series.append((t, sum(1 for a, b, c in spans if c == cls and a <= t < b)))
    return out
