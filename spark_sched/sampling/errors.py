"""The one error a sampling request can get: which argument, the value refused, and what is allowed."""

from __future__ import annotations

from spark_sched.errors import SparkSchedError


class SamplingError(SparkSchedError):
    """A K, a block source or a sampling rule that cannot be used (one line, exit 2 from the CLI)."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"any_k_of_n: {field} = {value!r} is not valid; allowed: {allowed}")
