"""spark-sched: a PySpark toolkit that makes Spark's scheduler do what the scheduling research showed it should.

The names a user calls, by capability:

| capability | names |
|---|---|
| session | `configure`, `load_settings`, `Settings`, `connect_server_conf` (a Spark Connect server's conf) |
| pools | `pool`, `load_pools` |
| locality | `LocalityWait`, `recommend_locality_wait`, `advise_eventlog` |
| sampling (KMN) | `any_k_of_n` |
| priority | `HIGH`, `LOW`, `PriorityClass`, `PriorityController`, `PreemptibleJob`, `ActionJob`, `RemoteController` |
| composer | `composer` (the package, callable: `spark_sched.composer(spark, profiles=...)`) |
| measurement | `measure` (the package, callable: `with spark_sched.measure(spark) as m:`) |
| local cluster | `local_cluster`, `LocalCluster` |
| errors | `SparkSchedError`, the base of `SettingsError`, `PoolError`, `SamplingError`, `ClusterError`, |
| | `JavaMissingError`, `JobError`, `ConnectUnsupported` (a function a Spark Connect session cannot run) |

Everything else lives in the capability's own package (`spark_sched.pools`,
`spark_sched.locality`, ...). Names load on first use (PEP 562), so `import spark_sched`
stays cheap and imports neither pyspark nor the capabilities a program does not touch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spark_sched import composer, measure
    from spark_sched.cluster import LocalCluster, local_cluster
    from spark_sched.config import Settings, load_settings
    from spark_sched.connect import ConnectUnsupported
    from spark_sched.errors import ClusterError, JavaMissingError, JobError, SettingsError, SparkSchedError
    from spark_sched.locality import LocalityWait, advise_eventlog, recommend_locality_wait
    from spark_sched.pools import PoolError, load_pools, pool
    from spark_sched.priority import (
        HIGH,
        LOW,
        ActionJob,
        PreemptibleJob,
        PriorityClass,
        PriorityController,
        RemoteController,
    )
    from spark_sched.sampling import SamplingError, any_k_of_n
    from spark_sched.session import configure, connect_server_conf

# Public name -> the module that defines it (its capability's package, so moves inside a package change nothing).
_EXPORTS: dict[str, str] = {
    "configure": "spark_sched.session",
    "connect_server_conf": "spark_sched.session",
    "ConnectUnsupported": "spark_sched.connect",
    "Settings": "spark_sched.config",
    "load_settings": "spark_sched.config",
    "pool": "spark_sched.pools",
    "load_pools": "spark_sched.pools",
    "PoolError": "spark_sched.pools",
    "LocalityWait": "spark_sched.locality",
    "recommend_locality_wait": "spark_sched.locality",
    "advise_eventlog": "spark_sched.locality",
    "any_k_of_n": "spark_sched.sampling",
    "SamplingError": "spark_sched.sampling",
    "HIGH": "spark_sched.priority",
    "LOW": "spark_sched.priority",
    "PriorityClass": "spark_sched.priority",
    "PriorityController": "spark_sched.priority",
    "PreemptibleJob": "spark_sched.priority",
    "ActionJob": "spark_sched.priority",
    "RemoteController": "spark_sched.priority",
    "LocalCluster": "spark_sched.cluster",
    "local_cluster": "spark_sched.cluster",
    "SparkSchedError": "spark_sched.errors",
    "SettingsError": "spark_sched.errors",
    "ClusterError": "spark_sched.errors",
    "JavaMissingError": "spark_sched.errors",
    "JobError": "spark_sched.errors",
}
# Public names that are packages themselves, both callable: `spark_sched.composer(...)`, `spark_sched.measure(...)`.
_PACKAGES: dict[str, str] = {
    "composer": "spark_sched.composer",
    "measure": "spark_sched.measure",
}

__all__ = [
    "ActionJob",
    "ClusterError",
    "ConnectUnsupported",
    "HIGH",
    "JavaMissingError",
    "JobError",
    "LOW",
    "LocalCluster",
    "LocalityWait",
    "PoolError",
    "PreemptibleJob",
    "PriorityClass",
    "PriorityController",
    "RemoteController",
    "SamplingError",
    "Settings",
    "SettingsError",
    "SparkSchedError",
    "advise_eventlog",
    "any_k_of_n",
    "composer",
    "configure",
    "connect_server_conf",
    "load_pools",
    "load_settings",
    "local_cluster",
    "measure",
    "pool",
    "recommend_locality_wait",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562) and keep the name here for the next lookup."""
    if name in _PACKAGES:
        return importlib.import_module(_PACKAGES[name])  # importing a subpackage sets it here as well
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names (loaded or not) and the module's dunders: what completion and `dir(spark_sched)` offer."""
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})
