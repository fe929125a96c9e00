"""One application's event log, as the locality advice needs it (any Spark application's log).

Tasks come from measurement's reader (`spark_sched.measure.eventlog`: single files
and rolled directories, zstd or plain), with the Spark version the log names.
`LocalityScan`, fed by that reader in the same pass, picks what the records do not
keep: the Spark properties the run had (its waits), the executors and their cores
(the slots), which stages read a persisted RDD that an earlier stage had computed
(the stages whose tasks had a place to be), and whether the log is whole. A log
without executor events (local mode on old Spark) gives its slots as the most
tasks that ran at once, and says they are inferred.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_sched.errors import SparkSchedError
from spark_sched.locality.achieved import peak_concurrency
from spark_sched.locality.waits import LocalityError, LocalityWait, waits_from_conf
from spark_sched.sparkversions import SparkVersion, parse

if TYPE_CHECKING:
    import pandas as pd

    from spark_sched.measure.eventlog import EventLog


@dataclass
class AppLog:
    """What one application's event log says about locality."""

    path: Path
    app_id: str
    tasks: pd.DataFrame
    conf: dict[str, str]
    executors: dict[str, tuple[str, int]]  # executor id -> (host, cores)
    cached_stages: set[int] = field(default_factory=set)
    replication: int = 1
    spark_version: SparkVersion | None = None  # None: the log does not name it

    @property
    def waits(self) -> LocalityWait:
        return waits_from_conf(self.conf)

    @property
    def slots_inferred(self) -> bool:
        """No executor events in the log (local mode on old Spark): the slots come from what ran at once."""
        return not self.executors

    @cached_property
    def slots(self) -> int:
        """Task slots: the executors' cores over `spark.task.cpus` (every executor the log saw added).

        Without executor events, the most tasks that ran at once: a run cannot have had fewer
        slots than that, and its tasks are the only trace of them the log keeps.
        """
        if self.slots_inferred:
            return peak_concurrency(self.tasks)
        per_task = max(1, int(str(self.conf.get("spark.task.cpus", "1")).strip() or 1))
        return max(1, sum(cores for _, cores in self.executors.values()) // per_task)

    @property
    def slots_text(self) -> str:
        return slots_text(self.slots, self.slots_inferred)

    @property
    def hosts(self) -> int:
        """Hosts with executors that run tasks (a cluster driver runs none; local mode's "driver" does)."""
        runners = {host for eid, (host, _) in self.executors.items() if eid != "driver"}
        if not runners:
            runners = {host for host, _ in self.executors.values()} or set(self.tasks["host"])
        return max(1, len(runners))


def slots_text(slots: int, inferred: bool) -> str:
    """"S=8 slots", saying so when they were inferred from the tasks (a log without executor events)."""
    return f"S={slots} slots" + (" (inferred: the most tasks running at once)" if inferred else "")


@dataclass(frozen=True)
class LogFacts:
    """What `LocalityScan` found: the run's conf, its executors, the cache-reading stages, whether the log is whole."""

    conf: dict[str, str]
    executors: dict[str, tuple[str, int]]
    cached_stages: set[int]
    replication: int
    ended: bool


class LocalityScan:
    """Folds the events the advice needs (a scan of `eventlog.read`: the same pass as measurement's replay)."""

    def __init__(self) -> None:
        self.conf: dict[str, str] = {}
        self.executors: dict[str, tuple[str, int]] = {}
        self.persisted_seen: set[int] = set()
        self.cached_stages: set[int] = set()
        self.replication = 1
        self.ended = False

    def event(self, e: dict[str, Any]) -> None:
        kind = e.get("Event", "")
        if kind == "SparkListenerEnvironmentUpdate":
            props = e.get("Spark Properties") or {}
            self.conf = dict(props) if isinstance(props, dict) else {str(k): str(v) for k, v in props}
        elif kind == "SparkListenerExecutorAdded":
            info = e.get("Executor Info") or {}
            self.executors[str(e.get("Executor ID"))] = (str(info.get("Host", "")), int(info.get("Total Cores", 1)))
        elif kind == "SparkListenerExecutorRemoved":
            self.executors.setdefault(str(e.get("Executor ID")), ("", 0))
        elif kind == "SparkListenerStageSubmitted":
            self._stage(e.get("Stage Info") or {})
        elif kind == "SparkListenerApplicationEnd":
            self.ended = True

    def result(self) -> LogFacts:
        return LogFacts(self.conf, self.executors, self.cached_stages, self.replication, self.ended)

    def _stage(self, info: dict[str, Any]) -> None:
        """A stage reads a cache when one of its RDDs is persisted and an earlier stage already had it."""
        persisted = {}
        for rdd in info.get("RDD Info") or []:
            level = rdd.get("Storage Level") or {}
            if level.get("Use Memory") or level.get("Use Disk") or level.get("Use Off Heap"):
                persisted[int(rdd.get("RDD ID", -1))] = int(level.get("Replication", 1) or 1)
        reads = [rdd for rdd in persisted if rdd in self.persisted_seen]
        if reads:
            self.cached_stages.add(int(info.get("Stage ID", -1)))
            self.replication = max(self.replication, *(persisted[r] for r in reads))
        self.persisted_seen.update(persisted)


def _in_progress(files: list[Path]) -> bool:
    last = files[-1]
    if last.name.endswith(".inprogress"):
        return True
    return any(p.name.startswith("appstatus_") and p.name.endswith(".inprogress") for p in last.parent.iterdir())


def load_app(path: str | Path) -> AppLog:
    """The application's tasks, conf, executors and cache-reading stages, in one pass over its log.

    One LocalityError line when unusable: a path that is not one application's event log, a
    log that cannot be decoded (see `app_log` for the rest).
    """
    from spark_sched.measure import eventlog

    given = Path(path).expanduser()
    scan = LocalityScan()
    try:
        log = eventlog.read(given, scan)
    except SparkSchedError as exc:
        raise LocalityError(str(exc).removeprefix("spark-sched report: ")) from exc
    return app_log(log, scan)


def app_log(log: EventLog, scan: LocalityScan) -> AppLog:
    """The application as the advice sees it, from a pass over its log that fed `scan`.

    Refused (one LocalityError line): an event the scan could not take, a log cut short
    (no application end, yet not marked in progress), and a log with no tasks.
    """
    from spark_sched.measure.frames import tasks_frame

    given = log.path.expanduser()
    refusal = log.refusal(scan)
    if refusal is not None:  # JSON, but not as Spark writes it
        raise LocalityError(f"EVENTLOG = '{given}': {refusal}")
    facts = scan.result()
    if not facts.ended and not _in_progress(log.files):
        raise LocalityError(
            f"EVENTLOG = '{given}' is not valid: it is cut short (no SparkListenerApplicationEnd and not marked "
            "in progress); allowed: a finished application's event log, or one still being written (*.inprogress)"
        )
    tasks = tasks_frame(log.records)
    if tasks.empty:
        raise LocalityError(f"EVENTLOG = '{given}' is not valid: it has no tasks; allowed: the log of a run that "
                            "ran tasks")
    executors = {k: v for k, v in facts.executors.items() if v[1] > 0}
    return AppLog(given, log.records.app_id, tasks, facts.conf, executors, facts.cached_stages, facts.replication,
                  parse(log.records.spark_version))
