"""The built-in plugins, one module per extension point; importing this package registers them all."""

from spark_sched.composer.plugins import granularity, locality, pool, preemption, sampling

__all__ = ["granularity", "locality", "pool", "preemption", "sampling"]
