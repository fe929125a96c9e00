"""One stage attempt's tasks under delay scheduling, as Spark's TaskSetManager keeps them.

Pending tasks sit in lists per executor (cached input), per host, per rack, with
no preference, and all together; each list is popped from its end, so the lowest
index goes first. Spark leaves a launched task in its other hosts' lists and skips
it when met; the model takes it out of them at launch instead, which launches the
same tasks in the same order, but keeps a host in a table only while it has a task
to give: on 1,000 hosts a job's 10 tasks name 30 hosts, and offers to hosts whose
tasks all ran elsewhere would otherwise cost more per task than on 10 hosts.
Delay scheduling follows TaskSetManager.getAllowedLocalityLevel: the task set
stays at its current level until that level has no task left or its wait runs
out, and the wait restarts either on every local launch (legacy reset) or when
the scheduler says a round of offers had no rejection (Spark 3.1+).
"""

from __future__ import annotations

from collections.abc import Callable

from spark_sched.locality.waits import LocalityWait
from spark_sched.sim.workload import TaskSpec

PROCESS_LOCAL, NODE_LOCAL, NO_PREF, RACK_LOCAL, ANY = range(5)
LEVEL_NAMES = ("PROCESS_LOCAL", "NODE_LOCAL", "NO_PREF", "RACK_LOCAL", "ANY")


def _pop(pending: list[int] | None, launched: bytearray) -> int:
    """The lowest-index unlaunched task of a list (-1 when none), dropping launched ones met on the way."""
    while pending:
        index = pending.pop()
        if not launched[index]:
            return index
    return -1


def _peek_keyed(table: dict[str, list[int]], key: str) -> int:
    """The lowest-index task in one host's (executor's, rack's) list, -1 when none: launched ones are gone."""
    pending = table.get(key)
    return pending[-1] if pending else -1


def _drop_keyed(table: dict[str, list[int]], key: str, index: int) -> None:
    """Take a launched task out of one key's list; a list left empty leaves the table, as in Spark."""
    pending = table.get(key)
    if pending is None:
        return
    if pending[-1] == index:
        pending.pop()
    elif index in pending:
        pending.remove(index)
    if not pending:
        del table[key]


class TaskSet:
    """The pending and running tasks of one stage attempt, and its delay-scheduling state."""

    __slots__ = ("job", "stage_id", "attempt", "tasks", "launched", "done", "for_exec", "for_host", "for_rack",
                 "no_pref", "all", "left", "pending", "running", "levels", "waits", "level_index", "last_reset",
                 "no_rejects_since_reset", "name", "zombie", "finished", "rack_of", "needed", "pool", "in_order",
                 "attempts", "host_order", "host_rank", "localities", "feeds")

    def __init__(self, job: object, stage_id: int, attempt: int, tasks: list[TaskSpec], indices: list[int],
                 now: float, waits: LocalityWait, rack_of: Callable[[str], str] | None,
                 alive: Callable[[str], bool]) -> None:
        self.job, self.stage_id, self.attempt, self.tasks = job, stage_id, attempt, tasks
        self.name = f"TaskSet_{stage_id}.{attempt}"
        self.launched = bytearray(len(tasks))
        self.done = bytearray(len(tasks))
        self.needed = len(indices)  # partitions this attempt runs (a requeued job skips those already done)
        self.for_exec: dict[str, list[int]] = {}
        self.for_host: dict[str, list[int]] = {}
        self.for_rack: dict[str, list[int]] = {}
        self.no_pref: list[int] = []
        self.all: list[int] = []
        self.left = [0, 0, 0, 0]  # unlaunched tasks with executor, host, no, rack preferences
        self.rack_of = rack_of
        self.pool: object = None  # the scheduling order's pool, set when the task set is submitted
        self.in_order = False  # whether it takes offers (has tasks to launch)
        self.pending = self.running = self.finished = 0
        self.attempts: list[object] = []  # the simulation's RunningTasks, ended ones included (see `live`)
        self.localities = [0, 0, 0, 0, 0]  # succeeded tasks by level, folded into the job's outcome at its end
        self.feeds = False  # whether a later stage of the job reads this one's output
        self.host_order: list[str] = []  # its hosts by their place in the cluster's host list (`host_rank`)
        self.host_rank: list[int] = []
        self.zombie = False
        for index in sorted(indices, reverse=True):
            self.add(index)
        self.waits = (waits.process, waits.node, 0.0, waits.rack, 0.0)
        self.levels = self._valid_levels(alive)
        self.level_index = 0
        self.last_reset = now
        self.no_rejects_since_reset = True

    def add(self, index: int) -> None:
        """Put task `index` back among the pending (at launch of the set, or after it was killed)."""
        task = self.tasks[index]
        self.launched[index] = 0
        self.pending += 1
        if task.preferred:
            for host in task.preferred:
                if task.cached:
                    self.for_exec.setdefault(host, []).append(index)
                self.for_host.setdefault(host, []).append(index)
                if self.rack_of is not None:
                    self.for_rack.setdefault(self.rack_of(host), []).append(index)
            self.left[0] += task.cached
            self.left[1] += 1
            self.left[3] += self.rack_of is not None
        else:
            self.no_pref.append(index)
            self.left[2] += 1
        self.all.append(index)

    def release_pending(self) -> None:
        """Drop the pending-task lists and tables (nothing to launch now; `add` fills them again)."""
        self.for_exec, self.for_host, self.for_rack = {}, {}, {}
        self.no_pref, self.all, self.host_order, self.host_rank = [], [], [], []

    def _valid_levels(self, alive: Callable[[str], bool]) -> list[int]:
        levels = []
        if any(alive(h) for h in self.for_exec):
            levels.append(PROCESS_LOCAL)
        if any(alive(h) for h in self.for_host):
            levels.append(NODE_LOCAL)
        if self.no_pref:
            levels.append(NO_PREF)
        if self.for_rack:
            levels.append(RACK_LOCAL)
        levels.append(ANY)
        return levels

    def _more_at(self, level: int) -> bool:
        return level == ANY or self.left[level if level < RACK_LOCAL else 3] > 0

    def allowed_level(self, now: float) -> int:
        """Spark's getAllowedLocalityLevel: step past levels with no task left or whose wait ran out."""
        levels = self.levels
        while self.level_index < len(levels) - 1:
            level = levels[self.level_index]
            if not self._more_at(level):
                self.last_reset = now
                self.level_index += 1
            elif now - self.last_reset >= self.waits[level]:
                self.last_reset += self.waits[level]
                self.level_index += 1
            else:
                return level
        return levels[self.level_index]

    def next_expiry(self) -> float:
        """When the current level's wait runs out (inf at the last level)."""
        if self.level_index >= len(self.levels) - 1:
            return float("inf")
        return self.last_reset + self.waits[self.levels[self.level_index]]

    def locality_index(self, locality: int) -> int:
        index = 0
        while index < len(self.levels) - 1 and locality > self.levels[index]:
            index += 1
        return index

    def _dequeue(self, host: str, max_level: int) -> tuple[int, int]:
        launched = self.launched
        index = _peek_keyed(self.for_exec, host)
        if index >= 0:
            return index, PROCESS_LOCAL
        if max_level >= NODE_LOCAL:
            index = _peek_keyed(self.for_host, host)
            if index >= 0:
                return index, NODE_LOCAL
        if max_level >= NO_PREF:
            index = _pop(self.no_pref, launched)
            if index >= 0:
                return index, PROCESS_LOCAL  # Spark reports a task with no preference as PROCESS_LOCAL
        if max_level >= RACK_LOCAL and self.rack_of is not None:
            index = _peek_keyed(self.for_rack, self.rack_of(host))
            if index >= 0:
                return index, RACK_LOCAL
        if max_level >= ANY:
            index = _pop(self.all, launched)
            if index >= 0:
                return index, ANY
        return -1, ANY

    def offer(self, host: str, max_level: int, now: float, legacy_reset: bool) -> tuple[int, int, bool]:
        """Spark's resourceOffer: (task index or -1, its locality, whether delay scheduling rejected the offer)."""
        if self.zombie or not self.pending:
            return -1, ANY, False
        allowed = max_level
        if max_level != NO_PREF:
            allowed = min(self.allowed_level(now), max_level)
        index, locality = self._dequeue(host, allowed)
        if index < 0:
            return -1, ANY, max_level == ANY
        self._launch(index)
        if legacy_reset and max_level != NO_PREF:
            self.level_index = self.locality_index(locality)
            self.last_reset = now
        return index, locality, False

    def _launch(self, index: int) -> None:
        task = self.tasks[index]
        self.launched[index] = 1
        self.pending -= 1
        self.running += 1
        if task.preferred:
            for host in task.preferred:
                if task.cached:
                    _drop_keyed(self.for_exec, host, index)
                _drop_keyed(self.for_host, host, index)
                if self.rack_of is not None:
                    _drop_keyed(self.for_rack, self.rack_of(host), index)
            self.left[0] -= task.cached
            self.left[1] -= 1
            self.left[3] -= self.rack_of is not None
        else:
            self.left[2] -= 1

    def reset_timer(self, min_locality: int | None, now: float) -> None:
        """Spark's resetDelayScheduleTimer (3.1+): restart the wait, back at the best level launched."""
        self.last_reset = now
        if min_locality is not None:
            self.level_index = self.locality_index(min_locality)

    def task_ended(self, index: int, succeeded: bool) -> None:
        self.running -= 1
        if succeeded:
            self.done[index] = 1
            self.finished += 1
        elif not self.zombie:
            self.add(index)

    @property
    def complete(self) -> bool:
        return self.finished >= self.needed
