"""spark-sched: a PySpark toolkit that makes Spark's scheduler do what the scheduling research showed it should."""

from spark_sched import composer  # the package; calling it calls composer.composer()
from spark_sched.cluster import LocalCluster, local_cluster
from spark_sched.config import Settings, load_settings
from spark_sched.errors import ClusterError, JavaMissingError, JobError, SettingsError, SparkSchedError
from spark_sched.locality import LocalityWait, recommend_locality_wait
from spark_sched.pools import PoolError, load_pools, pool
from spark_sched.priority import HIGH, LOW, ActionJob, PreemptibleJob, PriorityClass, PriorityController
from spark_sched.sampling import SamplingError, any_k_of_n
from spark_sched.session import configure

__all__ = [
    "HIGH",
    "LOW",
    "ActionJob",
    "ClusterError",
    "JavaMissingError",
    "JobError",
    "LocalCluster",
    "LocalityWait",
    "PoolError",
    "PreemptibleJob",
    "PriorityClass",
    "PriorityController",
    "SamplingError",
    "Settings",
    "SettingsError",
    "SparkSchedError",
    "composer",
    "any_k_of_n",
    "configure",
    "load_settings",
    "local_cluster",
    "load_pools",
    "pool",
    "recommend_locality_wait",
]
