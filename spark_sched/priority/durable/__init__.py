"""LOW jobs that survive a driver restart: the SQLite queue (`queue`), its job kinds (`kinds`), its runner."""

from spark_sched.priority.durable.kinds import JOB_KINDS, JobBuilder
from spark_sched.priority.durable.queue import QUEUE_FILE, DurableQueue, QueuedJob, QueueError, checksum
from spark_sched.priority.durable.runner import DurableRunner

__all__ = ["JOB_KINDS", "QUEUE_FILE", "DurableQueue", "DurableRunner", "JobBuilder", "QueueError", "QueuedJob",
           "checksum"]
