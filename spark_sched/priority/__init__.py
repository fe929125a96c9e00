"""Unified stream/batch applications: priority classes, preemption policies, the controller, preemptible jobs."""

from spark_sched.priority.classes import DEFAULT_CLASSES, HIGH, LOW, JobTags, PriorityClass, pool_xml, tagged
from spark_sched.priority.controller import ControllerStats, HighRun, PriorityController
from spark_sched.priority.policies import POLICIES, policy
from spark_sched.priority.preemptible import ActionJob, LowJob, PartitionStore, PreemptibleJob
from spark_sched.priority.preemption import SignalHandle, SignalServer, preemptible
from spark_sched.priority.streaming import LatencyListener, StreamWatch, percentile

__all__ = [
    "DEFAULT_CLASSES",
    "HIGH",
    "LOW",
    "POLICIES",
    "ActionJob",
    "ControllerStats",
    "HighRun",
    "JobTags",
    "LatencyListener",
    "LowJob",
    "PartitionStore",
    "PreemptibleJob",
    "PriorityClass",
    "PriorityController",
    "SignalHandle",
    "SignalServer",
    "StreamWatch",
    "percentile",
    "policy",
    "pool_xml",
    "preemptible",
    "tagged",
]
