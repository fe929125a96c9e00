"""The composer's errors: a composition file that cannot be used, a state file that cannot be read."""

from __future__ import annotations

from spark_sched.errors import SettingsError, SparkSchedError


class CompositionError(SettingsError):
    """A composition file names an unknown point, plugin or value (one line: file, key, value, valid choices)."""


class ComposerStateError(SparkSchedError):
    """The composer's state file is unreadable; it has been kept aside, not reset."""


class SamplingUnavailable(SparkSchedError):
    """A composition chose KMN sampling, but `spark_sched.sampling` cannot be imported here."""
