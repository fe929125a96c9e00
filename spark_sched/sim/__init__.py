"""A discrete-event model of Spark's task scheduling, for what-if questions at any scale.

The model follows Spark's own scheduler (TaskSchedulerImpl's offer rounds,
TaskSetManager's delay scheduling, the FIFO and FAIR comparators of Pool) and
calls the toolkit's own decision objects (locality waits, flattened pools,
priority policies, the KMN chooser), so a what-if answer is the answer those
objects would give. `replay` rebuilds an application from its event log.
"""

from spark_sched.sim.cluster import SimCluster
from spark_sched.sim.results import JobOutcome, SimResult
from spark_sched.sim.settings import PoolSpec, SimSettings
from spark_sched.sim.simulator import Simulation, simulate
from spark_sched.sim.workload import JobSpec, StageSpec, TaskSpec

__all__ = ["JobOutcome", "JobSpec", "PoolSpec", "SimCluster", "SimResult", "SimSettings", "Simulation", "StageSpec",
           "TaskSpec", "simulate"]
