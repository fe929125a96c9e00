"""Spark Connect sessions: which public functions work on one, and one line for those that cannot.

A session made with `SparkSession.builder.remote("sc://...")` (or `spark.api.mode=connect`)
talks gRPC to a Spark Connect server: it has no `sparkContext`, no Py4J gateway to
the driver's JVM, no RDDs and no thread-local properties. It does have session
conf (which Spark copies into the local properties of every job the session runs,
`spark.scheduler.pool` included), job tags (`addTag`, `interruptTag`) and the
server's scheduler behind it.

`SUPPORT` is the toolkit's answer for every public function, the one table the
documentation shows (`docs/connect.md`, generated from it) and the tests check
row by row on a real local Connect server. A function that cannot work calls
`refuse_on_connect` before touching the session, so the user gets one line naming
the function, what it needs and where it does work, never an AttributeError from
inside the toolkit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spark_sched.errors import SparkSchedError

CONNECT_MODULE = "pyspark.sql.connect"
LACKS = "a Spark Connect session has no SparkContext (no Py4J gateway to the driver's JVM)"


class ConnectUnsupported(SparkSchedError):
    """A function was given a Spark Connect session and needs what only a classic session has (one line)."""


@dataclass(frozen=True)
class Support:
    """One public function on a classic and on a Spark Connect session: works or refuses, and how."""

    function: str
    classic: str
    connect: str  # "works" | "refuses"
    how: str
    via: str = ""  # the function whose one line refuses it, when not its own (jobs refused by their controller)

    @property
    def refused_by(self) -> str:
        return self.via or self.function


SUPPORT: tuple[Support, ...] = (
    Support("configure", "works", "refuses",
            "scheduler settings (FAIR mode, pool file, locality waits) are the server's: start the Connect server "
            "with `spark_sched.connect_server_conf()` (`spark-sched connect conf`)"),
    Support("connect_server_conf", "works", "works",
            "the settings' Spark conf as `--conf` pairs for `start-connect-server.sh` (no session needed)"),
    Support("load_settings", "works", "works", "reads a settings file; no session"),
    Support("load_pools", "works", "works", "reads a pool file; no session"),
    Support("pool", "works", "works",
            "session conf `spark.scheduler.pool`, which Spark copies into each job's local properties; it scopes the "
            "whole Connect session, not one thread, and is restored on exit"),
    Support("LocalityWait / recommend_locality_wait", "works", "works", "the delay-scheduling model; no session"),
    Support("advise_eventlog", "works", "works", "reads an event log file (the Connect server's); no session"),
    Support("any_k_of_n", "works", "refuses",
            "needs RDDs and their block locations; run it in a classic application (or beside the server)"),
    Support("PriorityController", "works", "refuses",
            "reads the scheduler's pools inside the driver JVM; on Connect use `RemoteController`"),
    Support("RemoteController", "works", "works",
            "reads the server's REST API (pools' running and waiting tasks), interrupts its own session's LOW "
            "jobs by tag and reruns them once HIGH has nothing waiting"),
    Support("PreemptibleJob / ActionJob", "works", "refuses",
            "submitted through a PriorityController, which needs a classic session", via="PriorityController"),
    Support("composer", "works", "refuses",
            "sets pools and partitions through the SparkContext; run it in a classic application"),
    Support("measure", "works", "refuses",
            "reads the DAGScheduler's job counter and adds sparkMeasure's listeners through Py4J; replay the "
            "server's event log instead (`spark-sched report EVENTLOG`)"),
    Support("HIGH / LOW / PriorityClass", "works", "works", "plain data: pools, weights, job tags"),
    Support("local_cluster", "works", "works", "starts a standalone cluster; no session"),
)
_BY_NAME = {row.function: row for row in SUPPORT}


def is_connect(spark: Any) -> bool:
    """True for a Spark Connect session or builder (pyspark's `pyspark.sql.connect` classes, or a remote builder)."""
    if spark is None:
        return False
    if type(spark).__module__.startswith(CONNECT_MODULE):
        return True
    options = getattr(spark, "_options", None)  # SparkSession.Builder: remote(...) or spark.api.mode=connect
    if isinstance(options, dict):
        return "spark.remote" in options or str(options.get("spark.api.mode", "")).lower() == "connect"
    return False


def active_connect_session() -> Any:
    """The active Spark Connect session of this thread, or None (never starts one)."""
    try:
        from pyspark.sql.connect.session import SparkSession as RemoteSparkSession
    except ImportError:  # pyspark without the connect extra: no Connect session can exist
        return None
    return RemoteSparkSession.getActiveSession()


def refuse_on_connect(spark: Any, function: str) -> None:
    """Raise ConnectUnsupported (one line) when `spark` is a Connect session and `function` needs a classic one.

    `spark` None means the caller would take the active session: a Connect one counts.
    """
    row = _BY_NAME[function]
    if row.connect == "works":
        return
    if is_connect(spark) or (spark is None and active_connect_session() is not None):
        raise ConnectUnsupported(f"spark_sched.{function}: {row.how}; {LACKS}")


def table() -> str:
    """The compatibility table in Markdown (the documentation's, kept equal to this by a test)."""
    lines = ["| function | classic session | Spark Connect session | how |", "|---|---|---|---|"]
    lines += [f"| `{r.function}` | {r.classic} | {r.connect} | {r.how} |" for r in SUPPORT]
    return "\n".join(lines)
