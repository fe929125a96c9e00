"""Unified stream/batch applications: priority classes, preemption policies, the controller, preemptible jobs.

One concept per subpackage: `classes` (priority classes, job tags, their pool
file), `policy` (preemption policies and starvation guards, chosen by name),
`jobs` (preemptible LOW jobs and the cooperative stop signal), `runtime` (the
controller and its one read of the scheduler), `durable` (the queue of LOW jobs
that survives a driver restart), `streaming` (queries as HIGH demand, their
latency) and `settings` (the `[priority]` section).
"""

from spark_sched.priority.classes import DEFAULT_CLASSES, HIGH, LOW, JobTags, PriorityClass, pool_xml, tagged
from spark_sched.priority.jobs.cooperative import SignalHandle, SignalServer, preemptible
from spark_sched.priority.jobs.preemptible import ActionJob, LowJob, PartitionStore, PreemptibleJob
from spark_sched.priority.policy.guards import GUARDS, CountGuard, NoGuard, ShareGuard, guard
from spark_sched.priority.policy.policies import POLICIES, policy
from spark_sched.priority.runtime.controller import PriorityController
from spark_sched.priority.runtime.remote import RemoteController
from spark_sched.priority.runtime.stats import ControllerStats, HighRun
from spark_sched.priority.settings import PrioritySettings
from spark_sched.priority.streaming import LatencyListener, StreamWatch, percentile

__all__ = [
    "DEFAULT_CLASSES",
    "GUARDS",
    "HIGH",
    "LOW",
    "POLICIES",
    "ActionJob",
    "ControllerStats",
    "CountGuard",
    "HighRun",
    "JobTags",
    "LatencyListener",
    "LowJob",
    "NoGuard",
    "PartitionStore",
    "PreemptibleJob",
    "PriorityClass",
    "PriorityController",
    "PrioritySettings",
    "RemoteController",
    "ShareGuard",
    "SignalHandle",
    "SignalServer",
    "StreamWatch",
    "guard",
    "percentile",
    "policy",
    "pool_xml",
    "preemptible",
    "tagged",
]
