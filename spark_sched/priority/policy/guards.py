"""Starvation guards: which running LOW jobs the controller may stop, and which preempted ones it must let go.

A guard is a small policy object (like a preemption policy, like Spark's
SchedulingAlgorithm). It sees the LOW jobs as `Candidate`s -- how often and how
long each was preempted (its ageing credit), how many tasks it runs, on which
hosts -- and answers two questions each controller tick:

* `preemptible(candidates)`: the LOW work the preemption policy may choose from;
* `overdue(held, now)`: preempted jobs to release now, even while HIGH still waits.

`share` (the default) bounds both sides at once, the way YARN and YuniKorn
guarantee a queue its minimum: the LOW class keeps `min_slots` running
cooperative tasks that are never stopped, held by the jobs with the most
ageing credit (time spent preempted), and no preempted job waits longer than
`max_wait_s` at a time. HIGH therefore waits for a LOW task only when it needs
more than `slots - min_slots` slots at once, and every LOW job runs again within
`max_wait_s`. `count` is the previous guard (a job preempted `max_preemptions`
times runs protected to its end: LOW is safe, HIGH may wait a whole LOW task);
`none` protects nothing (the worst case for LOW, kept to measure against).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from spark_sched.errors import SettingsError
from spark_sched.registry import Registry


@dataclass(frozen=True)
class Candidate:
    """A LOW job as a guard sees it: its ageing credit and where its stoppable tasks run."""

    job_id: str
    cooperative: bool
    preemptions: int = 0
    preempted_s: float = 0.0
    submitted: float = 0.0
    tasks: tuple[tuple[int, str], ...] = ()  # (partition, host) of each running cooperative task

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(host for _, host in self.tasks)

    @property
    def credit(self) -> tuple[float, int, float]:
        """Higher first: longer preempted, more often preempted, then older (submitted earlier)."""
        return (self.preempted_s, self.preemptions, -self.submitted)


@dataclass(frozen=True)
class Held:
    """A preempted job waiting at its gate: since when (monotonic), and its credit before this preemption."""

    job_id: str
    since: float
    preempted_s: float = 0.0


class Guard(Protocol):
    name: str

    def preemptible(self, candidates: Sequence[Candidate], protected: int = 0) -> list[Candidate]:
        """The running LOW work the policy may stop (a candidate's `tasks` may be narrowed).

        `protected`: cooperative LOW tasks already exempt from a stop (of jobs preempted earlier).
        """
        ...

    def overdue(self, held: Sequence[Held], now: float) -> list[str]:
        """Preempted jobs to release now, even while HIGH waits."""
        ...


@dataclass
class NoGuard:
    """Protect nothing: LOW may be preempted without end (the measurement baseline)."""

    name: str = field(default="none", init=False)

    def preemptible(self, candidates: Sequence[Candidate], protected: int = 0) -> list[Candidate]:
        return list(candidates)

    def overdue(self, held: Sequence[Held], now: float) -> list[str]:
        return []


@dataclass
class CountGuard:
    """The first guard: after `max_preemptions` preemptions (or `max_preempted_s` preempted) a job runs protected."""

    max_preemptions: int = 3
    max_preempted_s: float | None = 30.0
    name: str = field(default="count", init=False)

    def __post_init__(self) -> None:
        if self.max_preemptions < 0:
            raise SettingsError("priority guard max_preemptions", self.max_preemptions, "an integer >= 0")

    def _protected(self, c: Candidate) -> bool:
        if c.preemptions >= self.max_preemptions:
            return True
        return self.max_preempted_s is not None and c.preempted_s >= self.max_preempted_s

    def preemptible(self, candidates: Sequence[Candidate], protected: int = 0) -> list[Candidate]:
        return [c for c in candidates if not self._protected(c)]

    def overdue(self, held: Sequence[Held], now: float) -> list[str]:
        if self.max_preempted_s is None:
            return []
        return [h.job_id for h in held if h.preempted_s + (now - h.since) >= self.max_preempted_s]


@dataclass
class ShareGuard:
    """A minimum share for LOW: `min_slots` cooperative tasks are never stopped; no job waits over `max_wait_s`.

    The protected tasks go to the candidates with the most credit (ageing), so a
    job preempted often or long is the one that keeps running. JVM-only jobs
    (cancelled, not stopped) cannot be protected task by task; they are bounded
    by `max_wait_s` and by their short tasks, and are only cancelled when
    stopping cooperative work cannot make room (the policies' rule).
    """

    min_slots: int = 1
    max_wait_s: float = 1.0
    name: str = field(default="share", init=False)

    def __post_init__(self) -> None:
        if self.min_slots < 0:
            raise SettingsError("priority guard min_slots", self.min_slots, "an integer >= 0")
        if self.max_wait_s <= 0:
            raise SettingsError("priority guard max_wait_s", self.max_wait_s, "a number of seconds > 0")

    def preemptible(self, candidates: Sequence[Candidate], protected: int = 0) -> list[Candidate]:
        budget = self.min_slots - protected
        keep: dict[str, Candidate] = {c.job_id: c for c in candidates}
        for c in sorted(candidates, key=lambda c: c.credit, reverse=True):
            if budget <= 0:
                break
            if not c.cooperative or not c.tasks:
                continue
            kept = min(budget, len(c.tasks))
            budget -= kept
            rest = c.tasks[kept:]
            if rest:
                keep[c.job_id] = replace(c, tasks=rest)
            else:
                del keep[c.job_id]
        return [keep[c.job_id] for c in candidates if c.job_id in keep]

    def overdue(self, held: Sequence[Held], now: float) -> list[str]:
        return [h.job_id for h in held if now - h.since >= self.max_wait_s]


GuardType = type[NoGuard] | type[CountGuard] | type[ShareGuard]
GUARDS: Registry[GuardType] = Registry("priority guard")
GUARDS.add("share", ShareGuard)
GUARDS.add("count", CountGuard)
GUARDS.add("none", NoGuard)


def guard(name: str, **options: float) -> Guard:
    """The guard called `name` with its options, or one clear error naming what exists."""
    if name not in GUARDS:
        raise SettingsError("priority guard", name, sorted(GUARDS))
    cls = GUARDS.get(name)
    try:
        return cls(**options)  # type: ignore[arg-type]
    except TypeError:
        allowed = [f.name for f in cls.__dataclass_fields__.values() if f.init]  # type: ignore[attr-defined]
        raise SettingsError(f"priority guard {name} options", sorted(options), allowed or "no options") from None
