"""Preemption policies: one small object each, chosen by name (`none`, `kill`, `requeue`, `lb`, `suspend`).

Like Spark's SchedulingAlgorithm (a comparator), a policy has one method:
`choose(demand, view)` returns which running LOW work to stop so HIGH work does
not queue behind it. How the victims are stopped is the policy's `mode`:
`kill` cancels by tag and reruns killed partitions from scratch (Neptune's KILL
baseline); `requeue` stops cooperatively where it can (cancel otherwise) and
keeps completed work and saved progress; `suspend` pauses Python tasks where
they stand (they keep their slot and their state, and give up their core) and
resumes them later, so nothing restarts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from spark_sched.errors import SettingsError
from spark_sched.registry import Registry


@dataclass(frozen=True)
class Demand:
    """HIGH work waiting for slots (or, for `suspend`, cores): how many, and hosts to prefer (empty: any)."""

    slots: int
    hosts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LowRunning:
    """A running LOW job: its id, whether its tasks poll the signal, and the hosts of its polling tasks."""

    job_id: str
    cooperative: bool
    hosts: tuple[str, ...] = ()
    tasks: tuple[tuple[int, str], ...] = ()  # (partition, host) of each polling task the guard lets go


@dataclass(frozen=True)
class ClusterView:
    """What policies see: LOW jobs that may be preempted, and the free slots (`*`: the whole cluster)."""

    jobs: Sequence[LowRunning]
    free_slots: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Victim:
    """Stop `job_id`'s tasks in `scope`: `*` for all of them, `h<host>` on one host, `p<partition>` one task."""

    job_id: str
    scope: str = "*"


class Policy(Protocol):
    name: str
    mode: str  # "none" | "kill" | "requeue" | "suspend"

    def choose(self, demand: Demand, view: ClusterView) -> list[Victim]:
        """The LOW work to stop for `demand`."""
        ...


class NoPreemption:
    """FAIR pools only: HIGH gets the next free slot (its pool's minShare), nothing is stopped."""

    name = "none"
    mode = "none"

    def choose(self, demand: Demand, view: ClusterView) -> list[Victim]:
        return []


class KillAll:
    """Cancel every running LOW job; killed partitions start again from scratch."""

    name = "kill"
    mode = "kill"

    def choose(self, demand: Demand, view: ClusterView) -> list[Victim]:
        return [Victim(j.job_id) for j in view.jobs]


class RequeueAll:
    """Stop every running LOW job, keeping committed partitions and saved in-partition progress."""

    name = "requeue"
    mode = "requeue"

    def choose(self, demand: Demand, view: ClusterView) -> list[Victim]:
        return [Victim(j.job_id) for j in view.jobs]


def _low_tasks_per_host(view: ClusterView) -> dict[str, int]:
    counts: dict[str, int] = {}
    for job in view.jobs:
        for host in job.hosts:
            counts[host] = counts.get(host, 0) + 1
    return counts


def _victims_on(hosts: Sequence[str], demand: Demand, view: ClusterView) -> list[Victim]:
    """Free hosts in the given order until the demand fits; stop cooperative tasks there, cancel the rest."""
    per_host = _low_tasks_per_host(view)
    freed = sum(view.free_slots.values())
    chosen: list[str] = []
    for host in hosts:
        if freed >= demand.slots:
            break
        chosen.append(host)
        freed += per_host.get(host, 0)
    victims = [Victim(j.job_id, f"h{h}") for j in view.jobs if j.cooperative for h in chosen if h in j.hosts]
    if freed < demand.slots:  # cooperative tasks alone cannot make room: cancel the JVM-only jobs too
        victims += [Victim(j.job_id) for j in view.jobs if not j.cooperative]
    return list(dict.fromkeys(victims))


class LoadBalance:
    """Neptune's `lb`: stop LOW tasks host by host, the hosts that need the fewest stops (fewest LOW tasks) first.

    HIGH's demand is met with the fewest stops, and the LOW work left running
    stays together on the busiest LOW hosts.
    """

    name = "lb"
    mode = "requeue"

    def choose(self, demand: Demand, view: ClusterView) -> list[Victim]:
        per_host = _low_tasks_per_host(view)
        hosts = sorted(per_host, key=lambda h: (per_host[h], h))
        return _victims_on(hosts, demand, view)


class SuspendInPlace:
    """Suspend LOW Python tasks where they stand so that `demand.slots` cores come free; resume them later.

    A suspended task keeps its slot and its state and costs no CPU, so HIGH work
    needs slots LOW does not hold (executors with more slots than cores). The
    tasks chosen first run on hosts HIGH's data prefers, then on the hosts with
    the most LOW tasks (where HIGH competes hardest), then the youngest
    partitions. JVM-only jobs have no stop check: they are never chosen here.
    """

    name = "suspend"
    mode = "suspend"

    def choose(self, demand: Demand, view: ClusterView) -> list[Victim]:
        per_host = _low_tasks_per_host(view)
        tasks = [(job.job_id, partition, host) for job in view.jobs if job.cooperative
                 for partition, host in job.tasks]
        tasks.sort(key=lambda t: (bool(demand.hosts) and t[2] not in demand.hosts, -per_host.get(t[2], 0),
                                  t[0], -t[1]))
        return [Victim(job_id, f"p{partition}") for job_id, partition, _ in tasks[:demand.slots]]


POLICIES: Registry[type[Policy]] = Registry("priority policy")
for _policy in (NoPreemption, KillAll, RequeueAll, LoadBalance, SuspendInPlace):
    POLICIES.add(_policy.name, _policy)  # type: ignore[arg-type]


def policy(name: str) -> Policy:
    """The policy called `name`, or one clear error naming the ones that exist."""
    if name not in POLICIES:
        raise SettingsError("priority policy", name, sorted(POLICIES))
    return POLICIES.get(name)()
