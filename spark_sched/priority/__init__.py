"""Unified stream/batch applications: priority classes, preemption policies, the controller, preemptible jobs."""

from spark_sched.priority.classes import DEFAULT_CLASSES, HIGH, LOW, JobTags, PriorityClass, pool_xml, tagged
from spark_sched.priority.controller import ControllerStats, HighRun, PriorityController
from spark_sched.priority.guard import GUARDS, CountGuard, NoGuard, ShareGuard, guard
from spark_sched.priority.policies import POLICIES, policy
from spark_sched.priority.preemptible import ActionJob, LowJob, PartitionStore, PreemptibleJob
from spark_sched.priority.preemption import SignalHandle, SignalServer, preemptible
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
