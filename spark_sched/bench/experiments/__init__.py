"""Experiments, one module each; each module defines `EXPERIMENT`, found by `spark_sched.bench.registry`."""
