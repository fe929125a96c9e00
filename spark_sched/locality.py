"""Locality waits from the delay-scheduling model, and the locality a run achieved.

Delay scheduling (Zaharia et al., EuroSys 2010): a job that skips D slot offers
before accepting a non-local one gets, with M nodes, replication R and N tasks,

    expected locality  = 1 - (1/N) * sum_{K=1..N} (1 - K/M)^(R*D)

(when K tasks are left, a free slot's node holds data for one of them with
probability 1 - (1 - K/M)^R). Slots free at about S/T per second (S = M*L slots,
T the mean task length), so D skips cost a wait of W = D*T/S. Spark spends that
wait per level (`spark.locality.wait.process/node/rack`), per application.

The model is arithmetic and needs no Spark; `achieved_locality` reads the task
frame of `spark_sched.measure` (column `taskLocality`) to check it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from spark_sched.errors import SettingsError, SparkSchedError

if TYPE_CHECKING:
    import pandas as pd

LEVELS = ("PROCESS_LOCAL", "NODE_LOCAL", "RACK_LOCAL", "NO_PREF", "ANY")
LOCAL_LEVELS = ("PROCESS_LOCAL", "NODE_LOCAL")
MAX_SKIPS = 100_000
RESET_KEY = "spark.locality.wait.legacyResetOnTaskLaunch"


class LocalityError(SparkSchedError):
    """A model input out of range (one line: which input, its value, what is allowed)."""


@dataclass(frozen=True)
class LocalityWait:
    """Spark's three locality waits, in seconds (`spark.locality.wait.process/node/rack`).

    `reset_on_launch`: restart the wait whenever a task launches locally, as delay
    scheduling counts skips (Spark's `spark.locality.wait.legacyResetOnTaskLaunch`).
    Since Spark 3.1 the timer restarts only after a round of offers with no rejection,
    so under load a short wait runs out for the whole rest of the task set; the
    model's W = D*T/S assumes the per-launch reset. None leaves Spark's default.
    """

    process: float = 3.0
    node: float = 3.0
    rack: float = 3.0
    reset_on_launch: bool | None = None

    def __post_init__(self) -> None:
        for level in ("process", "node", "rack"):
            value = getattr(self, level)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
                raise LocalityError(f"LocalityWait.{level} = {value!r} is not valid; allowed: seconds >= 0")

    def spark_conf(self) -> dict[str, str]:
        """The Spark conf for these waits (whole milliseconds; Spark reads "1234ms")."""
        conf = {
            "spark.locality.wait": _ms(max(self.process, self.node, self.rack)),
            "spark.locality.wait.process": _ms(self.process),
            "spark.locality.wait.node": _ms(self.node),
            "spark.locality.wait.rack": _ms(self.rack),
        }
        if self.reset_on_launch is not None:
            conf[RESET_KEY] = "true" if self.reset_on_launch else "false"
        return conf


@dataclass(frozen=True)
class Recommendation:
    """A wait chosen from the model, with the inputs and what the model predicts for it."""

    wait: LocalityWait
    skips: int
    rack_skips: int
    predicted_locality: float
    inputs: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "spark_conf": self.wait.spark_conf(),
            "wait_seconds": asdict(self.wait),
            "skips": self.skips,
            "rack_skips": self.rack_skips,
            "predicted_locality": self.predicted_locality,
            "inputs": self.inputs,
        }


def _ms(seconds: float) -> str:
    return f"{math.ceil(round(seconds * 1000, 6))}ms"


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LocalityError(f"{name} = {value!r} is not valid; allowed: a whole number >= 1")
    return value


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise LocalityError(f"{name} = {value!r} is not valid; allowed: a number > 0")
    return float(value)


def expected_locality(nodes: int, replication: int, tasks: int, skips: float) -> float:
    """The model's expected share of a job's tasks that run local after `skips` skipped offers.

    Replicas beyond the node count are capped (a block cannot have more distinct hosts than M);
    on a single node every slot is local.
    """
    m = _positive_int("nodes", nodes)
    r = min(_positive_int("replication", replication), m)
    n = _positive_int("tasks", tasks)
    if skips < 0:
        raise LocalityError(f"skips = {skips!r} is not valid; allowed: a number >= 0")
    if m == 1:
        return 1.0
    miss = sum(max(0.0, 1.0 - k / m) ** (r * skips) for k in range(1, n + 1))
    return 1.0 - miss / n


def skips_for(target: float, nodes: int, replication: int, tasks: int) -> int:
    """The fewest skips D whose expected locality reaches `target` (0 < target < 1)."""
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target < 1:
        raise LocalityError(f"target = {target!r} is not valid; allowed: a fraction between 0 and 1, exclusive")
    lo, hi = 0, 1
    while expected_locality(nodes, replication, tasks, hi) < target:
        lo, hi = hi, hi * 2
        if hi > MAX_SKIPS:
            raise LocalityError(f"target = {target!r} is not reachable within {MAX_SKIPS} skips")
    while hi - lo > 1:  # smallest D with locality >= target; lo fails (or is 0), hi meets it
        mid = (lo + hi) // 2
        if expected_locality(nodes, replication, tasks, mid) >= target:
            hi = mid
        else:
            lo = mid
    return 0 if expected_locality(nodes, replication, tasks, 0) >= target else hi


def wait_for_skips(skips: float, task_seconds: float, slots: int) -> float:
    """W = D*T/S: the time D offers take when S slots free up every T seconds."""
    return skips * _positive("task_seconds", task_seconds) / _positive_int("slots", slots)


def recommend_locality_wait(
    nodes: int,
    slots_per_node: int,
    replication: int,
    tasks: int,
    task_seconds: float,
    target: float = 0.95,
    racks: int = 1,
    cached: bool = True,
) -> Recommendation:
    """Spark's locality waits for a job to reach `target` locality in the delay-scheduling model.

    `cached`: the input sits in executors' memory (one executor per host, as on the
    toolkit's clusters), so PROCESS_LOCAL is the level to wait at and NODE_LOCAL
    offers the same hosts again (node wait 0). Otherwise (files on the hosts' disks)
    the wait goes to NODE_LOCAL. The rack wait treats each of `racks` racks as one
    node of the same model; with one rack it is 0 (every host is rack-local), and
    outside YARN Spark only sees racks the toolkit maps for it.
    """
    m = _positive_int("nodes", nodes)
    slots = m * _positive_int("slots_per_node", slots_per_node)
    _positive_int("replication", replication)
    _positive_int("tasks", tasks)
    _positive("task_seconds", task_seconds)
    _positive_int("racks", racks)
    skips = skips_for(target, m, replication, tasks)
    wait = wait_for_skips(skips, task_seconds, slots)
    rack_skips = skips_for(target, racks, replication, tasks) if 1 < racks < m else 0
    rack_wait = wait_for_skips(rack_skips, task_seconds, slots)
    waits = LocalityWait(wait, 0.0, rack_wait, True) if cached else LocalityWait(0.0, wait, rack_wait, True)
    inputs = {
        "nodes": m,
        "slots_per_node": slots_per_node,
        "replication": replication,
        "tasks": tasks,
        "task_seconds": task_seconds,
        "target": target,
        "racks": racks,
        "cached": cached,
    }
    return Recommendation(waits, skips, rack_skips, expected_locality(m, replication, tasks, skips), inputs)


def predicted_locality(wait_seconds: float, nodes: int, slots_per_node: int, replication: int, tasks: int,
                       task_seconds: float) -> float:
    """The model's expected locality for a given wait (inverse of W = D*T/S)."""
    skips = wait_seconds * nodes * slots_per_node / _positive("task_seconds", task_seconds)
    return expected_locality(nodes, replication, tasks, skips)


# -- settings: `locality = "auto" | "<duration>"` and configure(builder, locality=...) ---------------

AUTO = "auto"
DEFAULT_AUTO_TASK_SECONDS = 1.0
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)?$")


def parse_duration(text: str) -> float | None:
    """Seconds of "1.5s", "300ms" or "2" (seconds); None when it is not a duration."""
    match = _DURATION.match(text.strip())
    if not match:
        return None
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


def auto_wait(nodes: int, slots_per_node: int, task_seconds: float = DEFAULT_AUTO_TASK_SECONDS,
              target: float = 0.95) -> Recommendation:
    """What `locality = "auto"` means: the model for one wave over data cached once (R = 1, N = S)."""
    tasks = nodes * slots_per_node
    return recommend_locality_wait(nodes, slots_per_node, 1, tasks, task_seconds, target)


def locality_conf(value: str | LocalityWait | Recommendation, cluster: tuple[int, int] | None,
                  source: str = "configure() keyword") -> dict[str, str]:
    """Spark conf for a `locality` setting.

    "" leaves Spark's waits alone; "3s"/"500ms"/"0" sets every level; a LocalityWait
    or Recommendation sets its levels; "auto" (or "auto:<task duration>", default 1 s)
    asks the model with `cluster` = (nodes, slots per node) of the master in use.
    """
    if isinstance(value, Recommendation):
        return value.wait.spark_conf()
    if isinstance(value, LocalityWait):
        return value.spark_conf()
    text = str(value).strip()
    if not text:
        return {}
    allowed = '"", "auto", "auto:<task duration>", a duration such as "3s" or "500ms", or a LocalityWait'
    if text == AUTO or text.startswith(AUTO + ":"):
        task = parse_duration(text[len(AUTO) + 1:]) if ":" in text else DEFAULT_AUTO_TASK_SECONDS
        if task is None or task <= 0:
            raise SettingsError("locality.wait", value, allowed, source)
        if cluster is None:
            raise SettingsError("locality.wait", value, "a duration or a LocalityWait (\"auto\" needs local[N] "
                                "or a spark-sched cluster to know nodes and slots)", source)
        return auto_wait(cluster[0], cluster[1], task).wait.spark_conf()
    seconds = parse_duration(text)
    if seconds is None:
        raise SettingsError("locality.wait", value, allowed, source)
    return LocalityWait(seconds, seconds, seconds).spark_conf()


# -- achieved locality ---------------------------------------------------------


def achieved_locality(tasks: pd.DataFrame, by: str | Iterable[str] | None = "stageId") -> pd.DataFrame:
    """Share of tasks launched at each locality level, per group (`by`: "stageId", "jobId", None for all).

    Columns: the group keys, `tasks`, one column per level in LEVELS, and
    `local_fraction` (PROCESS_LOCAL + NODE_LOCAL over tasks that had a preference,
    i.e. excluding NO_PREF). Every launched attempt counts: each was a placement.
    Spark itself reports a task without preferences that it took from its no-preference
    queue as PROCESS_LOCAL, so compare stages that read located data (cached blocks, files).
    """
    import pandas as pd

    frame = tasks.copy()
    frame["taskLocality"] = frame["taskLocality"].map(_level_name)
    keys = [by] if isinstance(by, str) else list(by or [])
    if not keys:
        frame["_all"] = "all"
        keys = ["_all"]
    rows = []
    for group, part in frame.groupby(keys, sort=True):
        counts = part["taskLocality"].value_counts()
        total = int(len(part))
        row: dict[str, Any] = dict(zip(keys, group if isinstance(group, tuple) else (group,), strict=True))
        row["tasks"] = total
        for level in LEVELS:
            row[level] = float(counts.get(level, 0)) / total if total else 0.0
        row["local_fraction"] = _local_share(counts)
        rows.append(row)
    out = pd.DataFrame(rows, columns=[*keys, "tasks", *LEVELS, "local_fraction"])
    return out.drop(columns=["_all"]) if "_all" in out.columns else out


def local_fraction(tasks: pd.DataFrame) -> float:
    """PROCESS_LOCAL + NODE_LOCAL share of the tasks that had a locality preference (NaN when none had)."""
    return _local_share(tasks["taskLocality"].map(_level_name).value_counts())


def _local_share(counts: pd.Series) -> float:
    with_pref = sum(int(counts.get(level, 0)) for level in LEVELS if level != "NO_PREF")
    local = sum(int(counts.get(level, 0)) for level in LOCAL_LEVELS)
    return local / with_pref if with_pref else float("nan")


def _level_name(value: Any) -> str:
    """sparkMeasure codes levels 0..4; Spark's REST API and event log use names."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < len(LEVELS):
        return LEVELS[int(value)]
    return str(value)


def inputs_from_tasks(tasks: pd.DataFrame) -> dict[str, Any]:
    """The model's M, L, N and T as a past run shows them in its task frame.

    M: distinct hosts that ran tasks; L: the most tasks one host ran at once;
    N: the median number of tasks per stage; T: the mean task length (launch to finish).
    """
    if tasks.empty:
        raise LocalityError("the run has no tasks; allowed: an event log of a run that ran tasks")
    per_stage = tasks.groupby("stageId").size()
    length = (tasks["finishTime"] - tasks["launchTime"]).clip(lower=0)
    return {
        "nodes": int(tasks["host"].nunique()),
        "slots_per_node": max(_peak_concurrency(part) for _, part in tasks.groupby("host")),
        "tasks": max(1, int(round(float(per_stage.median())))),
        "task_seconds": max(0.001, float(length.mean()) / 1000),
    }


def _peak_concurrency(tasks: pd.DataFrame) -> int:
    """Most tasks running at one instant on one host: the slots it had.

    A task's interval is launch to launch + executorRunTime: the driver's finish time comes
    after the result travelled back, when the slot had already taken the next task.
    """
    ends = tasks["launchTime"] + tasks["executorRunTime"].clip(lower=0)
    events = sorted([(t, 1) for t in tasks["launchTime"]] + [(t, -1) for t in ends])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return max(1, peak)
