"""An application's event log as the model's input: its cluster, its jobs, its settings and what it recorded.

One pass over the log (`spark_sched.measure.eventlog.read`) feeds two scans: the
locality analysis' `LocalityScan` (Spark properties, executors, stages that read
a persisted RDD, whether the application ended) and `TraceScan` here (jobs with
their stage DAGs, pools and tags; each partition's successful attempt).

What the log does not say, and what stands in for it:

- Preferred locations. Spark's event log does not record them, so a task's
  preference is read back from where and at which level it ran: NODE_LOCAL means
  its input sat on the host it ran on; PROCESS_LOCAL in a stage that read a
  persisted RDD an earlier stage computed means a cached block in that host's
  executor (cached=True); PROCESS_LOCAL elsewhere and NO_PREF mean no preference
  (Spark reports a task with no preference as PROCESS_LOCAL). A task that ran
  RACK_LOCAL or ANY had a preference the log does not name: it gets a place no
  executor is on (in the host's rack for RACK_LOCAL), so the model runs it at
  that level at once, reading its input remotely, whatever the waits.
  Where the log has block updates (`spark.eventLog.logBlockUpdates.enabled`),
  a stage that reads a persisted RDD's blocks gets each task's true place
  instead: the hosts holding its partition's block when the stage was
  submitted, the block's size as the bytes a miss reads, whatever level the
  task ran at; so a what-if can move a task between local and remote.
- Remote time. A task's compute time is its recorded duration less the time its
  remote bytes took, since the model charges those again where it puts the task:
  an input read by a task that ran RACK_LOCAL or ANY is estimated from its bytes
  and the cluster's link rate (the log keeps no read time for it); the shuffle
  fetch wait ("Fetch Wait Time") is taken out only when a rack map is given,
  because only then does the model charge shuffle bytes (the cross-rack share).
- Slots. Executors' cores (over `spark.task.cpus`), the most common per host; a
  log without executor events gives hosts from its tasks and, as slots, the most
  tasks seen running at once on one host, each from its launch for its executor-side
  time (the driver records a finish after the slot took its next task), inferred and
  said so in the notes.
- Arrivals are as recorded (open loop): a driver that waits on one job before
  submitting the next is not modelled, so a what-if does not move later arrivals.
- The timer reset. Spark before 3.1 restarts the locality wait at every launch at
  the level (the legacy reset, a setting only since 3.1): a log that names such a
  Spark is replayed so, and says so in the notes.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from spark_sched.errors import SparkSchedError
from spark_sched.locality.history import LocalityScan
from spark_sched.locality.waits import spark_seconds, waits_from_conf
from spark_sched.measure.schema import user_tags
from spark_sched.sim.cluster import GBIT, SimCluster
from spark_sched.sim.settings import PoolSpec, SimSettings
from spark_sched.sim.workload import JobSpec, StageSpec, TaskSpec
from spark_sched.sparkversions import LEGACY_RESET, SparkVersion, has_setting, parse
from spark_sched.topology import Topology

ALLOWED = "one Spark application's event log (file or eventlog_v2_* directory) with at least one job"
UNMET = "(elsewhere)"  # where a RACK_LOCAL/ANY task's unnamed input sits: no executor there
_RATE = re.compile(r"(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)")
_RATE_UNITS = {"bit": 1, "kbit": 10**3, "mbit": 10**6, "gbit": 10**9}


class TraceError(SparkSchedError):
    """An event log the replay cannot use (one line: the file, what is wrong, what is allowed)."""


@dataclass(frozen=True)
class TaskRun:
    """One partition's successful attempt, as recorded."""

    index: int
    host: str
    locality: str
    launch_ms: int
    finish_ms: int
    fetch_wait_ms: int
    input_bytes: int
    remote_shuffle_bytes: int


@dataclass
class RecordedJob:
    """A job as the log recorded it: seconds since the application started, its tasks by locality."""

    job_id: int
    pool: str
    tags: tuple[str, ...]
    arrival: float
    finish: float = math.nan
    status: str = "RUNNING"  # SUCCEEDED | FAILED | RUNNING (no JobEnd in the log)
    localities: Counter[str] = field(default_factory=Counter)

    @property
    def duration(self) -> float:
        return self.finish - self.arrival

    @property
    def local(self) -> int:
        return self.localities["PROCESS_LOCAL"] + self.localities["NODE_LOCAL"]


@dataclass
class Trace:
    """An application ready for the model: cluster, jobs, settings as recorded, recorded outcomes, caveats."""

    path: Path
    app_id: str
    cluster: SimCluster
    jobs: list[JobSpec]
    settings: SimSettings
    recorded: list[RecordedJob]
    conf: dict[str, str]
    notes: list[str] = field(default_factory=list)

    def finished(self) -> list[RecordedJob]:
        return [j for j in self.recorded if j.status == "SUCCEEDED"]

    @property
    def stage_count(self) -> int:
        return sum(len(j.stages) for j in self.jobs)

    @property
    def task_count(self) -> int:
        return sum(j.task_count for j in self.jobs)


class TraceScan:
    """Folds what the model needs beyond the locality facts: jobs, their stages, each partition's successful run."""

    def __init__(self) -> None:
        self.start_ms = 0
        self.jobs: dict[int, dict[str, Any]] = {}
        self.submitted: set[int] = set()
        self.tasks: dict[int, dict[int, TaskRun]] = {}
        self.spans: dict[str, list[tuple[int, int]]] = {}  # host -> (launch, finish) of every attempt
        self.blocks: dict[str, dict[str, int]] = {}  # "rdd_R_P" -> {host: bytes}, as block updates left it
        self.stage_blocks: dict[int, dict[int, tuple[tuple[str, ...], int]]] = {}  # stage -> index -> (hosts, bytes)

    def event(self, e: dict[str, Any]) -> None:
        kind = e.get("Event", "")
        if kind == "SparkListenerApplicationStart":
            self.start_ms = int(e.get("Timestamp", 0))
        elif kind == "SparkListenerJobStart":
            self._job_start(e)
        elif kind == "SparkListenerJobEnd":
            job = self.jobs.get(int(e["Job ID"]))
            if job is not None:
                job["end"] = int(e.get("Completion Time", 0))
                job["ok"] = (e.get("Job Result") or {}).get("Result") == "JobSucceeded"
        elif kind == "SparkListenerStageSubmitted":
            self.submitted.add(int(e["Stage Info"]["Stage ID"]))
            self._stage_blocks(e["Stage Info"])
        elif kind == "SparkListenerTaskEnd":
            self._task_end(e)
        elif kind == "SparkListenerBlockUpdated":
            self._block(e.get("Block Updated Info") or {})

    def _block(self, info: dict[str, Any]) -> None:
        block = str(info.get("Block ID", ""))
        host = str((info.get("Block Manager ID") or {}).get("Host", ""))
        if not block.startswith("rdd_") or not host:
            return
        level = info.get("Storage Level") or {}
        held = self.blocks.setdefault(block, {})
        if level.get("Use Memory") or level.get("Use Disk") or level.get("Use Off Heap"):
            held[host] = int(info.get("Memory Size", 0) or 0) + int(info.get("Disk Size", 0) or 0)
        else:
            held.pop(host, None)

    def _stage_blocks(self, info: dict[str, Any]) -> None:
        """Where the blocks of a persisted RDD the stage reads sit now, by partition (= task index)."""
        tasks = int(info.get("Number of Tasks", 0) or 0)
        for rdd in info.get("RDD Info") or []:
            rid, parts = int(rdd.get("RDD ID", -1)), int(rdd.get("Number of Partitions", 0) or 0)
            held = {p: self.blocks.get(f"rdd_{rid}_{p}") for p in range(parts)}
            found = {p: (tuple(sorted(h)), max(h.values())) for p, h in held.items() if h}
            if found and parts == tasks:
                self.stage_blocks[int(info["Stage ID"])] = found
                return

    def _job_start(self, e: dict[str, Any]) -> None:
        props = e.get("Properties") or {}
        stages = [(int(s["Stage ID"]), tuple(int(p) for p in s.get("Parent IDs") or ()), int(s["Number of Tasks"]))
                  for s in e.get("Stage Infos") or ()]
        self.jobs[int(e["Job ID"])] = {
            "submitted": int(e.get("Submission Time", 0)), "stages": stages,
            "pool": props.get("spark.scheduler.pool") or "default",
            "tags": user_tags([t for t in str(props.get("spark.job.tags") or "").split(",") if t]),
        }

    def _task_end(self, e: dict[str, Any]) -> None:
        info = e["Task Info"]
        launch, finish = int(info.get("Launch Time", 0)), int(info.get("Finish Time", 0))
        host = str(info.get("Host", ""))
        metrics = e.get("Task Metrics") or {}
        if finish:  # the executor's own time: the driver records a finish after the slot already took another task
            busy = sum(int(metrics.get(k, 0) or 0) for k in ("Executor Deserialize Time", "Executor Run Time",
                                                              "Result Serialization Time"))
            self.spans.setdefault(host, []).append((launch, min(finish, launch + busy) if busy else finish))
        ok = (e.get("Task End Reason") or {}).get("Reason") == "Success" and not info.get("Failed")
        if not ok or info.get("Killed"):
            return
        shuffle = metrics.get("Shuffle Read Metrics") or {}
        run = TaskRun(int(info.get("Index", 0)), host, str(info.get("Locality", "ANY")), launch, finish,
                      int(shuffle.get("Fetch Wait Time", 0) or 0),
                      int((metrics.get("Input Metrics") or {}).get("Bytes Read", 0) or 0),
                      int(shuffle.get("Remote Bytes Read", 0) or 0))
        self.tasks.setdefault(int(e["Stage ID"]), {}).setdefault(run.index, run)

    def result(self) -> TraceScan:
        return self


def rate_bps(rate: str) -> float:
    """A tc rate ("1gbit", "200mbit") in bytes per second."""
    match = _RATE.fullmatch(rate)
    if match is None:
        raise TraceError(f"link rate = {rate!r} is not valid; allowed: a tc rate such as 200mbit or 1gbit")
    return float(match[1]) * _RATE_UNITS[match[2]] / 8


def load_trace(path: str | Path, topology: Topology | None = None) -> Trace:
    """The application in `path` as the model's input, read in one pass; one TraceError line when unusable."""
    from spark_sched.measure import eventlog

    given = Path(path).expanduser()
    facts, scan = LocalityScan(), TraceScan()
    try:
        log = eventlog.read(given, facts, scan)
    except SparkSchedError as exc:
        message = str(exc).removeprefix("spark-sched report: ")
        raise TraceError(message if "allowed:" in message else f"{message}; allowed: {ALLOWED}") from exc
    for fed in (facts, scan):
        refusal = log.refusal(fed)
        if refusal is not None:
            raise TraceError(f"EVENTLOG = '{given}': {refusal}")
    if not scan.jobs:
        raise TraceError(f"EVENTLOG = '{given}' is not valid: it has no jobs; allowed: {ALLOWED}")
    return _build(given, log.records.app_id, facts, scan, topology, parse(log.records.spark_version))


def _build(path: Path, app_id: str, facts: LocalityScan, scan: TraceScan, topology: Topology | None,
           version: SparkVersion | None = None) -> Trace:
    notes: list[str] = []
    conf = dict(facts.conf)
    cluster = _cluster(facts, scan, conf, topology, notes)
    start = scan.start_ms or min(j["submitted"] for j in scan.jobs.values())
    owner: dict[int, int] = {}
    for job_id in sorted(scan.jobs):
        for stage_id, _, _ in scan.jobs[job_id]["stages"]:
            owner.setdefault(stage_id, job_id)
    jobs, recorded, estimated = [], [], [0]
    for job_id in sorted(scan.jobs):
        job = scan.jobs[job_id]
        stages = [_stage(sid, parents, scan.tasks.get(sid, {}), sid in facts.cached_stages, cluster, estimated,
                         scan.stage_blocks.get(sid, {}))
                  for sid, parents, _ in job["stages"] if sid in scan.submitted and owner[sid] == job_id]
        stages = [s for s in stages if s.tasks]
        arrival = (job["submitted"] - start) / 1000
        jobs.append(JobSpec(job_id, arrival, stages, job["pool"], job["tags"]))
        recorded.append(_recorded(job_id, job, arrival, start, stages, scan))
    if estimated[0]:
        notes.append(f"{estimated[0]} tasks ran RACK_LOCAL/ANY and read input: their remote read time is estimated "
                     f"from the bytes at the link rate ({cluster.host_bps / GBIT:g} Gbit/s host, "
                     f"{cluster.rack_bps / GBIT:g} Gbit/s rack)")
    if not facts.ended:
        running = [j.job_id for j in recorded if j.status == "RUNNING"]
        notes.append("the log has no application end: the last jobs may be partial"
                     + (f" (jobs without an end, not compared: {running})" if running else ""))
    settings = _as_run(_settings(conf, scan, cluster, notes), version, notes)
    return Trace(path, app_id, cluster, jobs, settings, recorded, conf, notes)


def _as_run(settings: SimSettings, version: SparkVersion | None, notes: list[str]) -> SimSettings:
    """The settings with the timer reset the run's Spark had: a Spark before 3.1 always resets at every launch."""
    if version is None or has_setting(version, LEGACY_RESET) or settings.waits.reset_on_launch is not None:
        return settings
    notes.append(f"Spark {version.short} restarts the locality wait at every launch at the level (what "
                 f"{LEGACY_RESET}=true does since 3.1): replayed with the legacy reset")
    return replace(settings, waits=replace(settings.waits, reset_on_launch=True))


def _recorded(job_id: int, job: dict[str, Any], arrival: float, start: int, stages: list[StageSpec],
              scan: TraceScan) -> RecordedJob:
    out = RecordedJob(job_id, job["pool"], job["tags"], arrival)
    if "end" in job:
        out.finish = (job["end"] - start) / 1000
        out.status = "SUCCEEDED" if job["ok"] else "FAILED"
    for stage in stages:
        out.localities.update(run.locality for run in scan.tasks.get(stage.stage_id, {}).values())
    return out


def _stage(stage_id: int, parents: tuple[int, ...], runs: dict[int, TaskRun], cached: bool, cluster: SimCluster,
           estimated: list[int], blocks: dict[int, tuple[tuple[str, ...], int]]) -> StageSpec:
    """A stage's tasks: each partition's successful attempt, in partition order (`blocks`: known cached input)."""
    racks = bool(cluster.rack_of)
    tasks = []
    for index in sorted(runs):
        run = runs[index]
        compute = max(0.0, (run.finish_ms - run.launch_ms) / 1000)
        shuffle = 0.0
        if racks:  # the model charges the cross-rack share of these bytes again
            compute = max(0.0, compute - run.fetch_wait_ms / 1000)
            shuffle = float(run.remote_shuffle_bytes)
        preferred, is_cached, read = _preference(run, cached, cluster)
        remote = read
        if index in blocks:  # the block's true place: the model charges its bytes only where the task misses it
            preferred, is_cached, read = blocks[index][0], True, float(blocks[index][1])
            remote = 0.0 if run.locality in ("PROCESS_LOCAL", "NODE_LOCAL") else read
        if remote:
            across = racks and run.locality == "ANY"
            compute = max(0.0, compute - remote / (cluster.rack_bps if across else cluster.host_bps))
            estimated[0] += 1
        tasks.append(TaskSpec(compute, read, preferred, is_cached, shuffle))
    return StageSpec(stage_id, tasks, parents)


def _preference(run: TaskRun, cached_stage: bool, cluster: SimCluster) -> tuple[tuple[str, ...], bool, float]:
    """(preferred hosts, cached, bytes read remotely) read back from where and at which level the task ran."""
    if run.locality == "NODE_LOCAL":
        return (run.host,), False, 0.0
    if run.locality == "PROCESS_LOCAL":
        return ((run.host,), True, 0.0) if cached_stage else ((), False, 0.0)
    if run.locality == "RACK_LOCAL":
        return (f"{UNMET} {cluster.rack(run.host)}",), False, float(run.input_bytes)
    if run.locality == "ANY":
        return (UNMET,), False, float(run.input_bytes)
    return (), False, 0.0  # NO_PREF


def _cluster(facts: LocalityScan, scan: TraceScan, conf: dict[str, str], topology: Topology | None,
             notes: list[str]) -> SimCluster:
    per_task = max(1, int(str(conf.get("spark.task.cpus", "1")).strip() or 1))
    cores: dict[str, int] = {}
    for host, count in facts.executors.values():
        if host and count > 0:
            cores[host] = cores.get(host, 0) + count
    if cores:
        hosts = tuple(sorted(cores))
        slots = max(1, Counter(cores.values()).most_common(1)[0][0] // per_task)
        if len(set(cores.values())) > 1:
            notes.append(f"hosts have different core counts {sorted(set(cores.values()))}: the model gives every "
                         f"host the most common, {slots} slots")
    else:
        hosts = tuple(sorted(h for h in scan.spans if h))
        if not hosts:
            raise TraceError("EVENTLOG has no executors and no tasks; allowed: " + ALLOWED)
        slots = max(_most_at_once(spans) for spans in scan.spans.values())
        notes.append(f"the log has no executor events: hosts from the tasks, {slots} slots per host inferred "
                     "(the most tasks seen running at once on a host, by their executor time)")
    rack_of: dict[str, str] = {}
    host_bps = rack_bps = 10 * GBIT
    if topology is not None:
        rack_of = {h: topology.rack_of(h, i, len(hosts)) for i, h in enumerate(hosts)}
        for host in hosts:  # a RACK_LOCAL task's input sits in its own rack, an ANY task's in none of them
            rack_of[f"{UNMET} {rack_of[host]}"] = rack_of[host]
        rack_of[UNMET] = UNMET
        host_bps, rack_bps = rate_bps(topology.host_rate), rate_bps(topology.rack_uplink_rate)
    return SimCluster(hosts, slots, rack_of, host_bps, rack_bps)


def _most_at_once(spans: list[tuple[int, int]]) -> int:
    """The most intervals open at one time (an end at t comes before a start at t)."""
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return max(1, most)


def _settings(conf: dict[str, str], scan: TraceScan, cluster: SimCluster, notes: list[str]) -> SimSettings:
    """The scheduler settings the application ran with (Spark's defaults where its conf is silent)."""
    mode = str(conf.get("spark.scheduler.mode", "FIFO")).strip().upper()
    if mode not in ("FIFO", "FAIR"):
        notes.append(f"spark.scheduler.mode = {mode!r} is not one the model knows: FIFO used")
        mode = "FIFO"
    revive = spark_seconds(conf.get("spark.scheduler.revive.interval"), 1.0) or 1.0
    racks = str(conf.get("spark.master", "")).startswith("yarn") and bool(cluster.rack_of)
    base = SimSettings(mode, (), waits_from_conf(conf), racks, revive)
    seen = sorted({job["pool"] for job in scan.jobs.values()})
    allocation = str(conf.get("spark.scheduler.allocation.file", "")).strip()
    if mode == "FAIR" and allocation:
        file = Path(allocation.removeprefix("file://").removeprefix("file:"))
        try:
            loaded = base.with_pool_file(file)
        except (SparkSchedError, OSError) as exc:
            notes.append(f"allocation file {file} not usable ({exc}): pools seen in the log with Spark's defaults")
        else:
            missing = [p for p in seen if p not in {s.name for s in loaded.pools} and p != "default"]
            if missing:
                notes.append(f"pools {missing} are not in {file}: Spark's defaults (FIFO, weight 1, minShare 0)")
            return loaded
    return SimSettings(mode, tuple(PoolSpec(p) for p in seen), base.waits, racks, revive)
