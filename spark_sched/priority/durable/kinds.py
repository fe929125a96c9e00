"""The job kinds a durable queue can rebuild: a registry the application fills, never the queue itself.

A queue stores a job as a kind and a JSON spec (never a closure), so a driver
that restarts can build the same `LowJob` again. Which kinds exist is the
application's choice: it registers a builder per kind (`JOB_KINDS.add(name,
build)`) before it opens a queue, as the Kubernetes scheduling framework's
caller registers the in-tree plugins; the toolkit's own kinds live with its
workloads (`spark_sched.workloads.register_job_kinds`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_sched.registry import Registry

if TYPE_CHECKING:
    from spark_sched.priority.classes import PriorityClass
    from spark_sched.priority.jobs.preemptible import LowJob

# (job id, spec, work directory, priority class) -> the job, ready to submit to the controller
JobBuilder = Callable[[str, dict[str, Any], Path, "PriorityClass"], "LowJob"]

JOB_KINDS: Registry[JobBuilder] = Registry("job kind")
