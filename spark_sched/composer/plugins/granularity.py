"""`granularity` point: how finely a job is cut -- a partition count, or AQE's advisory partition size.

A job asks `ctx.partitions(natural)` (its input's own partition count) and gets
this plugin's answer; DataFrame jobs built from `ctx.spark` get the plugin's SQL
conf (AQE), set on a session of their own so concurrent jobs do not see it.
"""

from __future__ import annotations

import re

from spark_sched.composer.points import GranularityPlugin, Param

_SIZE = re.compile(r"^\d+(b|k|kb|m|mb|g|gb)?$", re.IGNORECASE)


class Granularity(GranularityPlugin):
    """Default behaviour: keep the job's partition count, no SQL conf."""

    def partitions(self, natural: int, slots: int) -> int:
        return natural

    def sql_conf(self) -> dict[str, str]:
        return {}


class Natural(Granularity):
    """The partition count the job's input comes with (what Spark does by default)."""


class PerSlot(Granularity):
    """`factor` partitions per task slot of the application (1: one wave; 4: finer tasks, better balance)."""

    params = {"factor": Param(float, "a number > 0", lambda v: v > 0, 1.0)}

    def partitions(self, natural: int, slots: int) -> int:
        return max(1, round(self.values["factor"] * slots))


class Fixed(Granularity):
    """Exactly `partitions` partitions."""

    params = {"partitions": Param(int, "an integer >= 1", lambda v: v >= 1, 1)}

    def partitions(self, natural: int, slots: int) -> int:
        return int(self.values["partitions"])


class Adaptive(Granularity):
    """AQE coalesces shuffle partitions to about `advisory` bytes each (e.g. "16m"); input partitions unchanged."""

    params = {"advisory": Param(str, 'a size such as "16m" or "1g"', lambda v: bool(_SIZE.match(v)), "64m")}

    def sql_conf(self) -> dict[str, str]:
        return {
            "spark.sql.adaptive.enabled": "true",
            "spark.sql.adaptive.coalescePartitions.enabled": "true",
            "spark.sql.adaptive.advisoryPartitionSizeInBytes": self.values["advisory"],
        }
