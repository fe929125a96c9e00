"""spark-sched: a PySpark toolkit that makes Spark's scheduler do what the scheduling research showed it should."""

from spark_sched.cluster import LocalCluster, local_cluster
from spark_sched.config import Settings, load_settings
from spark_sched.errors import ClusterError, JavaMissingError, JobError, SettingsError, SparkSchedError
from spark_sched.session import configure

__all__ = [
    "ClusterError",
    "JavaMissingError",
    "JobError",
    "LocalCluster",
    "Settings",
    "SettingsError",
    "SparkSchedError",
    "configure",
    "load_settings",
    "local_cluster",
]
